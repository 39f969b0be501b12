package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/schedule"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// scrapeNames reads a Prometheus exposition and returns every series name it carries.
func scrapeNames(t *testing.T, body string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end <= 0 {
			t.Fatalf("not an exposition line: %q", line)
		}
		names[line[:end]] = true
	}
	return names
}

// promNames are the metric names a PromQL expression refers to: ours, the process and Go
// collectors', and recording rules (netbox_agent:...). Label names and values are not
// names: the matchers in braces and the grouping lists are cut out first.
var (
	promMatchers = regexp.MustCompile(`\{[^}]*\}|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promName     = regexp.MustCompile(`\b(netbox_agent[a-z0-9_:]*|process_[a-z0-9_]+|go_[a-z0-9_]+)\b`)
)

func promNames(expr string) []string {
	return promName.FindAllString(promMatchers.ReplaceAllString(expr, " "), -1)
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type dashboard struct {
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// TestDashboardAndRulesUseExportedMetrics runs the agent in HTTP mode against the lab with
// the schedule on, makes every metric appear (a scheduled run that applies, a tool call, a
// source that fails), scrapes /metrics, and checks that every metric name the Grafana
// dashboard and the Prometheus rules use is one the agent exports (or a recording rule the
// rules define).
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	l, err := lab.Start(t.Context(), lab.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cfg, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, "agent.yaml", string(cfg)+"\nschedule: {enabled: true, interval: 1h, run_at_start: true, apply: true}\n")
	addr := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--config", cfgPath, "--http", addr}, strings.NewReader(""), io.Discard, &errb, map[string]string{})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("agent did not stop")
		}
	}()
	base := "http://" + addr
	scrape := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// the run at start: discovered, planned, applied, recorded
	deadline := time.Now().Add(60 * time.Second)
	for !regexp.MustCompile(`(?m)^netbox_agent_last_success_timestamp_seconds [1-9]`).MatchString(scrape()) {
		if time.Now().After(deadline) {
			t.Fatalf("no successful scheduled run within 60s\n%s", errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// a tool call through MCP, with a source failing: tool and discovery error metrics
	if err := l.FailSource(lab.TrueNASSource, true); err != nil {
		t.Fatal(err)
	}
	session := mcpPost(t, base, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"ops-test","version":"1"}}}`)
	mcpPost(t, base, session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	// A preview within the discovery cache's lifetime (discoveryTTL) reuses the scheduled run's
	// discovery, which saw TrueNAS answer: preview until one discovers anew and sees it fail.
	exported := map[string]bool{}
	for id, deadline := 2, time.Now().Add(discoveryTTL+30*time.Second); ; id++ {
		mcpPost(t, base, session, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"preview_sync","arguments":{}}}`, id))
		if exported = scrapeNames(t, scrape()); exported["netbox_agent_discovery_errors_total"] || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, must := range []string{"netbox_agent_ready", "netbox_agent_discovery_errors_total", "netbox_agent_mcp_tool_calls_total", "netbox_agent_writes_total"} {
		if !exported[must] {
			t.Fatalf("%s not exported after the runs; exported: %v", must, slices.Sorted(maps.Keys(exported)))
		}
	}

	var rules ruleFile
	rb, err := os.ReadFile("../../packaging/prometheus/netbox-agent.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(rb, &rules); err != nil {
		t.Fatalf("rules: %v", err)
	}
	recorded := map[string]bool{}
	var exprs []string // "where: expr"
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			exprs = append(exprs, "rules "+g.Name+"/"+r.Record+r.Alert+": "+r.Expr)
		}
	}
	var dash dashboard
	db, err := os.ReadFile("../../packaging/grafana/netbox-agent.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(db))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, "dashboard panel "+p.Title+": "+tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, "dashboard variable: "+v.Definition)
		}
	}
	checked := map[string]bool{}
	for _, e := range exprs {
		where, expr, _ := strings.Cut(e, ": ")
		names := promNames(expr)
		if len(names) == 0 && !strings.Contains(expr, "up{") {
			t.Errorf("%s: names no metric of the agent: %s", where, expr)
		}
		for _, n := range names {
			checked[n] = true
			if strings.Contains(n, ":") {
				if !recorded[n] {
					t.Errorf("%s: recording rule %s is not defined in the rules", where, n)
				}
				continue
			}
			if !exported[n] {
				t.Errorf("%s: %s is not a metric the agent exports", where, n)
			}
		}
	}
	t.Logf("%d expressions, %d distinct names checked against %d exported series names", len(exprs), len(checked), len(exported))
	if len(checked) < 15 {
		t.Errorf("only %d names checked: the expression parser lost some", len(checked))
	}
}

// TestPromNamesIgnoresLabels: the parser behind the test above finds names, not labels.
func TestPromNamesIgnoresLabels(t *testing.T) {
	got := promNames(`sum by (instance, netbox_agent_fake) (rate(netbox_agent_writes_total{status="failed",x="netbox_agent_y"}[5m])) / on (instance) netbox_agent:writes_failed:ratio_1h`)
	want := []string{"netbox_agent_writes_total", "netbox_agent:writes_failed:ratio_1h"}
	if !slices.Equal(got, want) {
		t.Fatalf("promNames = %v, want %v", got, want)
	}
}

// mcpPost sends one JSON-RPC message to /mcp and returns the session id it was given.
func mcpPost(t *testing.T, base, session, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("POST /mcp: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST /mcp %.80s: HTTP %d: %s", body, resp.StatusCode, b)
	}
	if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
		return s
	}
	return session
}

// TestPackagedConfigsAreValid: the config in the Kubernetes ConfigMap passes --check-config
// with its secrets given as the files the manifests mount.
func TestPackagedConfigsAreValid(t *testing.T) {
	b, err := os.ReadFile("../../packaging/kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "config.yaml", cm.Data["config.yaml"])
	env := map[string]string{
		"NETBOX_TOKEN_FILE":                    writeFile(t, "netbox_token", "0123456789abcdef0123456789abcdef01234567"),
		"PROXMOX_PVE_SITE_A_TOKEN_SECRET_FILE": writeFile(t, "pve", "00000000-0000-0000-0000-000000000000"),
	}
	code, out, errOut := runCLI(t, env, "--config", cfg, "--check-config")
	if code != exitOK {
		t.Fatalf("ConfigMap config.yaml: exit %d\n%s%s", code, out, errOut)
	}
}

func TestOpsMetricsFailureStreaks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newOpsMetrics(reg, schedule.Config{Enabled: true, Interval: 15 * time.Minute})
	boom := errors.New("boom")
	now := time.Unix(1_800_000_000, 0)
	for _, step := range []struct {
		run     []string
		out     schedule.Outcome
		streaks map[string]float64
		success float64
	}{
		{[]string{"a", "b"}, schedule.Outcome{Failed: map[string]error{"a": boom}}, map[string]float64{"a": 1, "b": 0}, 1},
		{[]string{"a"}, schedule.Outcome{Failed: map[string]error{"a": boom}}, map[string]float64{"a": 2, "b": 0}, 2},
		{[]string{"a", "b"}, schedule.Outcome{Err: boom}, map[string]float64{"a": 3, "b": 1}, 2},
		{[]string{"b"}, schedule.Outcome{}, map[string]float64{"a": 3, "b": 0}, 4},
		{[]string{"a"}, schedule.Outcome{}, map[string]float64{"a": 0, "b": 0}, 5},
	} {
		now = now.Add(time.Minute)
		m.observeRun(schedule.Run{Sources: step.run}, step.out, now)
		for s, want := range step.streaks {
			if got := testutil.ToFloat64(m.failStreak.WithLabelValues(s)); got != want {
				t.Errorf("after run %v %+v: %s streak %v, want %v", step.run, step.out, s, got, want)
			}
		}
		if got := testutil.ToFloat64(m.lastSuccess); got != float64(1_800_000_000+60*int(step.success)) {
			t.Errorf("after run %v: last success %v", step.run, got)
		}
	}
	m.observePlan(&server.Plan{Notes: []server.Note{
		{Object: "source pve-lab", Reason: "suspicious: ran successfully but returned nothing; treated as failed"},
		{Object: "source nas", Reason: "did not run successfully: nothing only it saw is marked stale or deleted"},
		{Object: "web", Field: "name", Reason: "kept a change made in NetBox"},
	}})
	if got := testutil.ToFloat64(m.held); got != 1 {
		t.Errorf("drop guard held %v sources, want 1", got)
	}
	if got := m.readyValue(); got != 0 {
		t.Errorf("ready %v before a check is set", got)
	}
	m.setReady(func(context.Context) error { return nil })
	if got := m.readyValue(); got != 1 {
		t.Errorf("ready %v with a passing check", got)
	}
}
