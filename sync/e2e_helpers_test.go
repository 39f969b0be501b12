package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
)

// lab is one NetBox (the simulator, or a real NetBox when NETBOX_TEST_URL is set: see
// internal/testnetbox) with an engine writing to it.
type lab struct {
	t   *testing.T
	srv target
	eng *Engine
	cfg Config
}

// target is the test's NetBox with the simulator's seeding call, read back through the API
// so the same test runs against a real NetBox.
type target struct{ *testnetbox.Target }

// MustSeed creates objects at endpoint ("/api/dcim/sites/") through the API and returns
// their ids.
func (s target) MustSeed(endpoint string, objs ...map[string]any) []int {
	return s.Create(strings.TrimPrefix(endpoint, "/api/"), objs...)
}

func newLab(t *testing.T, cfg Config, opts ...testnetbox.Option) *lab {
	t.Helper()
	l := &lab{t: t, srv: target{testnetbox.New(t, opts...)}, cfg: cfg}
	if l.srv.Sim != nil {
		failOnIgnoredFilters(t, l.srv.Sim)
	}
	l.eng = NewEngine(l.client(), cfg, nil)
	return l
}

// close hands the NetBox back before the test ends, so the test can start another lab (a
// real NetBox serves one lab at a time).
func (l *lab) close() { l.srv.Close() }

func (l *lab) client() NetBox {
	// A real NetBox needs about 60 ms a device: a batch of the homelab takes well under a
	// second, but a loaded CI machine is slower, hence the longer timeout there.
	timeout := 5 * time.Second
	if l.srv.IsReal() {
		timeout = time.Minute
	}
	c, err := netbox.New(netbox.Config{URL: l.srv.URL, Token: secret.New(l.srv.Token), Timeout: timeout,
		RequestsPerSecond: -1, BatchSize: 1000}, nil, netbox.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		l.t.Fatal(err)
	}
	return FromClient(c)
}

// sync plans and applies the observations; it fails the test on a failed action unless
// allowFail.
func (l *lab) sync(obs []sources.Observation, ran map[string]bool) (*Plan, *Report) {
	l.t.Helper()
	p := l.plan(obs, ran)
	rep, err := l.eng.Apply(context.Background(), p, nil)
	if err != nil {
		l.t.Fatalf("apply: %v", err)
	}
	for _, r := range rep.Results {
		if r.Status != StatusDone {
			l.t.Errorf("action %s %s: %s: %s", r.Op, r.Key, r.Status, r.Error)
		}
	}
	return p, rep
}

func (l *lab) plan(obs []sources.Observation, ran map[string]bool) *Plan {
	l.t.Helper()
	mr := Merge(obs, DefaultMergeConfig())
	if ran == nil {
		ran = ranAll(obs)
	}
	p, err := l.eng.Plan(context.Background(), mr.Entities, mr.Conflicts, ran)
	if err != nil {
		l.t.Fatalf("plan: %v", err)
	}
	return p
}

func ranAll(obs []sources.Observation) map[string]bool {
	ran := map[string]bool{}
	for _, o := range obs {
		ran[o.Source] = true
	}
	return ran
}

// writes counts the agent's write requests since the last ResetLog.
func (l *lab) writes() int { return l.srv.Writes() }

func (l *lab) find(ep, name string) map[string]any {
	l.t.Helper()
	return l.srv.Find(ep, name)
}

func (l *lab) count(ep, name string) int {
	l.t.Helper()
	return l.srv.Count(ep, name)
}

func (l *lab) objects(ep string) []map[string]any {
	l.t.Helper()
	return l.srv.Objects(ep)
}

func e2ePfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func e2eIP(s string) netip.Addr    { return netip.MustParseAddr(s) }

func vmObs(id, name, cluster, node, mac, addr string) sources.Observation {
	return sources.Observation{Source: "pve-lab", Adapter: "proxmox", NativeID: "pve-lab/qemu/" + id,
		Kind: sources.KindVM, Name: name, Facts: sources.Facts{Status: "active", VCPUs: 2, MemoryMB: 2048, Platform: "Debian 12"},
		Parent:     &sources.Parent{Cluster: cluster, ClusterType: "Proxmox VE", Node: node},
		Interfaces: []sources.Interface{{Name: "net0", MAC: sources.MAC(mac), IPs: []netip.Prefix{e2ePfx(addr)}}},
		Disks:      []sources.Disk{{Name: "scsi0", SizeMB: 32768}},
		SeenAt:     time.Unix(1_790_000_000, 0)}
}

// homelab is a small estate: a Proxmox node with two VMs and a container, a TrueNAS box, and
// a network scan that sees one of the VMs and a phone.
func homelab() []sources.Observation {
	web := vmObs("101", "web", "lab", "pve1", "BC:24:11:00:01:01", "192.168.1.101/24")
	web.Services = []sources.Service{{Name: "https", Protocol: "tcp", Ports: []int{443}}}
	db := vmObs("102", "db", "lab", "pve1", "BC:24:11:00:01:02", "192.168.1.102/24")
	return []sources.Observation{
		{Source: "pve-lab", Adapter: "proxmox", NativeID: "pve-lab/node/pve1", Kind: sources.KindDevice, Name: "pve1",
			Keys:  sources.Keys{Serial: "S1PVE0001"},
			Facts: sources.Facts{Manufacturer: "Supermicro", Model: "SYS-E300", Role: "hypervisor", Platform: "Proxmox VE 8.2.4", Status: "active"},
			Interfaces: []sources.Interface{{Name: "vmbr0", MAC: "00:25:90:AA:BB:01", Type: "bridge",
				IPs: []netip.Prefix{e2ePfx("192.168.1.10/24")}}}},
		web, db,
		{Source: "nas", Adapter: "truenas", NativeID: "nas/system", Kind: sources.KindDevice, Name: "nas",
			Keys:       sources.Keys{Serial: "TN-000123", SystemUUID: "4c4c4544-0042-3510-8052-b2c04f4e3232"},
			Facts:      sources.Facts{Manufacturer: "iXsystems", Model: "TrueNAS Mini X", Role: "nas", Platform: "TrueNAS SCALE 24.10"},
			Interfaces: []sources.Interface{{Name: "enp1s0", MAC: "00:25:90:AA:BB:02", IPs: []netip.Prefix{e2ePfx("192.168.1.20/24")}}},
			Services:   []sources.Service{{Name: "smb", Protocol: "tcp", Ports: []int{445}}}},
		{Source: "netscan", Adapter: "netscan", NativeID: "nmap/192.168.1.101", Kind: sources.KindHost,
			Keys: sources.Keys{IPs: []netip.Addr{e2eIP("192.168.1.101")}}},
		{Source: "netscan", Adapter: "netscan", NativeID: "nmap/192.168.1.50", Kind: sources.KindHost, Name: "phone",
			Keys: sources.Keys{IPs: []netip.Addr{e2eIP("192.168.1.50")}, MACs: []sources.MAC{"DA:A1:19:00:00:01"}}},
	}
}

// planText is the plan for a failing test's message and for checks that it says something
// (a note's reason): its JSON, indented, unescaped. The table people read is a view outside
// this package (sync/planview) and tested there.
func planText(p *Plan) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(p); err != nil {
		return "plan does not encode: " + err.Error()
	}
	return b.String()
}
