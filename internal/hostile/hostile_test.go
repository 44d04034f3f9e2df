package hostile_test

import (
	"errors"
	"testing"

	"github.com/reboundhq/rebound/internal/hostile"
)

func TestJudge(t *testing.T) {
	get := hostile.Request{Raw: hostile.Build("GET", "/x", nil, nil)}
	head := hostile.Request{Raw: hostile.Build("HEAD", "/x", nil, nil)}
	cut := hostile.Request{Raw: hostile.Build("POST", "/x", []string{"Content-Length: 9"}, []byte("a")), MayClose: true}
	notHTTP := hostile.Request{Raw: []byte("GET / HTTP/9.9\r\n\r\n"), Malformed: true, MayClose: true}
	good := []byte(`{"error":"no link","code":"not_found","request_id":"r1"}`)
	for _, c := range []struct {
		name       string
		req        hostile.Request
		ans        hostile.Answer
		err        error
		jsonAlways bool
		want       hostile.Verdict
	}{
		{"redirect", get, hostile.Answer{Status: 302}, nil, true, hostile.Fine},
		{"json error", get, hostile.Answer{Status: 404, ContentType: "application/json", Body: good}, nil, true, hostile.Fine},
		{"no request id", get, hostile.Answer{Status: 404, ContentType: "application/json", Body: []byte(`{"error":"x","code":"y"}`)}, nil, true, hostile.NotJSON},
		{"plain text", get, hostile.Answer{Status: 400, ContentType: "text/plain", Body: []byte("400 Bad Request")}, nil, false, hostile.NotJSON},
		{"html", get, hostile.Answer{Status: 404, ContentType: "text/html", Body: []byte("<html>")}, nil, true, hostile.NotJSON},
		{"head has no body", head, hostile.Answer{Status: 404, ContentType: "application/json"}, nil, true, hostile.Fine},
		{"503", get, hostile.Answer{Status: 503, ContentType: "application/json", Body: good}, nil, true, hostile.ServerError},
		{"hang", get, hostile.Answer{}, errors.New("no answer within 10s"), true, hostile.Hang},
		{"closed on a whole request", get, hostile.Answer{Closed: true}, nil, true, hostile.UnexpectedClose},
		{"closed on a cut request", cut, hostile.Answer{Closed: true}, nil, true, hostile.Fine},
		{"net/http 505 for not-HTTP", notHTTP, hostile.Answer{Status: 505, ContentType: "text/plain"}, nil, false, hostile.NetHTTPVersion},
		{"net/http 400 for not-HTTP", notHTTP, hostile.Answer{Status: 400, ContentType: "text/plain"}, nil, false, hostile.Fine},
		{"505 from a JSON-always service", notHTTP, hostile.Answer{Status: 505}, nil, true, hostile.ServerError},
		{"plain 400 from a JSON-always service", notHTTP, hostile.Answer{Status: 400, ContentType: "text/plain"}, nil, true, hostile.NotJSON},
	} {
		if got := hostile.Judge(c.req, c.ans, c.err, c.jsonAlways); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if head.Method() != "HEAD" || (hostile.Request{Raw: []byte("\x00junk")}).Method() != "\x00junk" {
		t.Errorf("methods: %q", head.Method())
	}
}
