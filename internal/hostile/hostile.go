// Package hostile builds malformed and hostile HTTP requests and sends them
// over raw TCP, for tests and drills that check a server answers each one
// with its documented JSON error: never a 5xx, a hang, or an HTML page.
package hostile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Request is one hostile request.
type Request struct {
	Name string
	Raw  []byte
	// MayClose: the request is cut short on purpose, so the server may close
	// the connection instead of answering.
	MayClose bool
	// Malformed: the request is not valid HTTP/1.1 at all (request line,
	// header syntax); a server may answer it before any handler runs.
	Malformed bool
}

// Answer is what came back.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
	Closed      bool // the server closed the connection without answering
}

// Send writes raw to addr and reads one response, waiting at most timeout;
// cutShort ends the stream after raw. A server that neither answers nor
// closes in time is an error: that is a hang.
func Send(addr string, raw []byte, cutShort bool, timeout time.Duration) (Answer, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return Answer{}, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return Answer{}, err
	}
	if _, err := conn.Write(raw); err != nil && !isClosed(err) {
		return Answer{}, fmt.Errorf("write: %w", err)
	}
	// A request cut short is followed by the end of the stream, so that the
	// server stops waiting for the rest. Others keep the connection open: a
	// server may take a closed read side for a client that is gone.
	if cutShort {
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return Answer{}, fmt.Errorf("no answer within %v: %w", timeout, err)
		}
		return Answer{Closed: true}, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !isClosed(err) {
		return Answer{}, fmt.Errorf("read body: %w", err)
	}
	return Answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body}, nil
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET)
}

// Method is the method of the request line sent ("" when there is none).
func (r Request) Method() string {
	m, _, _ := bytes.Cut(r.Raw, []byte(" "))
	return string(m)
}

// Verdict is how an answer measures up to Rebound's error contract.
type Verdict int

// The verdicts, Fine first.
const (
	Fine            Verdict = iota
	Hang                    // no answer in time
	UnexpectedClose         // closed without answering a request that was not cut short
	ServerError             // a 5xx from the service itself
	NetHTTPVersion          // Go's net/http 505 for an HTTP version it does not speak, sent before any handler
	NotJSON                 // an error answer without the documented JSON shape
)

var verdictNames = [...]string{"fine", "hang", "closed without answering", "5xx", "505 from net/http", "error not in the JSON shape"}

func (v Verdict) String() string { return verdictNames[v] }

// Judge says how the answer to req (ans, or Send's error) measures up. A
// service behind Go's net/http (jsonAlways false) may answer requests that
// are not HTTP at all in plain text, net/http's own; every other error must
// be the documented JSON: {"error","code","request_id"}. HEAD answers carry
// no body.
func Judge(req Request, ans Answer, sendErr error, jsonAlways bool) Verdict {
	netHTTPAnswers := req.Malformed && !jsonAlways
	switch {
	case sendErr != nil:
		return Hang
	case ans.Closed && !req.MayClose:
		return UnexpectedClose
	case ans.Closed:
		return Fine
	case ans.Status == http.StatusHTTPVersionNotSupported && netHTTPAnswers:
		return NetHTTPVersion
	case ans.Status >= 500:
		return ServerError
	case ans.Status < 400 || netHTTPAnswers || req.Method() == http.MethodHead:
		return Fine
	}
	var body struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	if !strings.HasPrefix(ans.ContentType, "application/json") || json.Unmarshal(ans.Body, &body) != nil ||
		body.Error == "" || body.Code == "" || body.RequestID == "" {
		return NotJSON
	}
	return Fine
}

// malformedTarget reports whether target is not a valid request-target
// (an invalid percent-encoding, a byte outside ASCII): such a request is not
// valid HTTP, and a server may reject it before any handler runs.
func malformedTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		if target[i] >= 0x7f || target[i] <= ' ' {
			return true
		}
	}
	_, err := url.ParseRequestURI(target)
	return err != nil
}

// request makes a Request, flagging an invalid target as malformed.
func request(name, method, target string, headers []string, body []byte) Request {
	return Request{Name: name, Raw: Build(method, target, headers, body), Malformed: malformedTarget(target)}
}

// Build writes an HTTP/1.1 request. headers are written as given, so they
// may be hostile; Content-Length is added for a body unless headers set it.
func Build(method, target string, headers []string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: rebound.test\r\nConnection: close\r\n", method, target)
	hasLength := false
	for _, h := range headers {
		hasLength = hasLength || strings.HasPrefix(strings.ToLower(h), "content-length:") ||
			strings.HasPrefix(strings.ToLower(h), "transfer-encoding:")
		b.WriteString(h + "\r\n")
	}
	if body != nil && !hasLength {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// hostilePaths are path segments that a code or id could be replaced by.
var hostilePaths = []string{
	"%zz", "%00", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fadmin", "a%20b", "%3Cscript%3E", "\xff\xfe",
	"caf\xc3\xa9", "-1", "0", "99999999999999999999999", "1e3", "0x10", "null", "%0d%0aX-Injected:%20yes",
	strings.Repeat("a", 65), strings.Repeat("%41", 3000), "a;b", "a,b", "~", "health", "admin",
}

// malformed are requests that are not valid HTTP at all.
var malformed = []struct{ name, raw string }{
	{"garbage", "\x00\x01\x02 not http at all\r\n\r\n"},
	{"no version", "GET /\r\n\r\n"},
	{"bad version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n"},
	{"crlf in target", "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"space in header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n"},
	{"no colon header", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"},
	{"bad content-length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"},
	{"two content-lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
	{"bad chunk", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
	{"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 128<<10) + "\r\n\r\n"},
	{"many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-H: v\r\n", 5000) + "\r\n"},
	{"overlong target", "GET /" + strings.Repeat("p", 256<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"},
}

// EdgeCorpus returns hostile requests for the redirect server.
func EdgeCorpus() []Request {
	var out []Request
	for _, p := range hostilePaths {
		for _, m := range []string{"GET", "HEAD", "POST", "DELETE", "OPTIONS", "TRACE"} {
			out = append(out, request(m+" /"+p, m, "/"+p, nil, nil))
		}
		out = append(out, request("GET /"+p+"?q", "GET", "/"+p+"?a=%zz&b=\xff&c=%00", nil, nil))
	}
	out = append(out,
		Request{Name: "absolute-form target", Raw: Build("GET", "http://evil.example/x", nil, nil)},
		Request{Name: "control chars in headers", Raw: Build("GET", "/x", []string{"User-Agent: \x01\x02\x7f", "Referer: http://\xff\xfe/"}, nil)},
		Request{Name: "forged forwarded-for", Raw: Build("GET", "/x", []string{"X-Forwarded-For: 1.2.3.4, not-an-ip, ::1%eth0, " + strings.Repeat("9", 500)}, nil)},
		Request{Name: "hostile request id", Raw: Build("GET", "/x", []string{"X-Request-ID: \"><script>" + strings.Repeat("z", 300)}, nil)},
		Request{Name: "large body", Raw: Build("POST", "/x", nil, bytes.Repeat([]byte("a"), 200<<10))},
		Request{Name: "truncated body", Raw: Build("POST", "/x", []string{"Content-Length: 1000"}, []byte("short")), MayClose: true},
	)
	return append(out, malformedRequests()...)
}

func malformedRequests() []Request {
	out := make([]Request, 0, len(malformed))
	for _, m := range malformed {
		out = append(out, Request{Name: m.name, Raw: []byte(m.raw), Malformed: true, MayClose: true})
	}
	return out
}

// hostileJSON are bodies for endpoints that take a JSON object.
var hostileJSON = []string{
	"", "{", "}", "[]", `"x"`, "1", "null", "true", `{"a":}`, `{"original_url":1}`, `{"username":["x"]}`,
	`{"original_url":"http://a\r\nX-Injected: yes"}`, `{"original_url":"javascript:alert(1)"}`,
	`{"original_url":"http://user:pass@example.com"}`, `{"original_url":"http://exa mple.com"}`,
	"{\"username\":\"\xff\xfe\",\"email\":\"a@b.c\"}", `{"username":"a\u0000b","email":"a@b.c"}`,
	`{"username":"ok","email":"not-an-email"}`, `{"user_id":-1,"original_url":"https://e.com"}`,
	`{"user_id":1e400,"original_url":"https://e.com"}`, `{"short_code":"../../x","original_url":"https://e.com"}`,
	`{"redirect_type":999,"original_url":"https://e.com"}`, `{"expires_at":"yesterday","original_url":"https://e.com"}`,
	`{"max_clicks":-5,"original_url":"https://e.com"}`, `{"event_type":"click","details":"not an object"}`,
	`{"a":1,"a":2}`, strings.Repeat("[", 100000), `{"title":"` + strings.Repeat("t", 100000) + `"}`,
}

// OriginCorpus returns hostile requests for the admin API, for every route
// (method, pattern) given, authorised with token.
func OriginCorpus(routes [][2]string, token string) []Request {
	auth := "Authorization: Bearer " + token
	var out []Request
	for _, rt := range routes {
		method, pattern := rt[0], rt[1]
		targets := []string{pattern}
		if strings.Contains(pattern, "{") {
			targets = targets[:0]
			for _, p := range hostilePaths {
				targets = append(targets, replaceWildcards(pattern, p))
			}
		}
		for _, target := range targets {
			out = append(out, request(method+" "+target, method, target, []string{auth}, nil))
			out = append(out, request(method+" "+target+" no token", method, target, nil, nil))
		}
		if method == "GET" {
			for _, q := range []string{"page=-1", "page=abc", "per_page=1000", "per_page=0", "user_id=x", "is_active=maybe",
				"url_id=%00", "page=99999999999999999999", "event_type=\xff", "short_code=%zz"} {
				target := replaceWildcards(pattern, "1") + "?" + q
				out = append(out, request("GET "+target, "GET", target, []string{auth}, nil))
			}
		}
		if method == "POST" || method == "PUT" || method == "PATCH" {
			target := replaceWildcards(pattern, "1")
			for _, body := range hostileJSON {
				out = append(out, Request{Name: method + " " + target + " " + abbrev(body),
					Raw: Build(method, target, []string{auth, "Content-Type: application/json"}, []byte(body))})
			}
			for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data; boundary=x", "text/csv", "", "\xff"} {
				headers := []string{auth}
				if ct != "" {
					headers = append(headers, "Content-Type: "+ct)
				}
				out = append(out, Request{Name: method + " " + target + " as " + abbrev(ct),
					Raw: Build(method, target, headers, []byte("username,email\n\xff\xfe,\"unterminated\n"))})
			}
			out = append(out,
				Request{Name: method + " " + target + " 2 MiB", Raw: Build(method, target,
					[]string{auth, "Content-Type: application/json"}, append(append([]byte(`{"title":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...))},
				Request{Name: method + " " + target + " truncated", MayClose: true, Raw: Build(method, target,
					[]string{auth, "Content-Type: application/json", "Content-Length: 500"}, []byte(`{"original_url":`))},
			)
		}
	}
	for _, m := range []string{"BREW", "CONNECT", "OPTIONS", "TRACE"} {
		out = append(out, Request{Name: m + " /urls", Raw: Build(m, "/urls", []string{auth}, nil)})
	}
	return append(out, malformedRequests()...)
}

func replaceWildcards(pattern, v string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			b.WriteString(pattern)
			return b.String()
		}
		j := strings.IndexByte(pattern[i:], '}')
		b.WriteString(pattern[:i])
		b.WriteString(v)
		pattern = pattern[i+j+1:]
	}
}

func abbrev(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", s[:40], len(s))
	}
	return fmt.Sprintf("%q", s)
}
