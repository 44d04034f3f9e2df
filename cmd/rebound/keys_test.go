package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound/internal/testenv"
)

// startOriginProcess runs `rebound origin` as a process of its own with the
// test's environment plus env, and returns its URL once it is healthy.
func startOriginProcess(t *testing.T, env ...string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	_, _ = startSelf(t, []string{"origin", "-env", ""}, append([]string{"REBOUND_ORIGIN_ADDR=" + addr, "REBOUND_LOG_LEVEL=error"}, env...)...)
	url := "http://" + addr
	testenv.Eventually(t, 30*time.Second, "origin process healthy", func() bool {
		res, err := http.Get(url + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return url
}

func statusWith(t *testing.T, method, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestRevokedKeyIsRefusedByEveryOrigin runs two origin processes over one
// database; a key revoked through one, or with `rebound keys revoke`, is
// refused by both within a second.
func TestRevokedKeyIsRefusedByEveryOrigin(t *testing.T) {
	dsn := testenv.NewDatabase(t)
	_, prefix := testenv.NewRedis(t)
	env := []string{"DATABASE_URL=" + dsn, "REDIS_URL=" + testenv.RedisURL(), "REBOUND_REDIS_PREFIX=" + prefix,
		"REBOUND_API_TOKENS=keys-test-token"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	origins := []string{startOriginProcess(t, env...), startOriginProcess(t, env...)}

	create := func(name string) (string, int64) {
		var out, errb bytes.Buffer
		if code := run([]string{"keys", "-env", "", "create", "-name", name, "-role", "reader"}, &out, &errb); code != 0 {
			t.Fatalf("keys create: %d %s", code, errb.String())
		}
		var k struct {
			ID  int64
			Key string
		}
		if err := json.Unmarshal(out.Bytes(), &k); err != nil || k.Key == "" {
			t.Fatalf("keys create printed %q (%v)", out.String(), err)
		}
		return k.Key, k.ID
	}
	// refusedWithin fails unless every origin answers 401 for key within d.
	refusedWithin := func(key string, d time.Duration) {
		t.Helper()
		start := time.Now()
		for i, o := range origins {
			for statusWith(t, "GET", o+"/urls", key) != 401 {
				if time.Since(start) > d {
					t.Fatalf("origin %d still takes the revoked key %v after its revocation", i, time.Since(start))
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}

	key, id := create("through the API")
	for _, o := range origins { // both have read the key, and cached it
		if s := statusWith(t, "GET", o+"/urls", key); s != 200 {
			t.Fatalf("%s with a new key: %d", o, s)
		}
	}
	if s := statusWith(t, "DELETE", fmt.Sprintf("%s/keys/%d", origins[0], id), "keys-test-token"); s != 204 {
		t.Fatalf("revoke: %d", s)
	}
	if s := statusWith(t, "GET", origins[0]+"/urls", key); s != 401 {
		t.Fatalf("the origin that revoked the key took it once more: %d", s)
	}
	refusedWithin(key, time.Second)

	key, id = create("with the command")
	for _, o := range origins {
		if s := statusWith(t, "GET", o+"/urls", key); s != 200 {
			t.Fatalf("%s with a new key: %d", o, s)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"keys", "-env", "", "revoke", fmt.Sprint(id)}, &out, &errb); code != 0 {
		t.Fatalf("keys revoke: %d %s", code, errb.String())
	}
	refusedWithin(key, time.Second)

	out.Reset()
	if code := run([]string{"keys", "-env", "", "list"}, &out, &errb); code != 0 {
		t.Fatalf("keys list: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "with the command") || strings.Contains(out.String(), key) {
		t.Fatalf("keys list:\n%s", out.String())
	}
	for _, bad := range [][]string{
		{"keys", "-env", "", "create", "-name", "x", "-role", "root"},
		{"keys", "-env", "", "create", "-name", "x", "-role", "author"},
		{"keys", "-env", "", "create", "-role", "admin"},
		{"keys", "-env", "", "create", "-name", "x", "-role", "admin", "-expires", "soon"},
		{"keys", "-env", "", "revoke", "abc"},
		{"keys", "-env", "", "revoke", "424242"},
		{"keys", "-env", "", "rotate"},
	} {
		errb.Reset()
		if code := run(bad, &out, &errb); code != 1 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, %q", bad, code, errb.String())
		}
	}
}
