package edge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/reboundhq/rebound/postgres"
)

// chromium starts a headless Chromium (Debian's, which make test installs)
// for the test and returns a context to drive it with.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (make test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestPasswordFormInChromium: a person in a real browser opens a protected
// link, types a wrong password and sees the form again with a message, then
// the right one and lands on the target.
func TestPasswordFormInChromium(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`<!doctype html><title>Vault</title><h1 id="landed">You are in ` + r.URL.RawQuery + `</h1>`))
	}))
	defer target.Close()
	h := newHarness(t, harnessOpts{})
	hash := cheapHash(t, "open sesame")
	h.link(postgres.NewLink{ShortCode: "vault", OriginalURL: target.URL + "/vault", IsActive: true, ForwardQuery: true, PasswordHash: &hash})

	ctx := chromium(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/vault?from=browser"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not it"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`p[role=alert]`)),
	)
	if err != nil {
		t.Fatalf("browser, wrong password: %v", err)
	}
	alert, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p[role=alert]`)))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#password`), "open sesame"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#landed`)),
	)
	if err != nil {
		t.Fatalf("browser, right password: %v", err)
	}
	landed, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#landed`)))
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(alert, "not right") {
		t.Fatalf("after a wrong password the page says %q", alert)
	}
	if location != target.URL+"/vault?from=browser" || landed != "You are in from=browser" {
		t.Fatalf("landed on %s saying %q", location, landed)
	}
}
