package proxmox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
)

// TestMemoryAndVMIDShapes: memory as a number, a string or a property string, and vmid as a
// number or a string, all give the same observation.
func TestMemoryAndVMIDShapes(t *testing.T) {
	tests := []struct {
		name   string
		guest  proxmoxtest.Guest
		wantID string
	}{
		{"memory number, vmid number", proxmoxtest.Guest{VMID: 110}, "c/qemu/110"},
		{"memory string", proxmoxtest.Guest{VMID: 111, MemoryAsString: true}, "c/qemu/111"},
		{"memory property string", proxmoxtest.Guest{VMID: 112, Config: map[string]any{"memory": "current=3072"}}, "c/qemu/112"},
		{"vmid string", proxmoxtest.Guest{VMID: 113, VMIDAsString: true}, "c/qemu/113"},
		{"lxc memory string, vmid string", proxmoxtest.Guest{Type: proxmoxtest.TypeLXC, VMID: 114, MemoryAsString: true, VMIDAsString: true}, "c/lxc/114"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.guest
			if g.Type == "" {
				g.Type = proxmoxtest.TypeQEMU
			}
			g.Node, g.Name, g.Status, g.MemoryMB = "pve1", "guest", "stopped", 3072
			srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("c"),
				proxmoxtest.WithNodes(proxmoxtest.Node{Name: "pve1", Online: true}), proxmoxtest.WithGuests(g))
			res, err := discover(t, configFor(t, srv, "c"))
			if err != nil {
				t.Fatal(err)
			}
			o, ok := byID(res)[tt.wantID]
			if !ok {
				t.Fatalf("no %s in %+v (warnings %+v)", tt.wantID, res.Observations, res.Warnings)
			}
			if o.Facts.MemoryMB != 3072 || o.Facts.Attributes["proxmox.vmid"] != fmt.Sprint(g.VMID) {
				t.Errorf("memory %d vmid %q", o.Facts.MemoryMB, o.Facts.Attributes["proxmox.vmid"])
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings %+v", res.Warnings)
			}
		})
	}
}

// TestFlakyGuestRequests: random 500s and truncated bodies on a share of per-guest requests
// lose no guest, and every failure is a warning.
func TestFlakyGuestRequests(t *testing.T) {
	lab := proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 80, Seed: 3})
	srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("flaky"), proxmoxtest.WithLab(lab), proxmoxtest.WithSeed(9),
		proxmoxtest.WithFaults(
			proxmoxtest.Fault{PathContains: "/config", Status: 500, Message: "unable to read config", Rate: 0.2},
			proxmoxtest.Fault{PathContains: "/agent/", Truncated: true, Rate: 0.3},
		))
	var logs bytes.Buffer
	cfg := configFor(t, srv, "flaky")
	src, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Discover(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	templates := 0
	for _, g := range lab.Guests {
		if g.Template {
			templates++
		}
	}
	if want := len(lab.Nodes) + len(lab.Guests) - templates; len(res.Observations) != want {
		t.Errorf("%d observations, want %d", len(res.Observations), want)
	}
	configFailures := 0
	for _, w := range res.Warnings {
		if strings.Contains(w.Message, "unable to read config") {
			configFailures++
		}
	}
	if configFailures == 0 || configFailures > 40 {
		t.Errorf("%d config warnings for a 20%% fault rate over 78 guests", configFailures)
	}
	all := logs.String()
	for _, w := range res.Warnings {
		all += w.Item + w.Message
	}
	if strings.Contains(all, proxmoxtest.DefaultTokenSecret) {
		t.Errorf("the secret appears in warnings or logs")
	}
}

// {"data": null} is a broken answer, never "nothing there": on /cluster/resources the source
// fails as a whole (it orphans nothing); on a per-node path each item gets a warning that says
// so, and the guests are still reported from /cluster/resources.
func TestNullDataIsAnError(t *testing.T) {
	lab := proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 6, Seed: 5})
	t.Run("cluster resources", func(t *testing.T) {
		srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("nulls"), proxmoxtest.WithLab(lab),
			proxmoxtest.WithFaults(proxmoxtest.Fault{PathContains: "/cluster/resources", Status: 200}))
		src, err := New(configFor(t, srv, "nulls"), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := src.Discover(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), `"data" is null`) || len(res.Observations) != 0 {
			t.Fatalf("Discover = %d observations, %v; want an error naming the null data", len(res.Observations), err)
		}
	})
	t.Run("per-node paths", func(t *testing.T) {
		srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("nulls"), proxmoxtest.WithLab(lab),
			proxmoxtest.WithFaults(proxmoxtest.Fault{PathContains: "/nodes", Status: 200}))
		src, err := New(configFor(t, srv, "nulls"), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := src.Discover(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		nulls := 0
		for _, w := range res.Warnings {
			if strings.Contains(w.Message, `"data" is null`) {
				nulls++
			}
		}
		if nulls == 0 {
			t.Fatalf("no warning names the null data: %+v", res.Warnings)
		}
		vms := 0
		for _, o := range res.Observations {
			if o.Kind == "virtual_machine" {
				vms++
			}
		}
		if vms == 0 {
			t.Fatal("the guests were lost with their configs")
		}
	})
}

// TestUnnamedGuests: name is optional in both /cluster/resources and the config; a guest with
// none is named as PVE's own interface shows it, rather than reported nameless.
func TestUnnamedGuests(t *testing.T) {
	srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("c"),
		proxmoxtest.WithNodes(proxmoxtest.Node{Name: "pve1", Online: true}),
		proxmoxtest.WithGuests(
			proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: 120, Node: "pve1", Status: "stopped", MemoryMB: 512},
			proxmoxtest.Guest{Type: proxmoxtest.TypeLXC, VMID: 121, Node: "pve1", Status: "stopped", MemoryMB: 512}),
		proxmoxtest.WithRewrite(func(path string, data any) any {
			// PVE leaves name out rather than sending "".
			if path != "/cluster/resources" && !strings.HasSuffix(path, "/config") {
				return data
			}
			switch v := data.(type) {
			case map[string]any:
				delete(v, "name")
				delete(v, "hostname")
			case []any:
				for _, e := range v {
					if m, ok := e.(map[string]any); ok {
						delete(m, "name")
					}
				}
			}
			return data
		}))
	res, err := discover(t, configFor(t, srv, "c"))
	if err != nil {
		t.Fatal(err)
	}
	obs := byID(res)
	if got := obs["c/qemu/120"].Name; got != "VM 120" {
		t.Errorf("qemu/120 named %q, want \"VM 120\"", got)
	}
	if got := obs["c/lxc/121"].Name; got != "CT121" {
		t.Errorf("lxc/121 named %q, want \"CT121\"", got)
	}
}
