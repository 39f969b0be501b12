package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// configRows: invalid and hostile config files given to `netbox-agent --check-config`.
func configRows(t *testing.T, m *matrix) {
	const group = "Bad inputs: config"
	bin := m.agentBinary(t)
	dir := t.TempDir()
	valid := "netbox:\n  url: \"http://127.0.0.1:1\"\n  token: \"" + canaryNetBox + "\"\nsources:\n  inventory:\n    - name: inv\n      files:\n        - path: " + filepath.Join(dir, "hosts.csv") + "\n"
	bomb := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for c := 'b'; c <= 'j'; c++ {
		bomb += fmt.Sprintf("%c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	bomb += "netbox:\n  url: *j\n"
	cases := []struct {
		name, content string
		want          []string // each must appear in stderr
	}{
		{"YAML syntax error (a tab)", "netbox:\n\turl: x\n", []string{"cfg.yaml:2:"}},
		{"wrong values: ftp URL, unknown field, negative timeout, missing token_id", "netbox:\n  url: \"ftp://x\"\n  token: \"" + canaryNetBox + "\"\n  bogus: 1\nsources:\n  proxmox:\n    - url: \"https://[::1\"\n      token_secret: \"" + canaryProxmox + "\"\n      timeout: -5s\n",
			[]string{"cfg.yaml:2: netbox.url", "cfg.yaml:4: netbox.bogus", "sources.proxmox[0].url", "sources.proxmox[0].token_id", "sources.proxmox[0].timeout"}},
		{"secret of the wrong type (a list holding the canary)", strings.Replace(valid, "token: \""+canaryNetBox+"\"", "token: [\""+canaryNetBox+"\", 2]", 1), []string{"cfg.yaml:3:"}},
		{"secret with control characters and a fake log line", strings.Replace(valid, "token: \""+canaryNetBox+"\"", "token: \""+canaryNetBox+"\\n\\u001b[2Jlevel=ERROR msg=pwned\"\n  timeout: nonsense", 1), []string{"cfg.yaml:"}},
		{"YAML alias bomb (9^9 expansions)", bomb, []string{"cfg.yaml:"}},
		{"100,000 nested lists", "netbox: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n", []string{"cfg.yaml"}},
		{"NUL bytes and binary junk", "netbox:\n  url: \"http://127.0.0.1:1\"\n  token: \"abc\x00def\"\n\x00\x01\xff", []string{"cfg.yaml"}},
		{"1 MiB URL value", "netbox:\n  url: \"" + strings.Repeat("x", 1<<20) + "\"\n  token: abc\n", []string{"cfg.yaml:2: netbox.url"}},
		{"scan allowlist of the whole Internet, huge max_hosts", strings.Replace(valid, "sources:\n", "sources:\n  netscan:\n    - name: scan\n      allowed_networks: [\"0.0.0.0/0\", \"::/0\"]\n      max_hosts: 99999999999\n", 1), []string{"cfg.yaml:", "netscan"}},
		{"MCP on all interfaces without a token", valid + "mcp:\n  listen: \"0.0.0.0:8080\"\n", []string{"cfg.yaml:", "auth_token"}},
		{"empty file", "", []string{"cfg.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "cfg.yaml")
			must(t, os.WriteFile(path, []byte(tc.content), 0o600))
			start := time.Now()
			run := runAgent(t, bin, 30*time.Second, []string{"NETBOX_TOKEN="}, "--check-config", "--config", path)
			took := time.Since(start)
			var missing []string
			for _, w := range tc.want {
				if !strings.Contains(run.stderr, w) {
					missing = append(missing, w)
				}
			}
			leaks := leakedCanaries(run.stdout + run.stderr)
			raw := strings.ContainsAny(run.stderr, "\x00\x1b")
			panicked := strings.Contains(run.stderr, "panic:") || strings.Contains(run.stderr, "goroutine ")
			bounded := len(run.stderr) <= 2*len(tc.content)+4096
			happened := fmt.Sprintf("exit %d in %s, %d bytes of errors: %s", run.code, took.Round(time.Millisecond), len(run.stderr), shorten(strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(run.stderr), dir, "$DIR"), "\n", " / "), 200))
			if len(missing) > 0 {
				happened += fmt.Sprintf("; missing %q", missing)
			}
			if len(leaks) > 0 {
				happened += fmt.Sprintf("; LEAKS %v", leaks)
			}
			if raw {
				happened += "; raw control characters in the output"
			}
			m.check(t, group, "--check-config: "+tc.name, "exit 1, every problem as file:line: field path, no secret, no raw control characters, bounded time and output",
				happened, run.code == 1 && len(missing) == 0 && len(leaks) == 0 && !raw && !panicked && bounded && took < 10*time.Second)
		})
	}
}
