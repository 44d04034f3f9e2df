package origin

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"

	"github.com/reboundhq/rebound"
)

// JSONEarlyErrors wraps the origin's listener so that the answers net/http
// writes itself, before any handler runs (a request it cannot parse, a head
// over MaxHeaderBytes, a missing Host, an unknown HTTP version or transfer
// encoding), carry the documented JSON error body instead of net/http's
// text/plain one. net/http has no hook for these: it writes each with one
// Write on the connection, in a shape no handler's answer has (Content-Type
// before Connection; a handler's headers are written sorted), so the
// connection recognises that Write and answers in its place.
func JSONEarlyErrors(ln net.Listener) net.Listener { return earlyErrorListener{ln} }

type earlyErrorListener struct{ net.Listener }

func (l earlyErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &earlyErrorConn{Conn: c}, nil
}

type earlyErrorConn struct{ net.Conn }

// netHTTPErrorHeaders is what net/http (server.go, errorHeaders) writes
// between the status line and the body of each answer it makes itself.
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *earlyErrorConn) Write(p []byte) (int, error) {
	status, detail, ok := parseEarlyError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(earlyErrorAnswer(status, detail)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite passes through to the TCP connection: after a head that was too
// large, net/http half-closes so the client reads the answer before a reset.
func (c *earlyErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// parseEarlyError recognises "HTTP/1.1 NNN Reason[: detail]" followed by
// netHTTPErrorHeaders, and returns the status and the detail. It reads no
// further than the status line's end, since every answer the origin writes
// passes through it.
func parseEarlyError(p []byte) (status int, detail string, ok bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(prefix)) || len(p) < len(prefix)+4 || p[len(prefix)+3] != ' ' {
		return 0, "", false
	}
	end := bytes.IndexByte(p, '\n') - 1 // the status line's CR
	if end < 0 || !bytes.HasPrefix(p[end:], []byte(netHTTPErrorHeaders)) {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	reason := p[len(prefix)+4 : end]
	if i := bytes.Index(reason, []byte(": ")); i >= 0 {
		detail = string(reason[i+2:])
	}
	return status, detail, true
}

// earlyErrorAnswer is the whole answer, headers and JSON body, for status.
func earlyErrorAnswer(status int, detail string) []byte {
	var msg string
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = "the request head is too large"
	case http.StatusHTTPVersionNotSupported:
		msg = "the request's HTTP version is not supported"
	case http.StatusNotImplemented:
		msg = "the request's Transfer-Encoding is not supported"
	default:
		msg = "the request could not be parsed"
	}
	if detail != "" && status == http.StatusBadRequest {
		msg += ": " + detail
	}
	id := newRequestID()
	body, _ := json.Marshal(errorBody{Error: msg, Code: rebound.EBadRequest, RequestID: id})
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
	b.WriteString("Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n")
	b.WriteString("X-Request-Id: " + id + "\r\nContent-Length: " + strconv.Itoa(len(body)+1) + "\r\nConnection: close\r\n\r\n")
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}
