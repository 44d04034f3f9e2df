package origin

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/csvimport"
)

// TestBrokenUploadWording: a stream over the size limit is 413 and one cut
// short or not valid gzip is 400, each naming the rows stored before the break; anything else
// (a store failure) passes through for writeError to classify.
func TestBrokenUploadWording(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{&csvimport.StreamError{Imported: 7, Err: &http.MaxBytesError{Limit: 64}}, rebound.EPayloadTooLarge},
		{&csvimport.StreamError{Imported: 7, Err: io.ErrUnexpectedEOF}, rebound.EBadRequest},
		{&csvimport.StreamError{Imported: 7, Err: badGzip(gzip.ErrChecksum)}, rebound.EBadRequest},
	} {
		err := brokenUpload(c.err)
		if rebound.ErrorCode(err) != c.code || rebound.ErrorField(err) != "file" || !strings.Contains(rebound.ErrorMessage(err), "7 rows") {
			t.Errorf("%v: %v (code %s)", c.err, err, rebound.ErrorCode(err))
		}
	}
	store := errors.New("store down")
	if err := brokenUpload(store); err != store {
		t.Errorf("a store error became %v", err)
	}
}
