// Package deploy_test checks the deployment files: the compose file, loaded
// with the compose specification's own loader, and the Prometheus rules,
// checked and unit-tested with promtool when it is installed.
package deploy_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Values the test feeds for the secrets: each must reach the services only
// through interpolation of these variables.
var secrets = map[string]string{
	"POSTGRES_PASSWORD":      "sentinel-pg-password",
	"REBOUND_API_TOKENS":     "sentinel-api-token",
	"GRAFANA_ADMIN_PASSWORD": "sentinel-grafana-password",
}

func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithEnv(pairs), cli.WithName("rebound"), cli.WithProfiles([]string{"observability"}))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeServices(t *testing.T) {
	p, err := loadCompose(t, secrets)
	if err != nil {
		t.Fatalf("load compose file: %v", err)
	}
	for _, name := range []string{"postgres", "redis", "origin", "edge", "prometheus", "grafana"} {
		svc, ok := p.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if svc.Restart != "always" {
			t.Errorf("%s: restart %q, want always", name, svc.Restart)
		}
		if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 || svc.HealthCheck.Disable {
			t.Errorf("%s: no health check", name)
		}
	}
	for _, name := range []string{"origin", "edge"} {
		svc := p.Services[name]
		for _, dep := range []string{"postgres", "redis"} {
			if d, ok := svc.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s to be healthy: %+v", name, dep, svc.DependsOn)
			}
		}
		if svc.Build == nil {
			t.Errorf("%s is not built from the Dockerfile", name)
		}
		if got := svc.Environment["DATABASE_URL"]; got == nil || !strings.Contains(*got, secrets["POSTGRES_PASSWORD"]) {
			t.Errorf("%s: DATABASE_URL does not carry the password from the environment", name)
		}
		if got := svc.Environment["REBOUND_API_TOKENS"]; got == nil || *got != secrets["REBOUND_API_TOKENS"] {
			t.Errorf("%s: REBOUND_API_TOKENS is not the one from the environment", name)
		}
	}
	for _, name := range []string{"postgres", "redis"} {
		if len(p.Services[name].Volumes) == 0 {
			t.Errorf("%s keeps no volume", name)
		}
	}
}

// TestComposeRefusesToRunWithoutSecrets: with no password or token set, the
// file does not load, rather than start with an empty secret.
func TestComposeRefusesToRunWithoutSecrets(t *testing.T) {
	for missing := range secrets {
		env := map[string]string{}
		for k, v := range secrets {
			if k != missing {
				env[k] = v
			}
		}
		if _, err := loadCompose(t, env); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
}

// TestComposeInlinesNoSecret: no key that names a secret has a literal value.
func TestComposeInlinesNoSecret(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`(?i)^\s*-?\s*"?([A-Z_]*(PASSWORD|TOKEN|SECRET|KEY)[A-Z_]*)"?\s*[:=]\s*(.*)$`)
	for i, line := range strings.Split(string(raw), "\n") {
		m := key.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if v := strings.TrimSpace(m[3]); v != "" && !strings.Contains(v, "${") {
			t.Errorf("line %d: %s has an inline value", i+1, m[1])
		}
	}
	for _, s := range secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("the compose file holds a test secret")
		}
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian package prometheus); alert rules not checked")
	}
	return p
}

func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yml"},
		{"test", "rules", "prometheus/alerts_test.yml"},
		{"check", "config", "prometheus/prometheus.yml"},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertHasARunbookEntry: each alert names an anchor of the runbook,
// and the runbook has a section of that name.
func TestEveryAlertHasARunbookEntry(t *testing.T) {
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	book, err := os.ReadFile("../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\w+)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 8 {
		t.Fatalf("only %d alerts", len(alerts))
	}
	for _, a := range alerts {
		if !strings.Contains(string(rules), "docs/runbook.md#"+strings.ToLower(a[1])) {
			t.Errorf("%s does not link its runbook entry", a[1])
		}
		if !strings.Contains(string(book), "## "+a[1]) {
			t.Errorf("docs/runbook.md has no section %q", a[1])
		}
	}
}
