package origin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/internal/testenv"
	"github.com/reboundhq/rebound/origin"
)

// TestEarlyErrorsAreJSON sends what net/http refuses before any handler runs:
// each answer keeps net/http's status and carries the documented JSON body.
// A handler's own text/plain answer, shaped as close to net/http's as a
// handler can make it, passes through untouched.
func TestEarlyErrorsAreJSON(t *testing.T) {
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Path == "/x" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "400 Bad Request")
	}))
	hs.Listener = origin.JSONEarlyErrors(hs.Listener)
	hs.Config.MaxHeaderBytes = 4 << 10
	hs.Start()
	defer hs.Close()
	addr := hs.Listener.Addr().String()

	if resp, _ := testenv.RawExchange(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"); resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("a handler's answer was rewritten: %v", resp.Header)
	}
	// Pipelined on a connection kept alive: the handler's answer, then
	// net/http's own, each as it should be.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /y HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"text/plain; charset=utf-8", "application/json"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if got := resp.Header.Get("Content-Type"); got != want || resp.StatusCode != 400 {
			t.Errorf("pipelined: %d %q, want 400 %q", resp.StatusCode, got, want)
		}
	}

	for _, c := range []struct {
		name, req string
		status    int
	}{
		{"garbage", "GARBAGE\r\n\r\n", 400},
		{"no host", "GET /x HTTP/1.1\r\n\r\n", 400},
		{"bad content length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
		{"bad path escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"head too large", "GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 8<<10) + "\r\n\r\n", 431},
		{"http version", "GET /x HTTP/9.9\r\nHost: a\r\n\r\n", 505},
		{"transfer encoding", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
	} {
		resp, raw := testenv.RawExchange(t, addr, c.req)
		var body struct {
			Error     string `json:"error"`
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err := dec.Decode(&body)
		if err != nil || resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" ||
			body.Code != "bad_request" || body.Error == "" || body.RequestID == "" || resp.Header.Get("X-Request-Id") != body.RequestID {
			t.Errorf("%s: %d %v %+v (%v)", c.name, resp.StatusCode, resp.Header, body, err)
		}
	}
}
