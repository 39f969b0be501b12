package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
)

// stateErrors are tool errors that come from the server's state, not from an argument (no
// plan previewed yet, a confirmation the person did not give): they need not name one.
var stateErrors = []string{"no plan yet", "not confirmed"}

// FuzzToolArguments calls every tool through the in-process MCP client with fuzzed JSON
// arguments. Nothing may panic (the server recovers panics into errors, so "panic" in any
// answer fails), every refusal must be a tool error (never a protocol error for a JSON
// object) that names the argument at fault, and the canary secret never appears.
func FuzzToolArguments(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts.yaml"), []byte("alpha\nbeta\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	pve := &fakeSource{name: "pve", adapter: "proxmox", obs: observations("pve", "proxmox", 5, sources.KindVM)}
	ha := &fakeSource{name: "ha", adapter: "homeassistant", obs: observations("ha", "homeassistant", 2, sources.KindDevice)}
	srv, err := New(Config{WritesEnabled: true}, Deps{
		Logger:         slog.New(slog.DiscardHandler),
		Proxmox:        []sources.Source{pve, &fakeSource{name: "pve-broken", adapter: "proxmox", err: errors.New("401 (token " + canary + ")")}},
		HomeAssistant:  []sources.Source{ha},
		TrueNAS:        []PoolLister{fakePools{name: "nas", pools: []truenas.Pool{{Name: "tank", Status: "ONLINE", Healthy: true}}}},
		Scanner:        &fakeScanner{cancelled: make(chan error, 1)},
		Inventory:      fakeInventory{},
		InventoryPaths: []string{dir},
		AllSources:     []sources.Source{pve, ha},
		Sync:           &fakeSyncer{actions: 3},
		Secrets:        []secret.Secret{secret.New(canary)},
		Version:        "fuzz",
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	c := connect(f, srv, mcp.ProtocolVersion20251125)
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		f.Fatal(err)
	}
	props := map[string][]string{} // tool -> its argument names
	var tools []string
	for _, tool := range list.Tools {
		tools = append(tools, tool.Name)
		for p := range tool.InputSchema.Properties {
			props[tool.Name] = append(props[tool.Name], p)
		}
	}
	seeds := []string{
		`{}`, `{"targets":["-oN /tmp/x"]}`, `{"targets":["10.0.0.0/8"],"ports":["1-99999"]}`, `{"targets":"127.0.0.1"}`,
		`{"path":"../../etc/passwd"}`, `{"path":"/etc/passwd"}`, `{"path":"hosts.yaml\u0000"}`, `{"plan_id":"../../x","confirm":true}`,
		`{"limit":-1,"offset":1e308}`, `{"limit":"all"}`, `{"sources":[null,1,{}]}`, `{"scope":"'; drop"}`, `{"kind":"\u202e"}`,
		`{"source":"` + strings.Repeat("../", 300) + `"}`, `{"check_sources":"yes"}`, `{"op":"nuke","ref":{"$ref":"x"}}`,
		`{"":""}`, `{"native_id":"` + strings.Repeat("\xff", 64) + `"}`, `{"format":"exe"}`, `{"include_datasets":[true]}`,
		`{"\u007f":[]}`, `{"\u007f":[],"":1,"ok\u200b":2}`, // invisible names: the refusal must still show them
	}
	for i, s := range seeds {
		for j := range tools {
			if (i+j)%3 == 0 {
				f.Add(uint8(j), []byte(s))
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		var obj map[string]any
		if json.Unmarshal(args, &obj) != nil {
			return // the MCP client only sends objects; malformed JSON-RPC is tested over HTTP
		}
		tool := tools[int(which)%len(tools)]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool, Arguments: json.RawMessage(args)}})
		if err != nil {
			t.Fatalf("%s %s: protocol error instead of a tool error: %v", tool, args, err)
		}
		text := resultText(res)
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			text += string(b)
		}
		if strings.Contains(strings.ToLower(text), "panic") && !strings.Contains(strings.ToLower(string(args)), "panic") {
			t.Fatalf("%s %s: %s", tool, args, text)
		}
		if strings.Contains(text, canary) {
			t.Fatalf("%s %s: the secret leaked: %s", tool, args, text)
		}
		if !res.IsError {
			return
		}
		for _, s := range stateErrors {
			if strings.Contains(text, s) {
				return
			}
		}
		// the argument at fault is one the tool has, or one it does not know
		names := append([]string(nil), props[tool]...)
		for k := range obj {
			names = append(names, k)
		}
		for _, p := range names {
			if p != "" && strings.Contains(text, p) {
				return
			}
		}
		// unknown names are quoted Go-style, so an invisible or empty name is still shown
		for k := range obj {
			if strings.Contains(text, "unknown argument "+strconv.Quote(k)) || strings.Contains(text, ", "+strconv.Quote(k)) {
				return
			}
		}
		t.Fatalf("%s %s: the error names no argument (%v): %s", tool, args, names, text)
	})
}
