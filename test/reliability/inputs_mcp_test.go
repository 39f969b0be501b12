package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// mcpArgRows: hostile tool arguments over streamable HTTP on loopback. Each call must come
// back (in bounded time and size) as a tool error naming the argument, with nothing passed
// to the scanner that is not a loopback address and no file read outside the inventory paths.
func mcpArgRows(t *testing.T, m *matrix) {
	const group = "Bad inputs: MCP tool arguments"
	r := newRig(t, rigOptions{writes: true})
	base := r.serveHTTP()
	c := mcpClient(t, base)
	marker := filepath.Join(t.TempDir(), "pwned")
	// a link and a FIFO inside the inventory directory that lead out of it or never end
	must(t, os.Symlink("/etc/passwd", filepath.Join(r.invDir, "passwd.csv")))
	must(t, os.Symlink("/dev/zero", filepath.Join(r.invDir, "zero.csv")))
	must(t, syscall.Mkfifo(filepath.Join(r.invDir, "pipe.csv"), 0o600))
	huge := strings.Repeat("A", 900<<10) // under the 1 MiB body limit
	cases := []struct {
		name, tool string
		args       map[string]any
		want       string // the argument the error must name
	}{
		{"nmap option as a target: -oN FILE", "scan_subnet", map[string]any{"targets": []any{"-oN " + marker}}, "targets[0]"},
		{"target with a trailing nmap option", "scan_subnet", map[string]any{"targets": []any{"127.0.0.1 -oN " + marker}}, "targets[0]"},
		{"--script as a target", "scan_subnet", map[string]any{"targets": []any{"--script=/tmp/evil.nse"}}, "targets[0]"},
		{"shell injection in a target", "scan_subnet", map[string]any{"targets": []any{"127.0.0.1;touch " + marker}}, "targets[0]"},
		{"nmap option as a port", "scan_subnet", map[string]any{"targets": []any{"127.0.0.1"}, "ports": []any{"22 -oN " + marker}}, "ports[0]"},
		{"port out of range", "scan_subnet", map[string]any{"targets": []any{"127.0.0.1"}, "ports": []any{"1-6553500"}}, "ports[0]"},
		{"the whole IPv4 Internet", "scan_subnet", map[string]any{"targets": []any{"0.0.0.0/0"}}, "0.0.0.0/0"},
		{"10.0.0.0/8 (outside the allowlist)", "scan_subnet", map[string]any{"targets": []any{"10.0.0.0/8"}}, "10.0.0.0/8"},
		{"127.0.0.0/8 (16M hosts, above max_hosts)", "scan_subnet", map[string]any{"targets": []any{"127.0.0.0/8"}}, "127.0.0.0/8"},
		{"one host outside the allowlist (10.0.0.1)", "scan_subnet", map[string]any{"targets": []any{"10.0.0.1"}}, "10.0.0.1"},
		{"loopback host outside the allowlist (127.0.0.9)", "scan_subnet", map[string]any{"targets": []any{"127.0.0.9"}}, "127.0.0.9"},
		{"IPv6 /0", "scan_subnet", map[string]any{"targets": []any{"::/0"}}, "::/0"},
		{"10,000 targets", "scan_subnet", map[string]any{"targets": manyTargets(10000)}, "targets"},
		{"900 KiB target string", "scan_subnet", map[string]any{"targets": []any{huge}}, "targets[0]"},
		{"targets of the wrong type", "scan_subnet", map[string]any{"targets": "127.0.0.1"}, "targets"},
		{"path traversal ../../etc/passwd", "read_inventory", map[string]any{"path": "../../etc/passwd"}, "path"},
		{"absolute path /etc/passwd", "read_inventory", map[string]any{"path": "/etc/passwd"}, "path"},
		{"traversal behind a valid name", "read_inventory", map[string]any{"path": "hosts.csv/../../../../etc/passwd"}, "path"},
		{"symlink inside the directory to /etc/passwd", "read_inventory", map[string]any{"path": "passwd.csv"}, "path"},
		{"symlink to /dev/zero", "read_inventory", map[string]any{"path": "zero.csv"}, "path"},
		{"a FIFO (blocks forever when opened)", "read_inventory", map[string]any{"path": "pipe.csv"}, "path"},
		{"NUL byte in the path", "read_inventory", map[string]any{"path": "hosts.csv\x00.txt"}, "path"},
		{"900 KiB path", "read_inventory", map[string]any{"path": huge}, "path"},
		{"plan id as a path", "get_plan", map[string]any{"plan_id": "../../../etc/passwd"}, "plan_id"},
		{"apply a path as plan id, confirmed", "apply_sync", map[string]any{"plan_id": "../../../etc/passwd", "confirm": true}, "plan_id"},
		{"unknown source in preview", "preview_sync", map[string]any{"sources": []any{"../../x"}}, "sources[0]"},
		{"scope that is not a kind", "preview_sync", map[string]any{"scope": "'; DROP TABLE dcim_device; --"}, "scope"},
		{"negative offset and a huge limit", "discover_proxmox", map[string]any{"offset": -5, "limit": 1_000_000_000}, "offset"},
		{"limit of the wrong type", "discover_homeassistant", map[string]any{"limit": "all"}, "limit"},
		{"unknown TrueNAS instance", "list_truenas_pools", map[string]any{"source": strings.Repeat("../", 1000)}, "source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			start := time.Now()
			res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tc.tool, Arguments: tc.args}})
			took := time.Since(start)
			text := toolText(res)
			reqSize := len(mustJSON(tc.args))
			var happened string
			ok := false
			switch {
			case err != nil:
				happened = "protocol error: " + shorten(err.Error(), 160)
			case !res.IsError:
				happened = "accepted: " + shorten(text, 160)
			default:
				happened = "tool error: " + shorten(strings.ReplaceAll(text, r.invDir, "$DIR"), 160)
				ok = strings.Contains(text, tc.want)
			}
			calls, violations := r.scans.counts()
			_, statErr := os.Stat(marker)
			leakedFile := strings.Contains(text, "root:x:0:0") || strings.Contains(text, "\x00\x00\x00\x00")
			happened += fmt.Sprintf(" (%s, %d bytes)", took.Round(time.Millisecond), len(text))
			if len(violations) > 0 {
				happened += fmt.Sprintf("; SCANNER GOT %q", violations)
			}
			if statErr == nil {
				happened += "; marker file created"
			}
			if leakedFile {
				happened += "; file content returned"
			}
			_ = calls
			m.check(t, group, tc.tool+": "+tc.name, "tool error naming "+tc.want+"; nothing reaches nmap or the file system; bounded",
				happened, ok && len(violations) == 0 && statErr != nil && !leakedFile && took < 15*time.Second && len(text) <= 2*reqSize+64<<10)
		})
	}
	// still serving
	_, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	m.check(t, group, "tools/list after every hostile call", "the server keeps serving", errText(err, "served"), err == nil)
}

func manyTargets(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.%d.%d", i/256%256, i%256)
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func errText(err error, ok string) string {
	if err != nil {
		return "error: " + firstLine(err.Error())
	}
	return ok
}

// rpcRows: malformed JSON-RPC, oversized bodies and missing credentials, posted raw to /mcp.
func rpcRows(t *testing.T, m *matrix) {
	const group = "Bad inputs: HTTP and JSON-RPC"
	r := newRig(t, rigOptions{})
	base := r.serveHTTP()
	session := initSession(t, base)
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	batch := "[" + strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"ping"},`, 10000), ",") + "]"
	cases := []struct {
		name, body string
		headers    map[string]string
		chunked    bool
		want       func(code int, body string) bool
		should     string
	}{
		{"truncated JSON", `{"jsonrpc":"2.0","id":1,"method":`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"not JSON at all", "\x00\x01binary\xff", nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"method is a number", `{"jsonrpc":"2.0","id":1,"method":42}`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"params is a string", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":"x"}`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"unknown method", `{"jsonrpc":"2.0","id":3,"method":"rm -rf /"}`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"tools/call of a tool that does not exist", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"exec","arguments":{"cmd":"id"}}}`, nil, false, isRPCError, "a JSON-RPC error or 4xx"},
		{"batch of 10,000 pings", batch, nil, false, bounded, "an answer or a refusal, bounded"},
		{"2 MiB body with Content-Length", big, nil, false, is413, "413"},
		{"2 MiB body chunked (no Content-Length)", big, nil, true, is413, "413"},
		{"no bearer token", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Authorization": ""}, false, is(401), "401"},
		{"wrong bearer token", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Authorization": "Bearer " + canaryMCP + "x"}, false, is(401), "401"},
		{"foreign Origin (DNS rebinding)", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Origin": "https://evil.example"}, false, is(403), "403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, body, err := postRaw(base, session, tc.body, tc.headers, tc.chunked)
			took := time.Since(start)
			happened := fmt.Sprintf("HTTP %d %s (%s)", code, shorten(strings.TrimSpace(body), 120), took.Round(time.Millisecond))
			if err != nil {
				happened = "error: " + firstLine(err.Error())
			}
			m.check(t, group, tc.name, tc.should+"; the server keeps serving", happened,
				err == nil && tc.want(code, body) && took < 15*time.Second && len(leakedCanaries(body)) == 0)
		})
	}
	c := mcpClient(t, base)
	err := c.Ping(context.Background())
	m.check(t, group, "ping after every malformed request", "the server keeps serving", errText(err, "pong"), err == nil)
}

func isRPCError(code int, body string) bool {
	return code >= 400 && code < 500 || code == 200 && strings.Contains(body, `"error"`)
}
func bounded(code int, body string) bool { return code > 0 && len(body) < 64<<20 }
func is413(code int, _ string) bool      { return code == http.StatusRequestEntityTooLarge }
func is(want int) func(int, string) bool {
	return func(code int, _ string) bool { return code == want }
}

// initSession initializes a session over raw HTTP and returns its id.
func initSession(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+canaryMCP)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("initialize: HTTP %d", resp.StatusCode)
	}
	return resp.Header.Get("Mcp-Session-Id")
}

func postRaw(base, session, body string, headers map[string]string, chunked bool) (int, string, error) {
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/mcp", rd)
	if err != nil {
		return 0, "", err
	}
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+canaryMCP)
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, string(b), err
}
