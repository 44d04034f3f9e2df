package origin

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseEarlyError: whatever the origin writes to a connection, the
// recogniser does not panic, claims only net/http's own error answers, and
// the answer it writes instead is a whole HTTP message with a JSON body.
func FuzzParseEarlyError(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 400 Bad Request" + netHTTPErrorHeaders + "400 Bad Request",
		"HTTP/1.1 400 Bad Request: missing required Host header" + netHTTPErrorHeaders + "400 Bad Request: missing required Host header",
		"HTTP/1.1 431 Request Header Fields Too Large" + netHTTPErrorHeaders,
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}",
		"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		"HTTP/1.1 4x0 ", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		status, detail, ok := parseEarlyError(p)
		if !ok {
			return
		}
		if status < 400 || status > 599 || !bytes.Contains(p, []byte(netHTTPErrorHeaders)) || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
			t.Fatalf("claimed %q as status %d", p, status)
		}
		answer := earlyErrorAnswer(status, detail)
		head, body, found := bytes.Cut(answer, []byte("\r\n\r\n"))
		var e errorBody
		if !found || bytes.Contains(head, []byte("\n\n")) || json.Unmarshal(body, &e) != nil || e.Code == "" || e.RequestID == "" {
			t.Fatalf("answer to %q: %q", p, answer)
		}
	})
}
