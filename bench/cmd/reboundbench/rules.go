package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/reboundhq/rebound/bench"
)

// Links hotLinks..2*hotLinks-1 get three redirect rules each (device,
// language, query: SPEC 9's figure); the hot set stays without rules.
func ruledCode(i int) int { return hotLinks + i }

// benchRules are the three rules of a ruled link.
func benchRules(i int) []map[string]any {
	return []map[string]any{
		{"if": []any{map[string]any{"type": "device", "is": "ios"}}, "to": fmt.Sprintf("https://apps.example.com/%d", i)},
		{"if": []any{map[string]any{"type": "language", "is": "fr"}}, "to": fmt.Sprintf("https://example.com/fr/%d", i)},
		{"if": []any{map[string]any{"type": "query", "name": "src", "value": "mail"}}, "to": fmt.Sprintf("https://example.com/mail/%d", i)},
	}
}

// addRules gives the ruled links their rules through the API, so the
// edges learn them as they learn any change.
func (b *benchRun) addRules(ctx context.Context) error {
	for i := range hotLinks {
		code := bench.Code(ruledCode(i))
		var list struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		if err := b.api(ctx, "GET", "/urls?short_code="+url.QueryEscape(code), nil, http.StatusOK, &list); err != nil {
			return fmt.Errorf("find ruled link: %w", err)
		}
		if len(list.Data) != 1 {
			return fmt.Errorf("find ruled link %s: %d found", code, len(list.Data))
		}
		var out map[string]any
		if err := b.api(ctx, "PATCH", fmt.Sprintf("/urls/%d", list.Data[0].ID), map[string]any{"rules": benchRules(i)}, http.StatusOK, &out); err != nil {
			return fmt.Errorf("give link %s its rules: %w", code, err)
		}
	}
	return nil
}

// pickRuled picks one of the ruled links, one request in four with the
// campaign query that the third rule takes.
func pickRuled(rnd *rand.Rand, dst []byte) ([]byte, int) {
	dst = bench.AppendCode(append(dst, '/'), ruledCode(rnd.IntN(hotLinks)))
	if rnd.IntN(4) == 0 {
		dst = append(dst, "?src=mail"...)
	}
	return dst, 0
}

var (
	strAcceptLanguage = []byte("Accept-Language")
	strUserAgent      = []byte("User-Agent")
	languages         = [][]byte{[]byte("en-US,en;q=0.9"), []byte("fr-FR,fr;q=0.9,en;q=0.8"), []byte("de-DE,de;q=0.9"), []byte("en-GB,en;q=0.8")}
	agents            = [][]byte{
		[]byte("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
		[]byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
		[]byte("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
		[]byte("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
	}
)

// decorateVisitor sends each request as one of a few browsers with one of
// a few languages, so every rule holds for some requests and none for others.
func decorateVisitor(rnd *rand.Rand, h *fasthttp.RequestHeader) {
	h.SetBytesKV(strUserAgent, agents[rnd.IntN(len(agents))])
	h.SetBytesKV(strAcceptLanguage, languages[rnd.IntN(len(languages))])
}

// api calls the origin's API with the run's admin token and decodes the
// answer into out (when not nil), failing unless it has status want.
func (b *benchRun) api(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd *bytes.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(js)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+b.originAddr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, path, res.StatusCode, want)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}
