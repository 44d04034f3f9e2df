package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/reboundhq/rebound/internal/testenv"
)

// startServices runs the real origin and edge commands until the test ends.
func startServices(t *testing.T) (originURL, edgeURL string) {
	t.Helper()
	dsn := testenv.NewDatabase(t)
	_, prefix := testenv.NewRedis(t)
	originAddr, edgeAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	for k, v := range map[string]string{
		"DATABASE_URL": dsn, "REDIS_URL": testenv.RedisURL(), "REBOUND_REDIS_PREFIX": prefix,
		"REBOUND_API_TOKENS": "metrics-test", "REBOUND_ORIGIN_ADDR": originAddr, "REBOUND_EDGE_ADDR": edgeAddr,
		"REBOUND_LOG_LEVEL": "error",
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, cmd := range []command{runOrigin, runEdge} {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := cmd(ctx, cmdEnv{stdout: io.Discard, stderr: io.Discard}, []string{"-env", ""}); err != nil {
				t.Errorf("service: %v", err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
	originURL, edgeURL = "http://"+originAddr, "http://"+edgeAddr
	for _, u := range []string{originURL, edgeURL} {
		testenv.Eventually(t, 20*time.Second, u+" healthy", func() bool {
			resp, err := http.Get(u + "/health")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	return originURL, edgeURL
}

func scrape(t *testing.T, url string) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("%s/metrics: content type %q", url, ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s/metrics is not Prometheus text: %v", url, err)
	}
	return raw, fams
}

// TestMetricsOfBothServices scrapes the running services and checks the
// series operators and the alert rules rely on, their types and names.
func TestMetricsOfBothServices(t *testing.T) {
	originURL, edgeURL := startServices(t)
	// One link, one redirect, one unknown code: the labelled series appear.
	req, _ := http.NewRequest("POST", originURL+"/urls", strings.NewReader(`{"original_url":"https://example.com/m","short_code":"mlink"}`))
	req.Header.Set("Authorization", "Bearer metrics-test")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create link: %v %v", err, resp)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noFollow.Get(edgeURL + "/nope-not-a-link"); err == nil {
		resp.Body.Close()
	}
	if resp, err := noFollow.Get(edgeURL + "/mlink"); err != nil || resp.StatusCode != 302 {
		t.Fatalf("redirect: %v %v", err, resp)
	}

	want := map[string]map[string]dto.MetricType{
		edgeURL: {
			"rebound_edge_http_requests_total":           dto.MetricType_COUNTER,
			"rebound_edge_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
			"rebound_edge_http_requests_in_flight":       dto.MetricType_GAUGE,
			"rebound_edge_cache_lookups_total":           dto.MetricType_COUNTER,
			"rebound_edge_breaker_state":                 dto.MetricType_GAUGE,
			"rebound_edge_breaker_transitions_total":     dto.MetricType_COUNTER,
			"rebound_edge_rate_limited_total":            dto.MetricType_COUNTER,
			"rebound_edge_click_backlog":                 dto.MetricType_GAUGE,
			"rebound_edge_clicks_dropped_total":          dto.MetricType_COUNTER,
			"rebound_dependency_up":                      dto.MetricType_GAUGE,
			"rebound_postgres_pool_acquired_connections": dto.MetricType_GAUGE,
			"rebound_redis_pool_connections":             dto.MetricType_GAUGE,
			"process_resident_memory_bytes":              dto.MetricType_GAUGE,
			"go_goroutines":                              dto.MetricType_GAUGE,
		},
		originURL: {
			"rebound_origin_http_requests_total":           dto.MetricType_COUNTER,
			"rebound_origin_http_request_duration_seconds": dto.MetricType_HISTOGRAM,
			"rebound_origin_http_requests_in_flight":       dto.MetricType_GAUGE,
			"rebound_origin_click_stream_batches":          dto.MetricType_GAUGE,
			"rebound_origin_clicks_stored_total":           dto.MetricType_COUNTER,
			"rebound_dependency_up":                        dto.MetricType_GAUGE,
			"rebound_postgres_pool_acquired_connections":   dto.MetricType_GAUGE,
			"rebound_redis_pool_connections":               dto.MetricType_GAUGE,
			"process_resident_memory_bytes":                dto.MetricType_GAUGE,
			"go_goroutines":                                dto.MetricType_GAUGE,
		},
	}
	exported := map[string]bool{}
	for url, names := range want {
		raw, fams := scrape(t, url)
		for name, typ := range names {
			f, ok := fams[name]
			if !ok {
				t.Errorf("%s/metrics lacks %s", url, name)
				continue
			}
			if f.GetType() != typ {
				t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
			}
		}
		for name, f := range fams {
			exported[name] = true
			if !regexp.MustCompile(`^(rebound|go|process|promhttp)_[a-z0-9_]+$`).MatchString(name) {
				t.Errorf("%s: name outside the rebound_ namespace", name)
			}
			if (f.GetType() == dto.MetricType_COUNTER) != strings.HasSuffix(name, "_total") {
				t.Errorf("%s: counters, and only counters, end in _total", name)
			}
		}
		for _, up := range fams["rebound_dependency_up"].GetMetric() {
			if up.GetGauge().GetValue() != 1 {
				t.Errorf("%s: a dependency is down: %v", url, up)
			}
		}
		lintWithPromtool(t, url, raw)
	}
	// Every series the alerts and the dashboard query is one the services export.
	for _, file := range []string{"../../deploy/prometheus/alerts.yml", "../../deploy/grafana/dashboards/rebound.json"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range regexp.MustCompile(`rebound_[a-z_]+`).FindAllString(string(src), -1) {
			base := strings.TrimSuffix(name, "_bucket")
			if !exported[base] {
				t.Errorf("%s queries %s, which no service exports", file, name)
			}
		}
	}
}

// lintWithPromtool runs promtool's metric linter when it is installed.
func lintWithPromtool(t *testing.T, url string, raw []byte) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		return
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(raw)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics %s: %v\n%s", url, err, out)
	}
}

// TestMalformedRequestsGetJSON sends both running services requests their
// HTTP servers refuse before any handler runs: the answers are JSON errors.
func TestMalformedRequestsGetJSON(t *testing.T) {
	originURL, edgeURL := startServices(t)
	for _, base := range []string{originURL, edgeURL} {
		for _, req := range []string{
			"GARBAGE\r\n\r\n",
			"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n",
		} {
			resp, raw := testenv.RawExchange(t, strings.TrimPrefix(base, "http://"), req)
			var body struct {
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
			}
			err := json.Unmarshal(raw, &body)
			if err != nil || resp.StatusCode/100 != 4 || resp.Header.Get("Content-Type") != "application/json" ||
				body.Code != "bad_request" || body.RequestID == "" {
				t.Errorf("%s %.20q: %d %v %+v (%v)", base, req, resp.StatusCode, resp.Header, body, err)
			}
		}
	}
}
