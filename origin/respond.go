package origin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/reboundhq/rebound"
)

// statusOf maps error codes to HTTP statuses: the one place that does.
var statusOf = map[string]int{
	rebound.EBadRequest:       http.StatusBadRequest,
	rebound.EValidation:       http.StatusBadRequest,
	rebound.EUnauthorized:     http.StatusUnauthorized,
	rebound.EForbidden:        http.StatusForbidden,
	rebound.ENotFound:         http.StatusNotFound,
	rebound.EGone:             http.StatusNotFound,
	rebound.EMethodNotAllowed: http.StatusMethodNotAllowed,
	rebound.EConflict:         http.StatusConflict,
	rebound.EPayloadTooLarge:  http.StatusRequestEntityTooLarge,
	rebound.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	rebound.ERateLimited:      http.StatusTooManyRequests,
	rebound.EUnavailable:      http.StatusServiceUnavailable,
	rebound.EInternal:         http.StatusInternalServerError,
}

// errorBody is the JSON shape of every error answer (SPEC section 2).
type errorBody struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// writeError answers err in the documented shape. Errors that are not
// *rebound.Error are logged and answered as a bare 500: their text may hold
// driver details a client must not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r, err) {
		// Nobody reads this answer, and a client hanging up is no server
		// error: record it as nginx does, and keep it out of the 5xx series.
		w.WriteHeader(statusClientClosed)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = rebound.Errorf(rebound.EPayloadTooLarge, "the request body is larger than %d bytes", mbe.Limit)
	}
	code := rebound.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "request failed", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", requestID(r.Context()))
	case http.StatusServiceUnavailable:
		// The client is told to retry; the log says why (the driver's
		// message, which the client never sees).
		s.log.WarnContext(r.Context(), "request failed: a dependency is unavailable", "err", err,
			"method", r.Method, "path", r.URL.Path, "request_id", requestID(r.Context()))
	}
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{
		Error: rebound.ErrorMessage(err), Code: code, Field: rebound.ErrorField(err), RequestID: requestID(r.Context()),
	})
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error","code":"internal"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// list is the JSON shape of every list answer.
type list[T any] struct {
	Data    []T   `json:"data"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
}

// statusClientClosed is recorded for requests whose client went away before
// the answer was ready (nginx's 499); the client never sees it.
const statusClientClosed = 499

// clientGone reports whether err comes from the request's own context being
// cancelled: net/http cancels it when the client closes its connection.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}
