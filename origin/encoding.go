package origin

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/reboundhq/rebound"
)

// errBadGzip marks a gzip-compressed body that does not decompress.
var errBadGzip = errors.New("the body is not valid gzip")

// limitBody replaces r.Body with what the client sent, decoded, cut off
// after limit bytes. A body sent with Content-Encoding gzip is decompressed,
// and the limit applies to what it decompresses to as well as to what was
// sent, so a small upload cannot expand past it. Other codings get 415: read
// as they are, they would only fail as malformed JSON or CSV.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		r.Body = http.MaxBytesReader(w, r.Body, limit)
	case "gzip", "x-gzip":
		r.Body = http.MaxBytesReader(w, &gzipBody{sent: http.MaxBytesReader(w, r.Body, limit)}, limit)
	default:
		return rebound.Errorf(rebound.EUnsupportedMedia,
			"Content-Encoding %q is not supported; send the body as it is or gzip-compressed", enc)
	}
	return nil
}

// gzipBody decompresses a request body. The gzip header is read on the first
// Read, not when the body is wrapped, so that a request refused before its
// body is read (a bad token, a wrong media type) reads nothing.
type gzipBody struct {
	sent io.ReadCloser
	zr   *gzip.Reader
}

func (b *gzipBody) Read(p []byte) (int, error) {
	if b.zr == nil {
		zr, err := gzip.NewReader(b.sent)
		if err != nil {
			return 0, badGzip(err)
		}
		b.zr = zr
	}
	n, err := b.zr.Read(p)
	return n, badGzip(err)
}

func (b *gzipBody) Close() error { return b.sent.Close() }

// badGzip marks the errors of a body that is not gzip or is corrupt, and
// passes the others (the end, a body cut short, one over its limit) as they
// are.
func badGzip(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) {
		return fmt.Errorf("%w: %v", errBadGzip, err)
	}
	return err
}
