package reliability

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

const (
	loadClients        = 50
	loadCallsPerClient = 10
)

// loadRows: many MCP clients at once against the built agent serving HTTP on loopback, each
// listing the tools and calling read-only tools against the lab; the server must answer every
// call and keep serving. Latency per call and the agent's RSS are reported.
func loadRows(t *testing.T, m *matrix) {
	const group = "Load on the HTTP MCP server"
	bin := m.agentBinary(t)
	l := startLab(t, 0)
	p := startAgentHTTP(t, bin, l.ConfigPath(), "MCP_TOKEN="+canaryMCP)
	_, idle, _ := p.memory()

	tools := []struct {
		name string
		args map[string]any
	}{
		{"discover_proxmox", map[string]any{"limit": 20}},
		{"discover_homeassistant", map[string]any{"limit": 20}},
		{"list_truenas_pools", map[string]any{}},
		{"read_inventory", map[string]any{}},
		{"sync_status", map[string]any{}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var (
		mu        gosync.Mutex
		latencies []time.Duration
		errs      []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	sampler := make(chan struct{})
	peakRSS := 0.0
	var sampled gosync.WaitGroup
	sampled.Add(1)
	go func() {
		defer sampled.Done()
		for {
			if rss, _, err := p.memory(); err == nil && rss > peakRSS {
				peakRSS = rss
			}
			select {
			case <-sampler:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	var wg gosync.WaitGroup
	for i := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := newMCPClient(ctx, p.base)
			if err != nil {
				fail("client %d: connect: %v", i, err)
				return
			}
			defer c.Close()
			t0 := time.Now()
			if res, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil || len(res.Tools) == 0 {
				fail("client %d: tools/list: %v", i, err)
				return
			}
			mu.Lock()
			latencies = append(latencies, time.Since(t0))
			mu.Unlock()
			for k := range loadCallsPerClient {
				tool := tools[(i+k)%len(tools)]
				t0 := time.Now()
				res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: tool.name, Arguments: tool.args}})
				d := time.Since(t0)
				switch {
				case err != nil:
					fail("client %d: %s: %v", i, tool.name, err)
				case res.IsError:
					fail("client %d: %s: %s", i, tool.name, shorten(toolText(res), 120))
				default:
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(sampler)
	sampled.Wait()
	_, hwm, _ := p.memory()

	// still serving: health and a fresh client
	resp, herr := http.Get(p.base + "/healthz")
	healthy := herr == nil && resp.StatusCode == http.StatusOK
	if resp != nil {
		resp.Body.Close()
	}
	after, aerr := newMCPClient(context.Background(), p.base)
	if aerr == nil {
		_, aerr = after.ListTools(context.Background(), mcp.ListToolsRequest{})
		after.Close()
	}

	total := loadClients * (1 + loadCallsPerClient)
	slices.Sort(latencies)
	p50, p99, maxL := pct(latencies, 50), pct(latencies, 99), pct(latencies, 100)
	happened := fmt.Sprintf("%d of %d calls answered, %d errors in %s; p50 %s, p99 %s, max %s; agent RSS %.0f MiB idle, %.0f MiB peak (VmHWM %.0f MiB); healthz after: %v; new client after: %v",
		len(latencies), total, len(errs), wall.Round(time.Millisecond), p50, p99, maxL, idle, peakRSS, hwm, healthy, aerr == nil)
	if len(errs) > 0 {
		happened += "; first error: " + errs[0]
	}
	m.check(t, group, fmt.Sprintf("%d concurrent MCP clients over HTTP: tools/list + %d read-only tool calls each (discover_proxmox, discover_homeassistant, list_truenas_pools, read_inventory, sync_status)", loadClients, loadCallsPerClient),
		"every call answered within 2 minutes, the server keeps serving", happened,
		len(errs) == 0 && len(latencies) == total && healthy && aerr == nil)
	m.figure("load: %d clients x %d calls against `netbox-agent --http` and the lab: p50 %s, p99 %s, max %s, wall %s; agent RSS idle %.0f MiB, peak %.0f MiB",
		loadClients, 1+loadCallsPerClient, p50, p99, maxL, wall.Round(time.Millisecond), idle, hwm)
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i].Round(100 * time.Microsecond)
}
