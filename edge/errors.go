package edge

import (
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/qr"
)

// edgeError is a prebuilt JSON error answer: the body around the request id
// is fixed, so writing one allocates nothing.
type edgeError struct {
	status int
	prefix []byte // {"error":"...","code":"...","request_id":"
}

func newEdgeError(status int, code, msg string) *edgeError {
	return &edgeError{status: status, prefix: []byte(`{"error":` + strconv.Quote(msg) + `,"code":"` + code + `","request_id":"`)}
}

// newFieldError is an edgeError about one query parameter.
func newFieldError(code, field, msg string) *edgeError {
	return &edgeError{status: 400, prefix: []byte(`{"error":` + strconv.Quote(msg) + `,"code":"` + code +
		`","field":` + strconv.Quote(field) + `,"request_id":"`)}
}

var (
	errQRFormat = newFieldError(rebound.EValidation, "format", "format must be png or svg")
	errQRSize   = newFieldError(rebound.EValidation, "size", fmt.Sprintf("size must be a whole number of pixels from %d to %d", qr.MinSize, qr.MaxSize))
)

var (
	errNotFound    = newEdgeError(404, rebound.ENotFound, "no link has this code")
	errGone        = newEdgeError(404, rebound.EGone, "this link is no longer active")
	errMethod      = newEdgeError(405, rebound.EMethodNotAllowed, "only GET and HEAD are allowed")
	errRateLimited = newEdgeError(429, rebound.ERateLimited, "too many requests; slow down")
	errUnavail     = newEdgeError(503, rebound.EUnavailable, "the link store is unavailable; retry shortly")
	errBadRequest  = newEdgeError(400, rebound.EBadRequest, "the request could not be parsed")
	// A head not received within the read timeout is 408, which tells a
	// browser it may send the request again; the code word stays
	// bad_request, as for the origin's answers that net/http makes itself.
	errTimeout  = newEdgeError(408, rebound.EBadRequest, "the request was not received in time")
	errTooLarge = newEdgeError(413, rebound.EPayloadTooLarge, "the request is too large")
	errInternal = newEdgeError(500, rebound.EInternal, "internal error")
)

var (
	strJSON       = []byte("application/json")
	strJSONSuffix = []byte("\"}\n")
	strRetryAfter = []byte("1")
)

func (s *Server) fail(ctx *fasthttp.RequestCtx, e *edgeError) {
	ctx.SetStatusCode(e.status)
	ctx.SetContentTypeBytes(strJSON)
	ctx.Response.ResetBody()
	ctx.Response.AppendBody(e.prefix)
	ctx.Response.AppendBody(ctx.Response.Header.PeekBytes(strRequestID))
	ctx.Response.AppendBody(strJSONSuffix)
}

func (s *Server) unavailable(ctx *fasthttp.RequestCtx, err error) {
	s.logSampled(ctx, "lookup failed; answered 503", err)
	ctx.Response.Header.SetBytesV("Retry-After", strRetryAfter)
	s.fail(ctx, errUnavail)
}

// logSampled logs an error at most once a second, with the number of
// similar errors since the previous line: a dead dependency fails every
// miss, and must not flood the log (or slow the edge down writing it).
func (s *Server) logSampled(ctx *fasthttp.RequestCtx, msg string, err error) {
	s.errorsSinceLog.Add(1)
	s.errorLog.Do(func() {
		s.log.Error(msg, "err", err, "path", string(ctx.Path()),
			"request_id", string(ctx.Response.Header.PeekBytes(strRequestID)),
			"errors_since_last_line", s.errorsSinceLog.Swap(0))
	})
}
