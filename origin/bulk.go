package origin

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/csvimport"
)

// importCSV serves a bulk import: a multipart upload with the file in field
// "file", or a text/csv body. The file is streamed, never held whole.
func (s *Server) importCSV(kind csvimport.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxCSVBody {
			s.writeError(w, r, rebound.Errorf(rebound.EPayloadTooLarge, "the CSV upload is larger than %d bytes", maxCSVBody))
			return
		}
		if err := limitBody(w, r, maxCSVBody); err != nil {
			s.writeError(w, r, err)
			return
		}
		file, err := csvBody(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		who := principal(r)
		opts := csvimport.Options{Stored: s.sync.importStore(), ShortURLs: s.shortURLs, Actor: who.Actor()}
		if who.Role == rebound.RoleAuthor {
			opts.Owner = who.UserID
		}
		res, err := csvimport.Import(r.Context(), s.store, kind, file, opts)
		if err != nil {
			s.writeError(w, r, brokenUpload(err))
			return
		}
		s.metrics.imported.WithLabelValues(string(kind)).Add(float64(res.Imported))
		writeJSON(w, http.StatusOK, res)
	}
}

// csvBody finds the CSV stream of a request.
func csvBody(r *http.Request) (io.Reader, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, rebound.Errorf(rebound.EUnsupportedMedia, "send the CSV as multipart/form-data (field \"file\") or as text/csv")
	}
	switch mt {
	case "text/csv", "application/csv", "text/plain":
		return gunzipFile(r.Body), nil
	case "multipart/form-data":
	default:
		return nil, rebound.Errorf(rebound.EUnsupportedMedia, "send the CSV as multipart/form-data (field \"file\") or as text/csv")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, rebound.Errorf(rebound.EBadRequest, "the multipart body is malformed")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, rebound.FieldErrorf(rebound.EValidation, "file", "the upload has no \"file\" field")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, rebound.Errorf(rebound.EBadRequest, "the multipart body is malformed")
		}
		if part.FormName() == "file" {
			return gunzipFile(part), nil
		}
	}
}

// brokenUpload words an upload whose stream broke off. The rows before the
// break are stored, so the answer says how many: the client can send the
// rest instead of sending everything again. Other errors pass through.
func brokenUpload(err error) error {
	var se *csvimport.StreamError
	if !errors.As(err, &se) {
		return err
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return rebound.FieldErrorf(rebound.EPayloadTooLarge, "file",
			"the CSV upload is larger than %d bytes; imported %s from before the limit", mbe.Limit, rowsImported(se.Imported))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return rebound.FieldErrorf(rebound.EBadRequest, "file",
			"the upload ended early; imported %s from before the break", rowsImported(se.Imported))
	case errors.Is(err, errBadGzip):
		return rebound.FieldErrorf(rebound.EBadRequest, "file",
			"the upload is not valid gzip; imported %s from before the error", rowsImported(se.Imported))
	}
	return err
}

// rowsImported counts the rows an import stored: "2 rows".
func rowsImported(n int) string {
	if n == 1 {
		return "1 row"
	}
	return strconv.Itoa(n) + " rows"
}

// gunzipFile reads an uploaded file decompressed when it starts with gzip's
// magic bytes, which no CSV file starts with (0x1f is a control character):
// a client that uploads links.csv.gz as it is gets it imported. The body's
// limit counts compressed bytes, so the decompressed ones get their own,
// answered 413 as the body's is (the ResponseWriter is nil: it is only told
// to close the connection, which the unread rest of the body does anyway).
func gunzipFile(file io.Reader) io.Reader {
	br := bufio.NewReader(file)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return http.MaxBytesReader(nil, &gzipBody{sent: io.NopCloser(br)}, maxCSVBody)
	}
	return br
}
