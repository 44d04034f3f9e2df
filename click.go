package rebound

import "bytes"

// MaxReferrerLen bounds the referrer host kept with a click.
const MaxReferrerLen = 64

// AppendReferrerHost appends the host of a Referer header value to dst,
// lower-cased and cut at MaxReferrerLen, keeping only the bytes a host name
// may hold. It appends nothing when ref has no http(s) host. It does not
// allocate when dst has room.
func AppendReferrerHost(dst, ref []byte) []byte {
	rest, ok := cutScheme(ref)
	if !ok {
		return dst
	}
	n := 0
	for _, c := range rest {
		if c == '/' || c == '?' || c == '#' || c == ':' {
			break
		}
		if c == '@' { // userinfo before the host: start again after it
			dst = dst[:len(dst)-n]
			n = 0
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return dst[:len(dst)-n]
		}
		if n == MaxReferrerLen {
			break
		}
		dst = append(dst, c)
		n++
	}
	return dst
}

func cutScheme(ref []byte) ([]byte, bool) {
	for _, scheme := range [...]string{"https://", "http://"} {
		if len(ref) >= len(scheme) && equalFold(ref[:len(scheme)], scheme) {
			return ref[len(scheme):], true
		}
	}
	return nil, false
}

// botMarkers are lower-case fragments of the user agents of crawlers,
// link-preview fetchers and scripts.
var botMarkers = [...][]byte{[]byte("bot"), []byte("crawl"), []byte("spider"), []byte("slurp"), []byte("preview"),
	[]byte("fetch"), []byte("curl"), []byte("wget"), []byte("python"), []byte("go-http-client"), []byte("java/"),
	[]byte("headless"), []byte("facebookexternalhit"), []byte("monitor"), []byte("scan"), []byte("http")}

// maxBotMarkerLen is the length of the longest marker ("facebookexternalhit").
const maxBotMarkerLen = 19

// IsBot reports whether a User-Agent looks like a program rather than a
// person's browser. An empty agent counts as a bot. It does not allocate.
//
// The agent is lower-cased a window at a time into a stack buffer so that
// each marker is found with bytes.Index (vectorised) rather than a
// case-folding scan per marker: this runs on every redirect.
func IsBot(ua []byte) bool {
	if len(ua) == 0 {
		return true
	}
	var buf [256]byte
	for start := 0; ; {
		end := min(len(ua), start+len(buf))
		window := buf[:end-start]
		for i, c := range ua[start:end] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			window[i] = c
		}
		for _, m := range botMarkers {
			if bytes.Contains(window, m) {
				return true
			}
		}
		if end == len(ua) {
			return false
		}
		start = end - (maxBotMarkerLen - 1) // windows overlap so no marker straddles unseen
	}
}

// equalFold compares b with the lower-case ASCII s, ignoring b's case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
