package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// These tests drive the real transports with raw JSON-RPC, byte for byte what a client
// receives, so the order of notifications and results is the order on the wire.

// rpcMsg is one JSON-RPC message as received.
type rpcMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func (m rpcMsg) isResponse() bool { return len(m.ID) > 0 && m.Method == "" }

func (m rpcMsg) progressToken() string {
	var p struct {
		Token any `json:"progressToken"`
	}
	_ = json.Unmarshal(m.Params, &p)
	return fmt.Sprint(p.Token)
}

// rawStdio serves the server over pipes and reads every line it writes.
type rawStdio struct {
	in    io.WriteCloser
	lines chan rpcMsg
}

func startRawStdio(t *testing.T, srv *Server) *rawStdio {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeStdio(ctx, inR, outW)
		_ = outW.Close()
	}()
	r := &rawStdio{in: inW, lines: make(chan rpcMsg, 10000)}
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var m rpcMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("stdout carried a line that is not JSON-RPC: %q", sc.Text())
				continue
			}
			r.lines <- m
		}
		close(r.lines)
	}()
	t.Cleanup(func() {
		_ = inW.Close()
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("stdio server did not stop")
		}
	})
	return r
}

func (r *rawStdio) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(r.in, msg+"\n"); err != nil {
		t.Fatal(err)
	}
}

// await returns the messages up to and including the response with this id.
func (r *rawStdio) await(t *testing.T, id string) []rpcMsg {
	t.Helper()
	var got []rpcMsg
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m, ok := <-r.lines:
			if !ok {
				t.Fatalf("stdout closed before the response to %s", id)
			}
			got = append(got, m)
			if m.isResponse() && string(m.ID) == id {
				return got
			}
		case <-timeout:
			t.Fatalf("no response to %s", id)
		}
	}
}

func manyVMs(n int) func(*Deps) {
	return func(d *Deps) {
		d.Proxmox = []sources.Source{&fakeSource{name: "pve", adapter: "proxmox", obs: observations("pve", "proxmox", n, sources.KindVM)}}
	}
}

// callStats is what one tool call's notifications looked like on the wire.
type callStats struct {
	progress, late int
	sent           time.Time
	answered       time.Duration
}

// checkNotifications fails when a call's progress arrived after its result or came faster
// than 4 a second, and when it got none at all.
func checkNotifications(t *testing.T, stats map[string]*callStats) {
	t.Helper()
	for tok, st := range stats {
		if st.late > 0 {
			t.Errorf("%s: %d progress notifications arrived after the result", tok, st.late)
		}
		if st.progress == 0 {
			t.Errorf("%s: no progress notification at all", tok)
		}
		if limit := 1 + int(4*st.answered.Seconds()); st.progress > limit {
			t.Errorf("%s: %d progress notifications in %v (more than 4 a second)", tok, st.progress, st.answered)
		}
	}
}

// Fault 1 over stdio: every progress notification of a call comes before its result, and a
// discovery that reports 2,000 items sends at most 4 a second.
func TestStdioNotificationsBeforeResult(t *testing.T) {
	f := newFixture(t, Config{}, manyVMs(2000))
	r := startRawStdio(t, f.srv)
	r.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	r.await(t, "1")
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	r.send(t, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`)
	r.await(t, "2")

	const calls = 10
	stats := map[string]*callStats{}
	byID := map[string]string{}
	for i := range calls {
		tok, id := fmt.Sprintf("p-%d", i), fmt.Sprint(100+i)
		stats[tok], byID[id] = &callStats{sent: time.Now()}, tok
		r.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"discover_proxmox","arguments":{"limit":1},"_meta":{"progressToken":%q}}}`, id, tok))
	}
	answered := map[string]bool{}
	timeout := time.After(2 * time.Minute)
	for len(answered) < calls {
		select {
		case m, ok := <-r.lines:
			if !ok {
				t.Fatal("stdout closed")
			}
			switch {
			case m.Method == "notifications/progress":
				tok := m.progressToken()
				st := stats[tok]
				if st == nil {
					t.Fatalf("progress for unknown token %q", tok)
				}
				st.progress++
				if answered[tok] {
					st.late++
				}
			case m.isResponse():
				tok := byID[string(m.ID)]
				if len(m.Error) > 0 || tok == "" {
					t.Fatalf("response %s: %s", m.ID, m.Error)
				}
				answered[tok] = true
				stats[tok].answered = time.Since(stats[tok].sent)
			}
		case <-timeout:
			t.Fatalf("only %d of %d calls answered", len(answered), calls)
		}
	}
	// Anything still on its way for an answered call would be late.
	drain := time.After(300 * time.Millisecond)
	for draining := true; draining; {
		select {
		case m := <-r.lines:
			if m.Method == "notifications/progress" {
				stats[m.progressToken()].late++
			}
		case <-drain:
			draining = false
		}
	}
	checkNotifications(t, stats)
}

// sseMessages splits an SSE (or plain JSON) response body into its JSON-RPC messages.
func sseMessages(t *testing.T, body string) []rpcMsg {
	t.Helper()
	var out []rpcMsg
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		var m rpcMsg
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		return []rpcMsg{m}
	}
	for line := range strings.SplitSeq(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var m rpcMsg
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("SSE data %q: %v", data, err)
		}
		out = append(out, m)
	}
	return out
}

// httpSession initializes a session-era session over raw HTTP and returns its headers.
func httpSession(t *testing.T, h *httpFixture, level string) map[string]string {
	t.Helper()
	resp, body := h.post(t, "/mcp", initializeBody, bearer)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %q %s", resp.StatusCode, sid, body)
	}
	hdr := map[string]string{"Authorization": bearer["Authorization"], "Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-11-25"}
	if resp, body := h.post(t, "/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, hdr); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", resp.StatusCode, body)
	}
	if level != "" {
		if resp, body := h.post(t, "/mcp", `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"`+level+`"}}`, hdr); resp.StatusCode != http.StatusOK {
			t.Fatalf("setLevel: %d %s", resp.StatusCode, body)
		}
	}
	return hdr
}

// Fault 1 over streamable HTTP: the "plan …" log message of every preview and every
// progress notification of a discovery are in the response stream before the result.
func TestHTTPNotificationsBeforeResult(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken)}, manyVMs(2000))
	hdr := httpSession(t, h, "info")
	for i := range 10 {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"preview_sync","arguments":{},"_meta":{"progressToken":"pv-%d"}}}`, 10+i, i)
		_, got := h.post(t, "/mcp", body, hdr)
		msgs := sseMessages(t, got)
		if len(msgs) == 0 || !msgs[len(msgs)-1].isResponse() {
			t.Fatalf("preview %d: the stream does not end with the result: %s", i, got)
		}
		logged := false
		for _, m := range msgs {
			if m.Method == "notifications/message" && strings.Contains(string(m.Params), `"plan plan-`) {
				logged = true
			}
		}
		if !logged {
			t.Errorf("preview %d: the plan log message is not in the stream before the result:\n%s", i, got)
		}
	}
	stats := map[string]*callStats{}
	for i := range 5 {
		tok := fmt.Sprintf("d-%d", i)
		st := &callStats{sent: time.Now()}
		stats[tok] = st
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"discover_proxmox","arguments":{"limit":1},"_meta":{"progressToken":%q}}}`, 50+i, tok)
		_, got := h.post(t, "/mcp", body, hdr)
		st.answered = time.Since(st.sent)
		answered := false
		for _, m := range sseMessages(t, got) {
			switch {
			case m.isResponse():
				answered = true
			case m.Method == "notifications/progress":
				st.progress++
				if answered {
					st.late++
				}
			}
		}
	}
	checkNotifications(t, stats)
}

// Fault 2: a session lives from its initialize until its DELETE; ids the server did not
// issue are refused; a request without a session id after initialize is a 400.
func TestHTTPSessionLifecycle(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken)})
	hdr := httpSession(t, h, "")
	list := `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
	with := func(sid string) map[string]string {
		m := map[string]string{"Authorization": bearer["Authorization"], "Mcp-Protocol-Version": "2025-11-25"}
		if sid != "" {
			m["Mcp-Session-Id"] = sid
		}
		return m
	}
	tests := []struct {
		name string
		sid  string
		want int
	}{
		{"own session", hdr["Mcp-Session-Id"], http.StatusOK},
		{"no session id", "", http.StatusBadRequest},
		{"well-formed id never issued", "mcp-session-2b7c1f0e-9d4a-4e3b-8c51-0a6f7e2d9b13", http.StatusNotFound},
		{"garbage id", "nope", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := h.post(t, "/mcp", list, with(tt.sid)); resp.StatusCode != tt.want {
				t.Fatalf("tools/list: %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodDelete, h.url+"/mcp", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if resp, body := h.post(t, "/mcp", list, hdr); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("tools/list after DELETE: %d, want 404: %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(t, "/mcp", with("")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET without a session id: %d, want 400", resp.StatusCode)
	}
}

// httpClient connects mcp-go's streamable HTTP client on protocol version v.
func httpClient(t *testing.T, h *httpFixture, v string, opts ...client.ClientOption) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(h.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + testToken}), transport.WithContinuousListening())
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, append([]client.ClientOption{client.WithProtocolVersion(v)}, opts...)...)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: v, ClientInfo: mcp.Implementation{Name: "test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// Fault 5: when the client can ask the person, the person decides; the model's
// confirm: true does not stand in for them.
func TestHTTPPersonDecidesOverConfirm(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true})
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			no := &yesMan{action: mcp.ElicitationResponseActionDecline}
			c := httpClient(t, h, v, client.WithElicitationHandler(no))
			var prev PreviewOutput
			call(t, c, "preview_sync", map[string]any{}, &prev)
			before := len(h.syncer.appliedPlans())
			var out ApplyOutput
			res := call(t, c, "apply_sync", map[string]any{"plan_id": prev.PlanID, "confirm": true}, &out)
			if res.IsError || out.Status != "declined" {
				t.Fatalf("status %q, want declined: %s", out.Status, resultText(res))
			}
			if len(no.questions()) != 1 {
				t.Fatalf("the person was asked %d times, want once", len(no.questions()))
			}
			if got := len(h.syncer.appliedPlans()); got != before {
				t.Fatalf("the plan was applied although the person declined")
			}
		})
	}
}

// Fault 6 and 8: argument errors name the field and the rule in words; the server does not
// advertise elicitation (a client capability) among its own.
func TestHTTPReadableArgumentErrors(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true})
	c := httpClient(t, h, mcp.ProtocolVersion20251125)
	if caps := c.GetServerCapabilities(); caps.Elicitation != nil {
		t.Errorf("initialize advertises elicitation among the server's capabilities")
	}
	tests := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"get_plan", map[string]any{"limit": 500}, "get_plan: invalid arguments: limit: must be at most 200 (got 500)"},
		{"discover_proxmox", map[string]any{"offset": -1}, "offset: must be at least 0 (got -1)"},
		{"discover_proxmox", map[string]any{"kind": "toaster"}, "kind: must be one of device, virtual_machine, host (got toaster)"},
		{"discover_proxmox", map[string]any{"limit": "ten"}, "limit: must be an integer (got string)"},
		{"scan_subnet", map[string]any{"targets": []any{}}, "targets: needs at least 1 items (got 0)"},
		{"apply_sync", map[string]any{}, "missing required argument plan_id"},
	}
	for _, tt := range tests {
		t.Run(tt.tool+"/"+tt.want, func(t *testing.T) {
			res := call(t, c, tt.tool, tt.args, nil)
			text := resultText(res)
			if !res.IsError || !strings.Contains(text, tt.want) || strings.Contains(text, "&{") {
				t.Fatalf("got %q, want an error containing %q", text, tt.want)
			}
		})
	}
}

// Every conversation pays for tools/list: with every backend configured it stays within
// 4,000 tokens (bytes/4) as a stdio client receives it.
func TestToolsListBudget(t *testing.T) {
	f := newFixture(t, Config{WritesEnabled: true})
	r := startRawStdio(t, f.srv)
	r.send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	r.await(t, "1")
	r.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	r.send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	msgs := r.await(t, "2")
	resp := msgs[len(msgs)-1]
	var list struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(resp.Result, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != len(f.srv.Tools()) || len(list.Tools) < 10 {
		t.Fatalf("%d tools listed", len(list.Tools))
	}
	t.Logf("tools/list: %d tools, %d bytes (~%d tokens)", len(list.Tools), len(resp.Result), len(resp.Result)/4)
	if len(resp.Result) > 16000 {
		t.Fatalf("tools/list is %d bytes (~%d tokens), over 4,000 tokens", len(resp.Result), len(resp.Result)/4)
	}
}

// Completions over HTTP: plan ids for the plan resources and the explain_conflicts prompt,
// source names (the last of a comma-separated list) for review_changes.
func TestHTTPCompletions(t *testing.T) {
	h := startHTTP(t, Config{AuthToken: secret.New(testToken), WritesEnabled: true})
	c := httpClient(t, h, mcp.ProtocolVersion20251125)
	var prev PreviewOutput
	call(t, c, "preview_sync", map[string]any{}, &prev)
	tests := []struct {
		name string
		ref  any
		arg  mcp.CompleteArgument
		want string
	}{
		{"plan resource", mcp.ResourceReference{Type: "ref/resource", URI: resourcePlanTmpl}, mcp.CompleteArgument{Name: "id", Value: "plan"}, prev.PlanID},
		{"plan page resource", mcp.ResourceReference{Type: "ref/resource", URI: resourcePlanPageTmpl}, mcp.CompleteArgument{Name: "id", Value: ""}, prev.PlanID},
		{"prompt plan id", mcp.PromptReference{Type: "ref/prompt", Name: "explain_conflicts"}, mcp.CompleteArgument{Name: "plan_id", Value: "pl"}, prev.PlanID},
		{"prompt sources", mcp.PromptReference{Type: "ref/prompt", Name: "review_changes"}, mcp.CompleteArgument{Name: "sources", Value: "p"}, "pve"},
		{"prompt second source", mcp.PromptReference{Type: "ref/prompt", Name: "review_changes"}, mcp.CompleteArgument{Name: "sources", Value: "pve,h"}, "pve, ha"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Complete(t.Context(), mcp.CompleteRequest{Params: mcp.CompleteParams{Ref: tt.ref, Argument: tt.arg}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(res.Completion.Values, tt.want) {
				t.Fatalf("completions %v lack %q", res.Completion.Values, tt.want)
			}
		})
	}
}

// A result over 256 KB never reaches the client: it gets a readable refusal instead.
func TestResultSizeLimit(t *testing.T) {
	f := newFixture(t, Config{})
	type big struct {
		Blob string `json:"blob"`
	}
	addTool(f.srv, toolSpec{name: "huge"},
		func(context.Context, mcp.CallToolRequest, struct{}) (big, error) {
			return big{Blob: strings.Repeat("x", maxResultBytes)}, nil
		})
	c := connect(t, f.srv, versions[0])
	res := call(t, c, "huge", map[string]any{}, nil)
	if !res.IsError || !strings.Contains(resultText(res), "over the 262144-byte limit") {
		t.Fatalf("a result over the limit: error %v, %.200s", res.IsError, resultText(res))
	}
}

// A tool error that echoes a huge input keeps its first words (the field and the problem)
// and is cut after maxErrorText, instead of being replaced by the size refusal.
func TestLongErrorIsCutNotReplaced(t *testing.T) {
	f := newFixture(t, Config{})
	addTool(f.srv, toolSpec{name: "echoes"},
		func(context.Context, mcp.CallToolRequest, struct{}) (struct{}, error) {
			return struct{}{}, fmt.Errorf("target: %s is not an address", strings.Repeat("x", 2*maxResultBytes))
		})
	c := connect(t, f.srv, versions[0])
	res := call(t, c, "echoes", map[string]any{}, nil)
	text := resultText(res)
	if !res.IsError || !strings.HasPrefix(text, "echoes: target: xxx") || !strings.Contains(text, "bytes cut)") || len(text) > maxErrorText+100 {
		t.Fatalf("error %v, %d bytes: %.120s … %.80s", res.IsError, len(text), text, text[max(0, len(text)-80):])
	}
}
