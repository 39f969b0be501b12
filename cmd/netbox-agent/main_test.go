package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb, environ)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const canary = "canary-4b1d-never-print-me"

func TestCheckConfigReportsEveryMistakePrecisely(t *testing.T) {
	cfg := writeFile(t, "agent.yaml", `log:
  level: loud
netbox:
  url: ftp://netbox.lab
  timeout: 5x
merge:
  fields:
    colour: [inventory]
`)
	code, stdout, stderr := runCLI(t, map[string]string{"NETBOX_TOKEN": canary}, "--check-config", "--config", cfg)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{
		cfg + `:2: log.level: "loud" is not one of debug, info, warn, error`,
		cfg + `:4: netbox.url: "ftp://netbox.lab"`,
		cfg + ":5: netbox.timeout: cannot unmarshal !!str `5x` into time.Duration",
		cfg + `:8: merge.fields.colour: unknown field`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout+stderr, canary) {
		t.Fatal("a secret from the environment appeared in the output")
	}
}

func TestCheckConfigUnknownFieldHasItsLine(t *testing.T) {
	cfg := writeFile(t, "agent.yaml", "netbox:\n  url: https://netbox.lab\n  tokn: x\n")
	code, _, stderr := runCLI(t, nil, "--check-config", "--config", cfg)
	if code != exitFailure || !strings.Contains(stderr, cfg+":3: ") || !strings.Contains(stderr, "tokn") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestSecretsFromEnvironmentAndFiles(t *testing.T) {
	cfgPath := writeFile(t, "agent.yaml", "netbox:\n  url: https://netbox.lab\n")
	tokenFile := writeFile(t, "token", canary+"\n")
	for name, environ := range map[string]map[string]string{
		"variable": {"NETBOX_TOKEN": canary},
		"file":     {"NETBOX_TOKEN_FILE": tokenFile},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := loadConfig(cfgPath, environ)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.NetBox.Token.Reveal() != canary {
				t.Fatalf("token not loaded from %s", name)
			}
			code, stdout, stderr := runCLI(t, environ, "--check-config", "--config", cfgPath, "--log-level", "debug")
			if code != exitOK || strings.Contains(stdout+stderr, canary) {
				t.Fatalf("exit %d; output: %s %s", code, stdout, stderr)
			}
		})
	}
	_, err := loadConfig(cfgPath, map[string]string{"NETBOX_TOKEN_FILE": "/nonexistent/token"})
	if err == nil || !strings.Contains(err.Error(), "netbox.token: NETBOX_TOKEN_FILE names a file that cannot be read: /nonexistent/token") {
		t.Fatalf("err = %v", err)
	}
}

func TestFlagsRejectMixedModes(t *testing.T) {
	for _, args := range [][]string{
		{"--run-once", "--http", "127.0.0.1:0"},
		{"--dry-run"},
		{"--output", "xml", "--run-once"},
		{"stray"},
	} {
		if code, _, stderr := runCLI(t, nil, args...); code != exitFailure || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, stdout, _ := runCLI(t, nil, "--version"); code != exitOK || !strings.HasPrefix(stdout, "netbox-agent ") {
		t.Errorf("--version: %d %q", code, stdout)
	}
	if code, _, stderr := runCLI(t, nil, "--check-config"); code != exitFailure || !strings.Contains(stderr, "NETBOX_AGENT_CONFIG") {
		t.Errorf("no config: %d %q", code, stderr)
	}
}

func TestNodeLine(t *testing.T) {
	cfg := writeFile(t, "a.yaml", "sources:\n  proxmox:\n    - name: a\n    - name: b\n      url: x\n")
	var v map[string]any
	root, err := decodeYAML(cfg, []byte("sources:\n  proxmox:\n    - name: a\n    - name: b\n      url: x\n"), &v)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{"sources.proxmox[1].url": 5, "sources.proxmox[0]": 3, "sources.truenas": 1} {
		if got := nodeLine(root, path); got != want {
			t.Errorf("nodeLine(%s) = %d, want %d", path, got, want)
		}
	}
}
