package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

const testToken = "tok-3c9e0b1d-test"

type httpFixture struct {
	*fixture
	url     string // base URL, no path
	stop    context.CancelFunc
	stopped chan error
}

// startHTTP serves a fixture on a loopback port until the test ends.
func startHTTP(t *testing.T, cfg Config, mutate ...func(*Deps)) *httpFixture {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	f := newFixture(t, cfg, mutate...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &httpFixture{fixture: f, url: "http://" + ln.Addr().String(), stop: cancel, stopped: make(chan error, 1)}
	go func() { h.stopped <- f.srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.stopped:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return h
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func (h *httpFixture) post(t *testing.T, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (h *httpFixture) get(t *testing.T, path string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var bearer = map[string]string{"Authorization": "Bearer " + testToken}

func TestHTTPAuth(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken)})
	tests := []struct {
		name       string
		headers    map[string]string
		wantStatus int
		wantAuth   string
	}{
		{"no token", nil, http.StatusUnauthorized, `Bearer realm="netbox-agent"`},
		{"wrong token", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized, `error="invalid_token"`},
		{"token prefix", map[string]string{"Authorization": "Bearer " + testToken[:5]}, http.StatusUnauthorized, `error="invalid_token"`},
		{"basic auth", map[string]string{"Authorization": "Basic " + testToken}, http.StatusUnauthorized, "Bearer"},
		{"right token", bearer, http.StatusOK, ""},
		{"right token, lower-case scheme", map[string]string{"Authorization": "bearer " + testToken}, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post(t, "/mcp", initializeBody, tt.headers)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wantAuth) {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wantAuth)
			}
			if strings.Contains(body, testToken) {
				t.Fatal("token echoed")
			}
		})
	}
	if resp, _ := h.get(t, "/metrics", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without token: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, "/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	if strings.Contains(h.logs.String(), testToken) {
		t.Fatal("token in the logs")
	}
}

func TestHTTPOriginAndHost(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), AllowedOrigins: []string{"https://claude.example"}})
	host := strings.TrimPrefix(h.url, "http://")
	tests := []struct {
		name   string
		extra  map[string]string
		status int
	}{
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"null origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"lookalike origin", map[string]string{"Origin": "https://claude.example.evil.example"}, http.StatusForbidden},
		{"configured origin", map[string]string{"Origin": "https://claude.example"}, http.StatusOK},
		{"same origin", map[string]string{"Origin": "http://" + host}, http.StatusOK},
		{"no origin (not a browser)", nil, http.StatusOK},
		{"rebinding host", map[string]string{"Host": "evil.example.com"}, http.StatusForbidden},
		{"rebinding host and origin", map[string]string{"Host": "evil.example.com", "Origin": "http://evil.example.com"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{"Authorization": "Bearer " + testToken}
			for k, v := range tt.extra {
				headers[k] = v
			}
			resp, body := h.post(t, "/mcp", initializeBody, headers)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
		})
	}
}

func TestHTTPBadRequestsKeepServing(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), MaxBodyBytes: 4096})
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 8192) + `"}}`
	resp, body := h.post(t, "/mcp", big, bearer)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d %s", resp.StatusCode, body)
	}
	// Without a Content-Length (chunked), the limit still holds.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/mcp", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	chunked, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	chunked.Body.Close()
	if chunked.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked: %d", chunked.StatusCode)
	}
	for _, bad := range []string{`{"jsonrpc":"2.0","id":1,"method":`, `[1,2`, `not json at all`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"x"}`} {
		resp, body := h.post(t, "/mcp", bad, bearer)
		if resp.StatusCode < 400 && !strings.Contains(body, `"error"`) {
			t.Fatalf("malformed %q: %d %s", bad, resp.StatusCode, body)
		}
	}
	// Still serving.
	c := h.client(t, mcp.ProtocolVersion20251125, testToken)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("ping after bad requests: %v", err)
	}
}

func (h *httpFixture) client(t *testing.T, version, token string) *client.Client {
	t.Helper()
	opts := []transport.StreamableHTTPCOption{}
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	tr, err := transport.NewStreamableHTTP(h.url+"/mcp", opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(version))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: version, ClientInfo: mcp.Implementation{Name: "http-test", Version: "1"}}}); err != nil {
		t.Fatalf("initialize over HTTP (%s): %v", version, err)
	}
	return c
}

// TestHTTPNoSecretAnywhere drives every tool, resource and prompt over HTTP with a canary
// secret in the config and in a failing source's error, then looks for it everywhere.
func TestHTTPNoSecretAnywhere(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true}, func(d *Deps) {
				d.Ready = func(context.Context) error {
					return fmt.Errorf("netbox http://127.0.0.1:1/?token=%s: connection refused", canary)
				}
			})
			c := h.client(t, v, testToken)
			var seen strings.Builder
			record := func(v any) {
				b, _ := json.Marshal(v)
				seen.Write(b)
				seen.WriteByte('\n')
			}
			calls := []struct {
				tool string
				args map[string]any
			}{
				{"discover_proxmox", map[string]any{}},
				{"discover_proxmox", map[string]any{"source": "pve-broken"}},
				{"discover_homeassistant", map[string]any{}},
				{"list_truenas_pools", map[string]any{}},
				{"scan_subnet", map[string]any{"targets": []string{"198.18.0.0/28"}}},
				{"read_inventory", map[string]any{}},
				{"preview_sync", map[string]any{}},
				{"get_plan", map[string]any{}},
				{"apply_sync", map[string]any{"plan_id": "plan-1"}},
				{"apply_sync", map[string]any{"plan_id": "plan-1", "confirm": true}},
				{"sync_status", map[string]any{"check_sources": true}},
			}
			for _, cl := range calls {
				res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: cl.tool, Arguments: cl.args}})
				if err != nil {
					t.Fatalf("%s over HTTP: %v", cl.tool, err)
				}
				record(res)
			}
			for _, uri := range []string{ResourceConfig, ResourceLastPlan, ResourceLastRun} {
				res, err := c.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
				if err != nil {
					t.Fatalf("%s: %v", uri, err)
				}
				record(res)
			}
			p, err := c.GetPrompt(t.Context(), mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: "review_changes"}})
			if err != nil {
				t.Fatal(err)
			}
			record(p)
			_, readyz := h.get(t, "/readyz", nil)
			_, metrics := h.get(t, "/metrics", bearer)
			seen.WriteString(readyz + metrics)
			all := seen.String() + h.logs.String()
			if strings.Contains(all, canary) || strings.Contains(all, testToken) {
				t.Fatalf("secret leaked:\n%s", all)
			}
			// The runs really happened (a test that sees nothing proves nothing).
			for _, want := range []string{`"plan_id":"plan-1"`, "pve-broken", "[redacted]", "not ready", "netbox_agent_mcp_tool_calls_total"} {
				if !strings.Contains(all, want) {
					t.Fatalf("missing %q in what the server said", want)
				}
			}
		})
	}
}

func TestHTTPHealthReadyMetrics(t *testing.T) {
	ready := make(chan error, 1)
	ready <- fmt.Errorf("netbox unreachable")
	h := startHTTP(t, Config{AuthToken: secret.New(testToken)}, func(d *Deps) {
		d.Ready = func(context.Context) error {
			select {
			case err := <-ready:
				return err
			default:
				return nil
			}
		}
	})
	if resp, body := h.get(t, "/readyz", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "netbox unreachable") {
		t.Fatalf("/readyz not ready: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.get(t, "/readyz", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz ready: %d %s", resp.StatusCode, body)
	}
	m := h.srv.Metrics()
	m.ObserveNetBoxRequest("GET", "/api/dcim/devices/12/?limit=5", 200, 30*time.Millisecond)
	m.ObserveNetBoxRequest("POST", "/api/dcim/devices/", 400, 10*time.Millisecond)
	c := h.client(t, mcp.ProtocolVersion20251125, testToken)
	var prev PreviewOutput
	res, _ := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &prev)
	_, _ = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "discover_proxmox", Arguments: map[string]any{}}})
	resp, body := h.get(t, "/metrics", bearer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`netbox_agent_netbox_requests_total{method="GET",status="200"} 1`,
		`netbox_agent_netbox_requests_total{method="POST",status="400"} 1`,
		`netbox_agent_netbox_request_duration_seconds_count{endpoint="/api/dcim/devices/",method="GET"} 1`,
		`netbox_agent_plan_actions{op="create"} 5`,
		`netbox_agent_conflicts 1`,
		`netbox_agent_discovery_observations{adapter="proxmox",source="pve"} 5`,
		`netbox_agent_discovery_errors_total{adapter="proxmox",source="pve-broken"} 1`,
		`netbox_agent_discovery_duration_seconds_count{adapter="proxmox",source="pve"} 1`,
		`netbox_agent_mcp_tool_calls_total{outcome="ok",tool="preview_sync"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestHTTPToolsBothVersions(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true})
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			c := h.client(t, v, testToken)
			tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
			if err != nil || len(tools.Tools) != len(allTools) {
				t.Fatalf("tools/list: %v %d", err, len(tools.Tools))
			}
			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
			if err != nil || res.IsError {
				t.Fatalf("preview_sync: %v %s", err, resultText(res))
			}
			id := res.StructuredContent.(map[string]any)["plan_id"].(string)
			res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": id}}})
			if err != nil || !res.IsError || !strings.Contains(resultText(res), "not confirmed") {
				t.Fatalf("apply without confirmation over HTTP: %v %s", err, resultText(res))
			}
			res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": id, "confirm": true}}})
			if err != nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "applied" {
				t.Fatalf("apply over HTTP: %v %s", err, resultText(res))
			}
		})
	}
}

// An elicitation round trip over real HTTP on both protocol eras (server-initiated request
// on 2025-11-25, input_required retry on 2026-07-28).
func TestHTTPElicitation(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true})
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			answer := &yesMan{action: mcp.ElicitationResponseActionAccept, content: map[string]any{"confirm": true}}
			tr, err := transport.NewStreamableHTTP(h.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + testToken}), transport.WithContinuousListening())
			if err != nil {
				t.Fatal(err)
			}
			c := client.NewClient(tr, client.WithProtocolVersion(v), client.WithElicitationHandler(answer))
			t.Cleanup(func() { _ = c.Close() })
			if err := c.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: v, ClientInfo: mcp.Implementation{Name: "elicit", Version: "1"}}}); err != nil {
				t.Fatal(err)
			}
			res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
			if err != nil || res.IsError {
				t.Fatalf("preview: %v", err)
			}
			id := res.StructuredContent.(map[string]any)["plan_id"].(string)
			res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": id}}})
			if err != nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "applied" {
				t.Fatalf("apply with elicitation: %v %s", err, resultText(res))
			}
			if len(answer.questions()) != 1 {
				t.Fatalf("asked %d times", len(answer.questions()))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"stdio only", Config{}, ""},
		{"loopback with token", Config{Listen: "127.0.0.1:8080", AuthToken: secret.New("t0k3n")}, ""},
		{"loopback, auth explicitly off", Config{Listen: "localhost:8080", AllowUnauthenticatedLoopback: true}, ""},
		{"ipv6 loopback, auth explicitly off", Config{Listen: "[::1]:8080", AllowUnauthenticatedLoopback: true}, ""},
		{"loopback without token", Config{Listen: "127.0.0.1:8080"}, "auth_token: required"},
		{"all interfaces without token", Config{Listen: ":8080", AllowUnauthenticatedLoopback: true}, `auth_token: required when listen ":8080" is not a loopback address`},
		{"lan address without token", Config{Listen: "192.168.1.5:8080", AllowUnauthenticatedLoopback: true}, "is not a loopback address"},
		{"host name", Config{Listen: "example.com:8080", AuthToken: secret.New("t0k3n")}, `listen: "example.com:8080"`},
		{"no port", Config{Listen: "127.0.0.1", AuthToken: secret.New("t0k3n")}, `listen: "127.0.0.1"`},
		{"bad origin", Config{AllowedOrigins: []string{"claude.example"}}, `allowed_origins[0]: "claude.example"`},
		{"origin with path", Config{AllowedOrigins: []string{"https://a.example/x"}}, `allowed_origins[0]`},
		{"tls half", Config{TLSCertFile: "c.pem"}, "tls_cert_file"},
		{"negative body", Config{MaxBodyBytes: -1}, "max_body_bytes: -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.cfg.Validate()
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			got := strings.Join(msgs, "; ")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("Validate() = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "t0k3n") {
				t.Fatal("secret in a validation error")
			}
		})
	}
}

func TestRefusesToServeWithoutToken(t *testing.T) {
	s, err := New(Config{}, Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Listen = "0.0.0.0:0" // as if the config changed after New
	err = s.ListenAndServe(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "auth_token: required") {
		t.Fatalf("served without a token on all interfaces: %v", err)
	}
	if _, err := New(Config{Listen: "0.0.0.0:8080"}, Deps{}, nil); err == nil {
		t.Fatal("New accepted a non-loopback listen address without a token")
	}
}

func TestUnauthenticatedLoopback(t *testing.T) {
	h := startHTTP(t, Config{AllowUnauthenticatedLoopback: true})
	c := h.client(t, mcp.ProtocolVersion20251125, "")
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("loopback without auth: %v", err)
	}
}

// A shutdown lets a running apply run for the grace period, then cancels it; the apply
// returns its report (cancelled) and the server stops.
func TestGracefulShutdownCancelsApply(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true, ShutdownGrace: 300 * time.Millisecond})
	h.syncer.blockApply = true
	h.syncer.applyStart = make(chan struct{})
	c := h.client(t, mcp.ProtocolVersion20251125, testToken)
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
	if err != nil || res.IsError {
		t.Fatal(err)
	}
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": "plan-1", "confirm": true}}})
		done <- res
	}()
	<-h.syncer.applyStart
	start := time.Now()
	h.stop()
	select {
	case err := <-h.stopped:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
		h.stopped <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("stopped after %s, before the grace period", d)
	}
	r := h.srv.lastReport()
	if r == nil || !r.Cancelled {
		t.Fatalf("apply report after shutdown: %+v", r)
	}
	select {
	case res := <-done:
		if res != nil && !res.IsError && res.StructuredContent.(map[string]any)["status"] != "cancelled" {
			t.Fatalf("apply result: %s", resultText(res))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("apply call never returned")
	}
}

// Over stdio only protocol goes to stdout: every line is a JSON-RPC message.
func TestStdioOnlyProtocolOnStdout(t *testing.T) {
	f := newFixture(t, Config{WritesEnabled: true})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- f.srv.ServeStdio(ctx, inR, outW) }()

	var lines []string
	linesDone := make(chan struct{})
	clientR, clientW := io.Pipe()
	go func() {
		defer close(linesDone)
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			_, _ = clientW.Write(append(sc.Bytes(), '\n'))
		}
		clientW.Close()
	}()
	c := client.NewClient(transport.NewIO(clientR, inW, io.NopCloser(strings.NewReader(""))), client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125, ClientInfo: mcp.Implementation{Name: "stdio", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"discover_proxmox", "preview_sync"} {
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: map[string]any{}}})
		if err != nil || res.IsError {
			t.Fatalf("%s over stdio: %v", name, err)
		}
	}
	_ = c.Close()
	inW.Close()
	cancel()
	<-served
	outW.Close()
	<-linesDone
	if len(lines) < 3 {
		t.Fatalf("only %d lines on stdout", len(lines))
	}
	for _, l := range lines {
		var msg map[string]any
		if err := json.Unmarshal([]byte(l), &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Fatalf("non-protocol line on stdout: %q", l)
		}
	}
	if !strings.Contains(f.logs.String(), "discovered") {
		t.Fatal("logs did not go to the logger")
	}
}

// A shutdown while an apply runs lets it finish within the grace period.
func TestGracefulShutdownFinishesApply(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true, ShutdownGrace: 10 * time.Second})
	h.syncer.applyDelay = 400 * time.Millisecond
	h.syncer.applyStart = make(chan struct{})
	c := h.client(t, mcp.ProtocolVersion20251125, testToken)
	if res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}}); err != nil || res.IsError {
		t.Fatal(err)
	}
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": "plan-1", "confirm": true}}})
		done <- res
	}()
	<-h.syncer.applyStart
	h.stop()
	select {
	case res := <-done:
		if res == nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "applied" {
			t.Fatalf("apply during shutdown: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("apply never returned")
	}
	if err := <-h.stopped; err != nil {
		t.Fatal(err)
	}
	h.stopped <- nil
	if r := h.srv.lastReport(); r == nil || r.Cancelled || len(r.Results) != 7 {
		t.Fatalf("report: %+v", r)
	}
}

func TestHTTPWithTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeSelfSigned(t, certFile, keyFile)
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), TLSCertFile: certFile, TLSKeyFile: keyFile})
	url := strings.Replace(h.url, "http://", "https://", 1)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("https /healthz: %d tls=%v", resp.StatusCode, resp.TLS != nil)
	}
	tr, err := transport.NewStreamableHTTP(url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + testToken}), transport.WithHTTPBasicClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125, ClientInfo: mcp.Implementation{Name: "tls", Version: "1"}}}); err != nil {
		t.Fatalf("initialize over TLS: %v", err)
	}
	// Plain HTTP to the TLS port gets no MCP answer.
	if resp, err := http.Get(h.url + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netbox-agent test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func TestReadiness(t *testing.T) {
	calls := 0
	var fail error
	up := func(context.Context) error { calls++; return fail }
	if err := Readiness(up, 0)(t.Context()); err == nil || !strings.Contains(err.Error(), "no sources") {
		t.Fatalf("no sources: %v", err)
	}
	fail = fmt.Errorf("dial tcp 127.0.0.1:1: connection refused")
	ready := Readiness(up, 2)
	if err := ready(t.Context()); err == nil || !strings.Contains(err.Error(), "netbox not reachable: dial tcp") {
		t.Fatalf("netbox down: %v", err)
	}
	fail = nil
	if err := ready(t.Context()); err == nil || calls != 1 {
		t.Fatalf("answer not cached: %v after %d calls", err, calls)
	}
	if err := Readiness(up, 2)(t.Context()); err != nil {
		t.Fatalf("ready: %v", err)
	}
}

// On stdio too, a shutdown lets a running apply finish and answer.
func TestStdioShutdownFinishesApply(t *testing.T) {
	f := newFixture(t, Config{WritesEnabled: true, ShutdownGrace: 10 * time.Second})
	f.syncer.applyDelay = 300 * time.Millisecond
	f.syncer.applyStart = make(chan struct{})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- f.srv.ServeStdio(ctx, inR, outW) }()
	c := client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))), client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.ProtocolVersion20251125, ClientInfo: mcp.Implementation{Name: "stdio", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}}); err != nil || res.IsError {
		t.Fatal(err)
	}
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, _ := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "apply_sync", Arguments: map[string]any{"plan_id": "plan-1", "confirm": true}}})
		done <- res
	}()
	<-f.syncer.applyStart
	cancel() // SIGTERM
	select {
	case res := <-done:
		if res == nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "applied" {
			t.Fatalf("apply during stdio shutdown: %+v", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("apply never answered")
	}
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("ServeStdio did not return")
	}
	_ = c.Close()
	inW.Close()
	outW.Close()
}

func TestConfigYAML(t *testing.T) {
	var cfg Config
	doc := `
listen: 127.0.0.1:8443
auth_token: s3cr3t-from-file
allow_unauthenticated_loopback: false
allowed_origins: [https://claude.example]
tls_cert_file: /etc/a.crt
tls_key_file: /etc/a.key
writes_enabled: true
max_body_bytes: 2048
shutdown_grace: 45s
`
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if cfg.Listen != "127.0.0.1:8443" || cfg.AuthToken.Reveal() != "s3cr3t-from-file" || !cfg.WritesEnabled || cfg.MaxBodyBytes != 2048 ||
		cfg.ShutdownGrace != 45*time.Second || cfg.AllowedOrigins[0] != "https://claude.example" || cfg.TLSKeyFile != "/etc/a.key" {
		t.Fatalf("decoded %+v", cfg)
	}
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatalf("valid config refused: %v", errs)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil || strings.Contains(string(out), "s3cr3t") {
		t.Fatalf("config printed its token: %s", out)
	}
	var defaults Config
	defaults.SetDefaults()
	if defaults.WritesEnabled || defaults.MaxBodyBytes != DefaultMaxBodyBytes || defaults.ShutdownGrace != DefaultShutdownGrace {
		t.Fatalf("defaults: %+v", defaults)
	}
}
