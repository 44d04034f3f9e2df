package edge_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/edge"
)

// dialEdge opens a raw connection to the harness's edge.
func dialEdge(t *testing.T, h *harness) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// getOn sends GET path on c and reads the answer.
func getOn(t *testing.T, c net.Conn, r *bufio.Reader, path string) int {
	t.Helper()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: edge\r\n\r\n"); err != nil {
		t.Fatalf("send %s: %v", path, err)
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("answer to %s: %v", path, err)
	}
	return answerOf(t, res).status
}

// A request head sent too slowly is cut off at the read timeout, however
// much later the idle timeout is: a slow client cannot hold a connection.
func TestSlowRequestIsCutOff(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{ReadTimeout: 300 * time.Millisecond, IdleTimeout: time.Minute}})
	c := dialEdge(t, h)
	r := bufio.NewReader(c)
	if got := getOn(t, c, r, "/robots.txt"); got != http.StatusOK {
		t.Fatalf("first request: status %d", got)
	}
	start := time.Now()
	if _, err := io.WriteString(c, "GET /robots.txt HTTP/1.1\r\nHost: ed"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("answer to a stalled request head: %v after %v", err, time.Since(start))
	}
	wantError(t, answerOf(t, res), http.StatusRequestTimeout, "bad_request")
	_, err = io.ReadAll(r) // then the edge closes the connection
	if elapsed := time.Since(start); err != nil || elapsed > 3*time.Second {
		t.Fatalf("connection with a stalled request head: %v after %v, want it closed after about 300ms", err, elapsed)
	}
}

// A kept-alive connection may wait past the read timeout for its next
// request, up to the idle timeout, and is closed after that.
func TestIdleConnectionLastsTheIdleTimeout(t *testing.T) {
	h := newHarness(t, harnessOpts{edge: edge.Options{ReadTimeout: 200 * time.Millisecond, IdleTimeout: 3 * time.Second}})
	c := dialEdge(t, h)
	r := bufio.NewReader(c)
	for range 2 {
		if got := getOn(t, c, r, "/robots.txt"); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
		time.Sleep(time.Second) // five read timeouts, well under the idle one
	}
	if got := getOn(t, c, r, "/robots.txt"); got != http.StatusOK {
		t.Fatalf("status %d after an idle wait", got)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.ReadByte()
	if elapsed := time.Since(start); !errors.Is(err, io.EOF) || elapsed < 2*time.Second {
		t.Fatalf("idle connection: %v after %v, want it closed after the idle timeout (3s)", err, elapsed)
	}
}
