package proxmox

import (
	"encoding/json"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
)

// realAnswer is one file of testdata/real (see its README).
type realAnswer struct {
	Origin     string            `json:"origin"`
	About      string            `json:"about"`
	Endpoint   string            `json:"endpoint"`
	SchemaGaps map[string]string `json:"schema_gaps"`
	Data       any               `json:"data"`
}

func loadRealAnswers(t *testing.T) map[string]realAnswer {
	t.Helper()
	files, err := filepath.Glob("testdata/real/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/real/*.json: %v", err)
	}
	out := map[string]realAnswer{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var a realAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.HasPrefix(a.Origin, "https://") || a.About == "" || a.Data == nil {
			t.Fatalf("%s: origin, about and data are required", f)
		}
		out[filepath.Base(f)] = a
	}
	return out
}

// TestRealAnswersValidate: each real answer has against the published schema exactly the
// problems its file lists, each with a reason.
func TestRealAnswersValidate(t *testing.T) {
	schema := loadSchema(t)
	for name, a := range loadRealAnswers(t) {
		t.Run(name, func(t *testing.T) {
			s, ok := schema.Returns[a.Endpoint]
			if !ok {
				t.Fatalf("no schema for %s", a.Endpoint)
			}
			problems := proxmoxtest.CheckSchema(s, a.Data, "data")
			seen := map[string]bool{}
			for _, p := range problems {
				path, _, _ := strings.Cut(p, ":")
				seen[path] = true
				if _, listed := a.SchemaGaps[path]; !listed {
					t.Errorf("%s: not listed in schema_gaps", p)
				}
			}
			for path := range a.SchemaGaps {
				if !seen[path] {
					t.Errorf("schema_gaps lists %s, which validates", path)
				}
			}
		})
	}
}

// TestRealAnswersRead serves each real answer in place of the simulator's and checks what the
// adapter observes.
func TestRealAnswersRead(t *testing.T) {
	answers := loadRealAnswers(t)
	node := proxmoxtest.Node{Name: "pve1", Online: true, IP: "192.0.2.10", CPUModel: "x", Sockets: 1, Cores: 4, MemoryBytes: 8 << 30}
	qemu := func(vmid int, mac string) proxmoxtest.Guest {
		return proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: vmid, Node: "pve1", Name: "vm", Status: "running", MemoryMB: 1024,
			Agent: proxmoxtest.AgentRunning, Config: map[string]any{"net0": "virtio=" + mac + ",bridge=vmbr0"}}
	}
	type check func(t *testing.T, obs map[string]sources.Observation)
	ifaceIs := func(id, name, mac string, ips ...string) check {
		return func(t *testing.T, obs map[string]sources.Observation) {
			o, ok := obs[id]
			if !ok || len(o.Interfaces) != 1 {
				t.Fatalf("%s: %+v", id, o)
			}
			ifc := o.Interfaces[0]
			var want []netip.Prefix
			for _, ip := range ips {
				want = append(want, netip.MustParsePrefix(ip))
			}
			if ifc.Name != name || string(ifc.MAC) != mac || !slices.Equal(ifc.IPs, want) {
				t.Errorf("%s interface %+v, want %s %s %v", id, ifc, name, mac, want)
			}
		}
	}
	tests := []struct {
		file    string
		cluster string // "" for a standalone node
		guests  []proxmoxtest.Guest
		check   check
	}{
		{"cluster-status-standalone-pve9.json", "", nil, func(t *testing.T, obs map[string]sources.Observation) {
			o, ok := obs["pve1/node/pve1"]
			if !ok || o.Facts.Status != "active" || len(o.Keys.IPs) != 1 || o.Keys.IPs[0].String() != "192.0.2.10" {
				t.Errorf("node %+v (all %v)", o, slices.Collect(maps.Keys(obs)))
			}
		}},
		{"cluster-resources-pve9.json", "c", nil, func(t *testing.T, obs map[string]sources.Observation) {
			gw, st := obs["c/qemu/100"], obs["c/qemu/101"]
			if gw.Name != "gateway-vm" || gw.Facts.Status != "active" || gw.Facts.VCPUs != 2 || gw.Facts.MemoryMB != 4096 || gw.Facts.DiskMB != 61440 {
				t.Errorf("qemu/100 %+v", gw)
			}
			if st.Name != "stopped-vm" || st.Facts.Status != "offline" || st.Facts.VCPUs != 4 || st.Facts.MemoryMB != 8192 {
				t.Errorf("qemu/101 %+v", st)
			}
			if _, ok := obs["c/lxc/104"]; ok {
				t.Errorf("the template lxc/104 is reported")
			}
		}},
		{"cluster-resources-pve5.json", "c", nil, func(t *testing.T, obs map[string]sources.Observation) {
			o := obs["c/qemu/111"]
			if o.Name != "X-vm" || o.Facts.Status != "active" || o.Facts.VCPUs != 2 || o.Facts.MemoryMB != 4096 || o.Facts.DiskMB != 30720 ||
				o.Parent == nil || o.Parent.Node != "kvm-03" {
				t.Errorf("qemu/111 %+v", o)
			}
		}},
		{"node-status-pve9.json", "c", nil, func(t *testing.T, obs map[string]sources.Observation) {
			o := obs["c/node/pve1"]
			if o.Facts.Platform != "Proxmox VE 9.1.4" || o.Facts.VCPUs != 16 || o.Facts.MemoryMB != 28859 {
				t.Errorf("node %+v", o.Facts)
			}
		}},
		{"agent-network-get-interfaces-pve6.json", "c", []proxmoxtest.Guest{qemu(100, "00:00:5E:00:53:01")},
			ifaceIs("c/qemu/100", "ens18", "00:00:5E:00:53:01", "192.0.2.20/24")},
		{"agent-network-get-interfaces-2019.json", "c", []proxmoxtest.Guest{qemu(100, "00:00:5E:00:53:02")},
			ifaceIs("c/qemu/100", "eth0", "00:00:5E:00:53:02", "192.0.2.123/24")},
		{"lxc-interfaces-pve8.json", "c", []proxmoxtest.Guest{{Type: proxmoxtest.TypeLXC, VMID: 200, Node: "pve1", Name: "ct", Status: "running",
			MemoryMB: 512, Config: map[string]any{"net0": "name=eth0,bridge=vmbr0,hwaddr=00:00:5E:00:53:03,ip=dhcp,type=veth"}}},
			ifaceIs("c/lxc/200", "eth0", "00:00:5E:00:53:03", "192.0.2.95/22")},
		{"qemu-config-pve9.json", "c", []proxmoxtest.Guest{{Type: proxmoxtest.TypeQEMU, VMID: 20009, Node: "pve1", Name: "vm", Status: "stopped", MemoryMB: 1}},
			func(t *testing.T, obs map[string]sources.Observation) {
				o := obs["c/qemu/20009"]
				if o.Name != "app-w2022" || o.Facts.VCPUs != 8 || o.Facts.MemoryMB != 65536 || o.Facts.DiskMB != 112640 ||
					len(o.Facts.Tags) != 3 || o.Facts.Attributes["proxmox.ostype"] != "win11" || o.Keys.SystemUUID != "0b6c4f0e-5d1a-4c2b-9e3f-7a8d9c0b1e2f" {
					t.Errorf("qemu/20009 %+v keys %+v", o.Facts, o.Keys)
				}
				if len(o.Interfaces) != 1 || o.Interfaces[0].MAC != "00:00:5E:00:53:04" || o.Interfaces[0].VLAN != 49 || o.Interfaces[0].Bridge != "vmbr0" {
					t.Errorf("qemu/20009 interfaces %+v", o.Interfaces)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, ok := answers[tt.file]
			if !ok {
				t.Fatalf("no testdata/real/%s", tt.file)
			}
			var served atomic.Int64
			opts := []proxmoxtest.Option{proxmoxtest.WithCluster(tt.cluster), proxmoxtest.WithNodes(node), proxmoxtest.WithGuests(tt.guests...),
				proxmoxtest.WithRewrite(func(path string, data any) any {
					if !proxmoxtest.MatchPath(a.Endpoint, path) {
						return data
					}
					served.Add(1)
					return a.Data
				})}
			srv := proxmoxtest.NewTestServer(t, opts...)
			res, err := discover(t, configFor(t, srv, "real"))
			if err != nil {
				t.Fatal(err)
			}
			if served.Load() == 0 {
				t.Fatalf("the adapter never asked %s", a.Endpoint)
			}
			tt.check(t, byID(res))
		})
	}
}
