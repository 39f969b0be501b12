package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
)

// The stdio mode answers MCP on stdout and writes nothing else there.
func TestStdioServesOnlyProtocolOnStdout(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	env["MCP_TOKEN"] = canary
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_inventory","arguments":{}}}`,
	}, "\n") + "\n"
	pr, pw := io.Pipe()
	out := &watchWriter{want: `"id":3`, seen: make(chan struct{})}
	go func() {
		pw.Write([]byte(in))
		select { // stdin closes once the last answer is out
		case <-out.seen:
		case <-time.After(60 * time.Second):
		}
		pw.Close()
	}()
	var errb bytes.Buffer
	code := run(context.Background(), []string{"--config", cfg, "--log-level", "debug"}, pr, out, &errb, env)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	ids := map[float64]json.RawMessage{}
	sc := bufio.NewScanner(bytes.NewReader(out.bytes()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var msg struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      *float64        `json:"id"`
			Result  json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg.JSONRPC != "2.0" {
			t.Fatalf("stdout carries a line that is not JSON-RPC: %q", sc.Text())
		}
		if msg.ID != nil {
			ids[*msg.ID] = msg.Result
		}
	}
	var tools struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(ids[2], &tools); err != nil {
		t.Fatalf("tools/list: %v (%s)", err, ids[2])
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	got := strings.Join(names, ",")
	for _, want := range []string{"read_inventory", "preview_sync", "apply_sync", "sync_status"} {
		if !strings.Contains(got, want) {
			t.Errorf("tool %s not offered: %s", want, got)
		}
	}
	// No Proxmox configured: its tool is not registered rather than faked.
	if strings.Contains(got, "discover_proxmox") {
		t.Errorf("discover_proxmox offered without a Proxmox source: %s", got)
	}
	if !strings.Contains(string(ids[3]), "pve1") {
		t.Errorf("read_inventory did not return the inventory: %.300s", ids[3])
	}
	if strings.Contains(string(out.bytes())+errb.String(), canary) {
		t.Fatal("a secret appeared in the output")
	}
}

func TestHTTPModeServesHealthAndRefusesWithoutToken(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	env["MCP_TOKEN"] = canary
	addr := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--http", addr}, strings.NewReader(""), io.Discard, &errb, env)
	}()
	base := "http://" + addr
	var resp *http.Response
	var err error
	for range 100 {
		if resp, err = http.Get(base + "/healthz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("server never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	// readyz: NetBox is reachable and a source is configured.
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", resp, err)
	}
	req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/mcp without a token: %v %v, want 401", resp, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d after shutdown\n%s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop")
	}
	if strings.Contains(errb.String(), canary) {
		t.Fatal("the MCP token appeared in the logs")
	}
}

func TestHTTPModeRefusesPublicAddressWithoutToken(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	code, _, errOut := runCLI(t, env, "--config", cfg, "--http", "0.0.0.0:0")
	if code != exitFailure || !strings.Contains(errOut, "auth_token") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}

// watchWriter collects output and closes seen once want has been written.
type watchWriter struct {
	mu   gosync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once gosync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *watchWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}
