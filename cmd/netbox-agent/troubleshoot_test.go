package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// userErrors runs the agent into the failures people meet (bad config, NetBox down or
// refusing the token, a source refusing its credentials, an edited plan, an unsafe listen
// address) and returns every error and warning it printed: the fatal "netbox-agent: ..."
// lines and the msg (with its error) of each ERROR or WARN log record. The troubleshooting
// section of docs/operations.md must have an entry for each.
func userErrors(t *testing.T) map[string]string {
	t.Helper()
	got := map[string]string{} // message -> scenario
	collect := func(scenario, stderr string) {
		sc := bufio.NewScanner(strings.NewReader(stderr))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil {
				lvl, _ := rec["level"].(string)
				if lvl != "ERROR" && lvl != "WARN" {
					continue
				}
				msg, _ := rec["msg"].(string)
				if e, ok := rec["error"].(string); ok {
					msg += ": " + e
				}
				if w, ok := rec["why"].(string); ok {
					msg += ": " + w
				}
				got[msg] = scenario
				continue
			}
			if progressLine.MatchString(line) {
				continue // progress on stderr, not an error
			}
			got[line] = scenario
		}
	}
	run := func(scenario string, env map[string]string, args ...string) (int, string) {
		code, out, errOut := runCLI(t, env, append([]string{"--log-format", "json"}, args...)...)
		collect(scenario, errOut)
		return code, out
	}

	// configuration
	run("config file missing", nil, "--config", filepath.Join(t.TempDir(), "missing.yaml"), "--check-config")
	bad := writeFile(t, "bad.yaml", "log: {level: loud}\nnetbox:\n  url: ftp://netbox.lab\n  timeout: 5x\n  tokn: x\nsync: {instance: \"site a\"}\nmerge:\n  fields:\n    colour: [inventory]\n")
	run("config with mistakes", map[string]string{"NETBOX_TOKEN": canary}, "--config", bad, "--check-config")
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	run("no NetBox token", nil, "--config", cfg, "--run-once")
	run("two modes", env, "--config", cfg, "--run-once", "--check-config")
	run("public listen address without MCP token", env, "--config", cfg, "--http", "0.0.0.0:0")
	missingFile := map[string]string{"NETBOX_TOKEN_FILE": filepath.Join(t.TempDir(), "nope")}
	run("token file missing", missingFile, "--config", cfg, "--check-config")

	// plans
	planPath := filepath.Join(t.TempDir(), "plan.json")
	run("plan saved", env, "--config", cfg, "--run-once", "--dry-run", "--plan-out", planPath)
	if b, err := os.ReadFile(planPath); err == nil {
		edited := regexp.MustCompile(`"name": "pve1"`).ReplaceAll(b, []byte(`"name": "pve2"`))
		if err := os.WriteFile(planPath, edited, 0o600); err != nil {
			t.Fatal(err)
		}
		run("plan edited after it was made", env, "--config", cfg, "--apply-plan", planPath)
	} else {
		t.Errorf("--plan-out wrote no plan: %v", err)
	}
	run("plan file missing", env, "--config", cfg, "--apply-plan", filepath.Join(t.TempDir(), "none.json"))

	// NetBox and sources failing, against the lab
	l, err := lab.Start(t.Context(), lab.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	labCfg := l.ConfigPath()
	wrongToken := writeFile(t, "wrong-token.yaml", strings.Replace(mustRead(t, labCfg), l.NetBoxToken(), "0000000000000000000000000000000000000000", 1))
	run("NetBox refuses the token", nil, "--config", wrongToken, "--run-once")
	if err := l.FailSource(lab.TrueNASSource, true); err != nil {
		t.Fatal(err)
	}
	run("a source refuses its credentials", nil, "--config", labCfg, "--run-once")
	if err := l.FailSource(lab.TrueNASSource, false); err != nil {
		t.Fatal(err)
	}
	if err := l.FailSource("netbox", true); err != nil {
		t.Fatal(err)
	}
	run("NetBox answers 500", nil, "--config", labCfg, "--run-once")
	if err := l.FailSource("netbox", false); err != nil {
		t.Fatal(err)
	}
	down := writeFile(t, "down.yaml", strings.Replace(mustRead(t, labCfg), l.NetBoxURL(), "http://"+closedPort(t), 1))
	run("NetBox unreachable", nil, "--config", down, "--run-once")
	return got
}

// progressLine matches what the headless modes print on stderr as they go: discovery and
// apply progress, per-source summaries that went well, the merge summary.
var progressLine = regexp.MustCompile(`^(discover \S+: \d+/\d+ |apply: \d+/\d+ |\S+: ok, \d+ observations|merged \d+ observations)`)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// troubleshootingEntries reads the message fragments of docs/operations.md's troubleshooting
// section: each entry is a "### `fragment`" heading (several fragments: several code spans).
func troubleshootingEntries(t *testing.T) []string {
	t.Helper()
	doc := mustRead(t, "../../docs/operations.md")
	_, section, ok := strings.Cut(doc, "\n## Troubleshooting")
	if !ok {
		t.Fatal("docs/operations.md has no ## Troubleshooting section")
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var frags []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "### ") {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(line, -1) {
			frags = append(frags, m[1])
		}
	}
	return frags
}

// TestTroubleshootingCoversEveryErrorPrinted: every error and warning the agent printed in
// the scenarios above matches an entry of the troubleshooting section. A new message, or a
// reworded one, fails here until the section says what it means and what to do.
func TestTroubleshootingCoversEveryErrorPrinted(t *testing.T) {
	frags := troubleshootingEntries(t)
	if len(frags) < 10 {
		t.Fatalf("only %d troubleshooting entries", len(frags))
	}
	got := userErrors(t)
	if len(got) < 10 {
		t.Fatalf("the scenarios printed only %d messages: %v", len(got), got)
	}
	used := map[string]bool{}
	for msg, scenario := range got {
		if strings.Contains(msg, canary) {
			t.Errorf("%s: a secret in the output: %s", scenario, msg)
		}
		found := false
		for _, f := range frags {
			if strings.Contains(strings.ToLower(msg), strings.ToLower(f)) {
				found, used[f] = true, true
			}
		}
		if !found {
			t.Errorf("%s: no troubleshooting entry in docs/operations.md matches:\n\t%s", scenario, msg)
		}
	}
	for _, f := range frags {
		if !used[f] {
			t.Logf("entry %q matched no message of these scenarios (kept: it documents a case they do not reach)", f)
		}
	}
}
