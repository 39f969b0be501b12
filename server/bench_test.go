package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/sources"
)

// BenchmarkDiscoverToolPage measures one discover_proxmox call over a large cluster
// (5,000 observations): discovery is faked, so this is the server's own cost of sorting,
// filtering, paging and encoding a page, including schema validation.
func BenchmarkDiscoverToolPage(b *testing.B) {
	big := &fakeSource{name: "pve", adapter: "proxmox", obs: observations("pve", "proxmox", 5000, sources.KindVM)}
	s, err := New(Config{}, Deps{Proxmox: []sources.Source{big}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := connect(b, s, mcp.ProtocolVersion20251125)
	req := mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "discover_proxmox", Arguments: map[string]any{"offset": 2500, "limit": 50}}}
	var bytes int
	b.ResetTimer()
	for b.Loop() {
		res, err := c.CallTool(context.Background(), req)
		if err != nil || res.IsError {
			b.Fatal(err)
		}
		bytes = len(resultText(res))
	}
	b.ReportMetric(float64(bytes), "result_bytes")
}

// BenchmarkGetPlanPage pages through a 10,000-action plan.
func BenchmarkGetPlanPage(b *testing.B) {
	s, err := New(Config{}, Deps{Sync: &fakeSyncer{actions: 10000}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := connect(b, s, mcp.ProtocolVersion20251125)
	if res, err := c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}}); err != nil || res.IsError {
		b.Fatal(err)
	}
	var bytes int
	i := 0
	b.ResetTimer()
	for b.Loop() {
		req := mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "get_plan", Arguments: map[string]any{"offset": (i * 50) % 10000, "limit": 50}}}
		res, err := c.CallTool(context.Background(), req)
		if err != nil || res.IsError {
			b.Fatal(fmt.Sprint(err, res))
		}
		bytes = len(resultText(res))
		i++
	}
	b.ReportMetric(float64(bytes), "page_bytes")
}
