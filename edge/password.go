package edge

import (
	"html"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/internal/clientaddr"
)

// Limits of password links (SPEC 10).
const (
	wrongPasswordsPerMinute = 10
	passwordClients         = 100_000 // clients whose wrong passwords are remembered
	// passwordWait bounds how long a check waits for the one slot.
	passwordWait = time.Second
)

// passwordGate answers requests for links with a password: the form, and
// the check of a posted password. Checks are bcrypt's (about 60 ms of CPU
// each at cost 10), so they run one at a time and at most a few a second
// over the whole edge: a flood of guesses, from however many clients, then
// takes at most that share of the CPU from the redirects of other links
// (measured by make bench). Each client may post 10 wrong passwords a
// minute; then 429 until a minute's share is back.
type passwordGate struct {
	trusted clientaddr.Trusted
	wrong   *limiter // each client's allowance of wrong passwords
	checks  *rate.Limiter
	slot    chan struct{}
}

func newPasswordGate(trusted []netip.Prefix, checksPerSecond float64) *passwordGate {
	if checksPerSecond <= 0 {
		checksPerSecond = 3
	}
	return &passwordGate{trusted: trusted, slot: make(chan struct{}, 1),
		wrong:  newLimiter(wrongPasswordsPerMinute/60.0, wrongPasswordsPerMinute, passwordClients, trusted),
		checks: rate.NewLimiter(rate.Limit(checksPerSecond), max(1, int(checksPerSecond)))}
}

var (
	errWrongPasswords = newEdgeError(429, rebound.ERateLimited, "too many wrong passwords; try again in a minute")
	errPasswordBusy   = newEdgeError(503, rebound.EUnavailable, "too many password checks right now; retry shortly")
)

// admit reports whether the request may follow a password link: a POST
// with the right password. Otherwise it answers: the form (GET, HEAD), the
// form again with 401 (a wrong password), 429 (too many wrong ones) or 503
// (checks saturated).
func (g *passwordGate) admit(ctx *fasthttp.RequestCtx, s *Server, e *entry, code []byte, post bool, now time.Time) bool {
	if !post {
		writeForm(ctx, code, fasthttp.StatusOK, "")
		return false
	}
	addr, _ := client(ctx, g.trusted)
	wrong := g.wrong.bucket(addr)
	if tokens := wrong.TokensAt(now); tokens < 1 {
		// Seconds until a whole wrong password is allowed again.
		wait := (1 - tokens) * 60 / wrongPasswordsPerMinute
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait))))
		s.fail(ctx, errWrongPasswords)
		return false
	}
	if !g.checks.AllowN(now, 1) {
		ctx.Response.Header.SetBytesV("Retry-After", strRetryAfter)
		s.fail(ctx, errPasswordBusy)
		return false
	}
	timer := time.NewTimer(passwordWait)
	select {
	case g.slot <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		ctx.Response.Header.SetBytesV("Retry-After", strRetryAfter)
		s.fail(ctx, errPasswordBusy)
		return false
	}
	ok := rebound.CheckPassword(e.password, ctx.PostArgs().Peek("password"))
	<-g.slot
	if !ok {
		wrong.AllowN(now, 1)
		writeForm(ctx, code, fasthttp.StatusUnauthorized, "That password is not right.")
		return false
	}
	return true
}

// The form's headers: nothing is kept, nothing outside the page is loaded
// or run, and the form posts to the edge only (redirects after it may go
// anywhere: the link's target).
const (
	formCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; base-uri 'none'; frame-ancestors 'none'"
)

// writeForm answers the password form, with a message when one is given.
// The form posts to the page's own URL, so the query a link forwards is
// kept.
func writeForm(ctx *fasthttp.RequestCtx, code []byte, status int, message string) {
	ctx.SetStatusCode(status)
	h := &ctx.Response.Header
	h.SetContentType("text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", formCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	alert := ""
	if message != "" {
		alert = `<p role="alert">` + html.EscapeString(message) + `</p>`
	}
	ctx.SetBodyString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Protected link ` + html.EscapeString(string(code)) + `</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:15vh auto;padding:0 1rem}
input,button{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0}
p[role=alert]{color:#a00}</style></head>
<body><main><h1>This link is protected</h1>` + alert + `
<form method="post"><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Open the link</button></form></main></body></html>
`)
}
