package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// realLab wires the real adapters, against their simulators, into a server: what
// cmd/netbox-agent does, minus the config file.
func realLab(t *testing.T) (*server.Server, string) {
	t.Helper()
	pveSim := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("homelab"),
		proxmoxtest.WithLab(proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 12, Seed: 7})))
	dir := t.TempDir()
	ca := filepath.Join(dir, "pve-ca.pem")
	if err := os.WriteFile(ca, pveSim.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pve, err := proxmox.New(proxmox.Config{Name: "pve-lab", URL: pveSim.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(proxmoxtest.DefaultTokenSecret), Settings: tlsconfig.Settings{CAFile: ca}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}

	nasSim := truenastest.NewTestServer(t)
	nasCA := filepath.Join(dir, "nas-ca.pem")
	if err := os.WriteFile(nasCA, nasSim.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	nas, err := truenas.New(truenas.Config{Name: "nas-lab", URL: nasSim.URL, APIKey: secret.New(nasSim.APIKey()),
		Username: nasSim.Username(), Settings: tlsconfig.Settings{CAFile: nasCA}, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}

	haSim := homeassistanttest.NewTestServer(t, homeassistanttest.WithDataset(homeassistanttest.SampleHome()))
	ha, err := homeassistant.New(homeassistant.Config{Name: "ha-lab", URL: haSim.URL, Token: secret.New(homeassistanttest.DefaultToken), Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}

	invDir := t.TempDir()
	csv := "name,ip,mac,serial\nswitch-core,198.18.0.2/24,00:1B:21:3A:4F:10,SW12345\nprinter,198.18.0.40,00:1B:21:3A:4F:11,\n"
	if err := os.WriteFile(filepath.Join(invDir, "hosts.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.New(inventory.Config{Name: "inv", Files: []inventory.FileSpec{{Path: filepath.Join(invDir, "*.csv")}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	ns, err := netscan.New(netscan.Config{Name: "lan", AllowedNetworks: []string{"127.0.0.0/24"}, MaxHosts: 256, Profile: netscan.ProfilePorts,
		Ports: []string{"1-1024"}, ReverseDNS: new(bool)}, nil)
	if err != nil {
		t.Fatal(err)
	}

	srv, err := server.New(server.Config{}, server.Deps{
		Proxmox:        []sources.Source{pve},
		HomeAssistant:  []sources.Source{ha},
		TrueNAS:        []server.PoolLister{nas},
		Scanner:        ns,
		Inventory:      inv,
		InventoryPaths: []string{filepath.Join(invDir, "*.csv")},
		AllSources:     []sources.Source{pve, nas, ha, inv, ns},
		Secrets:        []secret.Secret{secret.New(proxmoxtest.DefaultTokenSecret), secret.New(nasSim.APIKey()), secret.New(homeassistanttest.DefaultToken)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, invDir
}

func connectTo(t *testing.T, s *server.Server, version string) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClientWithOptions(s.MCPServer(), client.WithProtocolVersion(version))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(t.Context(), mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: version, ClientInfo: mcp.Implementation{Name: "adapters-test", Version: "1"}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func callJSON(t *testing.T, c *client.Client, name string, args map[string]any, out any) {
	t.Helper()
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		t.Fatalf("%s: %v", name, res.Content)
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// The discovery tools against the real adapters and their simulators, on both protocol
// versions.
func TestToolsWithRealAdapters(t *testing.T) {
	srv, invDir := realLab(t)
	for _, v := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(v, func(t *testing.T) {
			c := connectTo(t, srv, v)

			var pve server.DiscoverOutput
			callJSON(t, c, "discover_proxmox", map[string]any{"limit": 5}, &pve)
			if pve.Sources[0].Error != "" || pve.Total != 14 || pve.ByKind["device"] != 2 || len(pve.Items) != 5 || pve.Page.NextOffset != 5 {
				t.Fatalf("discover_proxmox: total %d by kind %v items %d page %+v sources %+v", pve.Total, pve.ByKind, len(pve.Items), pve.Page, pve.Sources)
			}
			callJSON(t, c, "discover_proxmox", map[string]any{"native_id": "homelab/node/pve1"}, &pve)
			if pve.Detail == nil || pve.Detail.Name != "pve1" || pve.Detail.Kind != "device" {
				t.Fatalf("proxmox node detail: %+v", pve.Detail)
			}

			var ha server.DiscoverOutput
			callJSON(t, c, "discover_homeassistant", map[string]any{}, &ha)
			if ha.Sources[0].Error != "" || ha.Total == 0 || ha.Items[0].Source != "ha-lab" {
				t.Fatalf("discover_homeassistant: %+v", ha)
			}

			var pools server.PoolsOutput
			callJSON(t, c, "list_truenas_pools", map[string]any{"include_datasets": true}, &pools)
			if pools.TotalPools == 0 || pools.Instances[0].Source != "nas-lab" || pools.Instances[0].Pools[0].SizeBytes == 0 || pools.Instances[0].Pools[0].DatasetCount == 0 {
				t.Fatalf("list_truenas_pools: %+v", pools)
			}

			var inv server.DiscoverOutput
			callJSON(t, c, "read_inventory", map[string]any{"path": "hosts.csv"}, &inv)
			if inv.Total != 2 || inv.Items[0].Name == "" {
				t.Fatalf("read_inventory: %+v", inv)
			}
			res, _ := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "read_inventory", Arguments: map[string]any{"path": filepath.Join(invDir, "..", "x.csv")}}})
			if res == nil || !res.IsError {
				t.Fatal("read_inventory followed '..'")
			}
		})
	}
}

// scan_subnet runs the real nmap on loopback (inside the allowlist), and a scan outside it is
// refused by the netscan source before nmap starts.
func TestScanSubnetWithNmap(t *testing.T) {
	requireNmap(t)
	srv, _ := realLab(t)
	for _, v := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(v, func(t *testing.T) { scanLoopback(t, connectTo(t, srv, v)) })
	}
}

func scanLoopback(t *testing.T, c *client.Client) {
	var out server.DiscoverOutput
	callJSON(t, c, "scan_subnet", map[string]any{"targets": []string{"127.0.0.1"}, "ports": []string{"1-100"}}, &out)
	if out.Total != 1 || out.Items[0].IPs[0] != "127.0.0.1" {
		t.Fatalf("scan of 127.0.0.1: %+v", out)
	}
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "scan_subnet", Arguments: map[string]any{"targets": []string{"198.18.0.0/24"}}}})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "outside allowed_networks") {
		t.Fatalf("scan outside the allowlist: %v %+v", err, res)
	}
}

// Cancelling a running nmap scan: the call ends promptly and nmap is stopped.
func TestScanSubnetCancelWithNmap(t *testing.T) {
	requireNmap(t)
	srv, _ := realLab(t)
	for _, v := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(v, func(t *testing.T) {
			c := connectTo(t, srv, v)
			var mu sync.Mutex
			progressed := make(chan struct{})
			var once sync.Once
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/progress" {
					mu.Lock()
					once.Do(func() { close(progressed) })
					mu.Unlock()
				}
			})
			ctx, cancel := context.WithCancel(t.Context())
			type result struct {
				res *mcp.CallToolResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{
					Name:      "scan_subnet",
					Arguments: map[string]any{"targets": []string{"127.0.0.0/24"}, "ports": []string{"1-65535"}},
					Meta:      &mcp.Meta{ProgressToken: "nmap"},
				}})
				done <- result{res, err}
			}()
			select {
			case <-progressed:
			case <-time.After(20 * time.Second):
				t.Fatal("no progress from the scan")
			}
			for deadline := time.Now().Add(5 * time.Second); !nmapRunning("127.0.0.0/24"); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("nmap never started")
				}
			}
			start := time.Now()
			cancel()
			select {
			case r := <-done:
				if r.err == nil && (r.res == nil || !r.res.IsError) {
					t.Fatalf("cancelled scan succeeded: %+v", r.res)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Fatalf("cancel took %s", d)
				}
				deadline := time.Now().Add(5 * time.Second)
				for nmapRunning("127.0.0.0/24") {
					if time.Now().After(deadline) {
						t.Fatal("nmap still running after the scan was cancelled")
					}
					time.Sleep(50 * time.Millisecond)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the scan did not stop after cancellation")
			}
		})
	}
}

// requireNmap skips a test that runs the real nmap on a machine without it (make test passes
// on a fresh machine), and fails it under CI=true: CI installs nmap, so there a skip would
// hide a test that stopped running.
func requireNmap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nmap"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nmap is not installed, and CI=true: CI installs nmap and must run this test (%v)", err)
		}
		t.Skip("nmap is not installed (apt-get install nmap); CI installs it and runs this test")
	}
}

// nmapRunning reports an nmap process whose command line holds target (read from /proc).
func nmapRunning(target string) bool {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "nmap" && strings.Contains(string(b), target) {
			return true
		}
	}
	return false
}
