package edge

import (
	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/qr"
)

var strQRSuffix = []byte("/qr")

// qrCacheControl lets anyone keep a QR code a day: it encodes the link's
// short URL, which only changes with the code or the domain.
const qrCacheControl = "public, max-age=86400"

// serveQR answers GET /{code}/qr: the QR code of the link's short URL with
// qr=1 (SPEC 11). It is drawn per request, which costs about a millisecond
// of CPU: the per-client rate limit has already been taken, and the long
// Cache-Control lets browsers and CDNs keep it.
func (s *Server) serveQR(ctx *fasthttp.RequestCtx, dom *domainConf, code []byte) {
	args := ctx.QueryArgs()
	format, size, err := qr.ParseParams(string(args.Peek("format")), string(args.Peek("size")))
	if err != nil {
		if rebound.ErrorField(err) == "size" {
			s.fail(ctx, errQRSize)
		} else {
			s.fail(ctx, errQRFormat)
		}
		return
	}
	var host *string
	if dom != nil {
		h := string(dom.keyPrefix[:len(dom.keyPrefix)-1])
		host = &h
	}
	img, err := qr.Draw(qr.Content(s.shortURLs.ShortURLOn(host, string(code))), format, size)
	if err != nil {
		s.log.Error("draw qr code", "err", err)
		s.fail(ctx, errInternal)
		return
	}
	ctx.SetContentType(format.ContentType())
	ctx.Response.Header.Set("Cache-Control", qrCacheControl)
	ctx.SetBody(img)
}
