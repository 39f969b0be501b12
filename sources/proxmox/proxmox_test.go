package proxmox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
)

const (
	macWeb  = "BC:24:11:2E:C5:4A"
	macDB   = "BC:24:11:00:00:02"
	macOld  = "BC:24:11:00:00:03"
	macDNS  = "BC:24:11:2E:C5:7E"
	macNAS  = "BC:24:11:00:00:05"
	uuidWeb = "47a1054f-8e0a-4f6c-9d3b-2c1e5a7b9d01"
)

// labNodes and labGuests are a small homelab with every pitfall of the reference.
func labNodes() []proxmoxtest.Node {
	return []proxmoxtest.Node{
		{Name: "pve1", Online: true, IP: "192.168.10.11", PVEVersion: "8.2.4", CPUModel: "Intel(R) Xeon(R) E-2278G CPU @ 3.40GHz",
			Sockets: 1, Cores: 8, MemoryBytes: 64 << 30,
			Network: []proxmoxtest.NodeIface{{Iface: "eno1", Type: "eth"}, {Iface: "vmbr0", Type: "bridge", CIDR: "192.168.10.11/24", BridgePorts: "eno1"}}},
		{Name: "pve2", Online: true, IP: "192.168.10.12", PVEVersion: "8.3.0", CPUModel: "AMD Ryzen 7 5700G", Sockets: 1, Cores: 8, MemoryBytes: 32 << 30},
	}
}

func labGuests() []proxmoxtest.Guest {
	return []proxmoxtest.Guest{
		{Type: proxmoxtest.TypeQEMU, VMID: 100, Node: "pve1", Name: "web", Status: "running", Cores: 2, Sockets: 2,
			MemoryMB: 4096, MemoryAsString: true, VMIDAsString: true, Tags: []string{"prod", "web"}, Agent: proxmoxtest.AgentRunning,
			Config: map[string]any{
				"net0":     "virtio=" + macWeb + ",bridge=vmbr0,tag=20,firewall=1",
				"scsi0":    "local-lvm:vm-100-disk-0,iothread=1,size=32G",
				"scsi1":    "tank:vm-100-disk-1,size=512M",
				"ide2":     "local:iso/debian-12.iso,media=cdrom,size=631M",
				"efidisk0": "local-lvm:vm-100-disk-2,efitype=4m,size=4M",
				"smbios1":  "uuid=" + strings.ToUpper(uuidWeb),
				"vmgenid":  "11111111-2222-4333-8444-555555555555",
			},
			Interfaces: []proxmoxtest.GuestIface{
				{Name: "ens18", MAC: macWeb, IPs: []string{"192.168.20.10/24", "2001:db8:20::10/64"}},
				{Name: "docker0", MAC: "02:42:AC:11:00:01", IPs: []string{"172.17.0.1/16"}},
			}},
		{Type: proxmoxtest.TypeQEMU, VMID: 101, Node: "pve2", Name: "db", Status: "running", Cores: 4, MemoryMB: 8192,
			Agent: proxmoxtest.AgentNotRunning,
			Config: map[string]any{"net0": "e1000=" + macDB + ",bridge=vmbr1", "virtio0": "local-lvm:vm-101-disk-0,size=100G",
				"smbios1": "uuid=5b2c9e1a-0000-4000-8000-000000000101"}},
		{Type: proxmoxtest.TypeQEMU, VMID: 102, Node: "pve1", Name: "old", Status: "stopped", Cores: 1, MemoryMB: 1024,
			Agent:  proxmoxtest.AgentRunning,
			Config: map[string]any{"net0": "virtio=" + macOld + ",bridge=vmbr0", "sata0": "local-lvm:vm-102-disk-0,size=1T"}},
		{Type: proxmoxtest.TypeQEMU, VMID: 9000, Node: "pve1", Name: "tmpl-debian", Status: "stopped", Template: true, MemoryMB: 2048,
			Config: map[string]any{"scsi0": "local-lvm:base-9000-disk-0,size=8G"}},
		{Type: proxmoxtest.TypeLXC, VMID: 200, Node: "pve2", Name: "dns.lab.example", Status: "running", Cores: 1, MemoryMB: 512,
			MemoryAsString: true, Tags: []string{"infra"},
			Config: map[string]any{"net0": "name=eth0,bridge=vmbr0,hwaddr=" + macDNS + ",ip=dhcp,tag=30,type=veth",
				"rootfs": "local-lvm:vm-200-disk-0,size=8G", "mp0": "tank:subvol-200-disk-1,mp=/data,size=100G"},
			Interfaces: []proxmoxtest.GuestIface{{Name: "eth0", MAC: macDNS, IPs: []string{"10.0.30.53/24"}}}},
		{Type: proxmoxtest.TypeLXC, VMID: 201, Node: "pve1", Name: "nas-ct", Status: "stopped", Cores: 2, MemoryMB: 1024,
			Config: map[string]any{"net0": "name=eth0,bridge=vmbr0,hwaddr=" + macNAS + ",ip=10.0.0.60/24,type=veth",
				"rootfs": "local-lvm:vm-201-disk-0,size=4G"}},
	}
}

// startLab starts a TLS simulator and returns a config that trusts it.
func startLab(t testing.TB, opts ...proxmoxtest.Option) (*proxmoxtest.Server, Config) {
	t.Helper()
	all := append([]proxmoxtest.Option{proxmoxtest.WithCluster("homelab"), proxmoxtest.WithNodes(labNodes()...),
		proxmoxtest.WithGuests(labGuests()...)}, opts...)
	srv := proxmoxtest.NewTestServer(t, all...)
	return srv, configFor(t, srv, "pve-lab")
}

func configFor(t testing.TB, srv *proxmoxtest.Server, name string) Config {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "pve-root-ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{Name: name, URL: srv.URL, TokenID: proxmoxtest.DefaultTokenID,
		TokenSecret: secret.New(proxmoxtest.DefaultTokenSecret), Settings: tlsconfig.Settings{CAFile: ca}, Timeout: 5 * time.Second}
}

func discover(t testing.TB, cfg Config) (sources.Result, error) {
	t.Helper()
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return src.Discover(ctx, nil)
}

func byID(res sources.Result) map[string]sources.Observation {
	m := map[string]sources.Observation{}
	for _, o := range res.Observations {
		m[o.NativeID] = o
	}
	return m
}

func warningFor(res sources.Result, itemPart, msgPart string) bool {
	for _, w := range res.Warnings {
		if strings.Contains(w.Item, itemPart) && strings.Contains(w.Message, msgPart) {
			return true
		}
	}
	return false
}

func prefixes(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestDiscoverLab(t *testing.T) {
	_, cfg := startLab(t)
	res, err := discover(t, cfg)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	obs := byID(res)
	wantIDs := []string{"homelab/lxc/200", "homelab/lxc/201", "homelab/node/pve1", "homelab/node/pve2",
		"homelab/qemu/100", "homelab/qemu/101", "homelab/qemu/102"}
	var gotIDs []string
	for _, o := range res.Observations {
		gotIDs = append(gotIDs, o.NativeID)
		if o.Source != "pve-lab" || o.Adapter != "proxmox" || o.SeenAt.IsZero() {
			t.Errorf("%s: source %q adapter %q seen %v", o.NativeID, o.Source, o.Adapter, o.SeenAt)
		}
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Fatalf("observations %v, want %v (template 9000 skipped, sorted)", gotIDs, wantIDs)
	}

	t.Run("node", func(t *testing.T) {
		n := obs["homelab/node/pve1"]
		if n.Kind != sources.KindDevice || n.Name != "pve1" || n.Facts.Role != "hypervisor" ||
			n.Facts.Platform != "Proxmox VE 8.2.4" || n.Facts.Status != "active" || n.Facts.MemoryMB != 64<<10 {
			t.Errorf("node pve1 = %+v", n)
		}
		if obs["homelab/node/pve2"].Facts.Platform != "Proxmox VE 8.3.0" {
			t.Errorf("pve2 platform %q", obs["homelab/node/pve2"].Facts.Platform)
		}
		if n.Parent == nil || n.Parent.Cluster != "homelab" || n.Parent.ClusterType != "Proxmox VE" {
			t.Errorf("node parent %+v", n.Parent)
		}
		if !slices.Contains(n.Keys.IPs, netip.MustParseAddr("192.168.10.11")) {
			t.Errorf("node IPs %v", n.Keys.IPs)
		}
		i := slices.IndexFunc(n.Interfaces, func(i sources.Interface) bool { return i.Name == "vmbr0" })
		if i < 0 || n.Interfaces[i].Type != "bridge" || !slices.Equal(n.Interfaces[i].IPs, prefixes(t, "192.168.10.11/24")) {
			t.Errorf("node interfaces %+v", n.Interfaces)
		}
	})

	tests := []struct {
		id       string
		name     string
		node     string
		status   string
		vcpus    float64
		memoryMB int64
		diskMB   int64
		disks    []sources.Disk
		uuid     string
		tags     []string
		ifaces   []sources.Interface
	}{
		{id: "homelab/qemu/100", name: "web", node: "pve1", status: "active", vcpus: 4, memoryMB: 4096,
			// scsi0 32G + scsi1 512M; the cdrom (ide2) and efidisk0 are not disks.
			diskMB: 32*1024 + 512, disks: []sources.Disk{{Name: "scsi0", SizeMB: 32 * 1024}, {Name: "scsi1", SizeMB: 512}},
			uuid: uuidWeb, tags: []string{"prod", "web"},
			// Guest-agent name; loopback, link-local and the unmatched docker0 are dropped.
			ifaces: []sources.Interface{{Name: "ens18", MAC: macWeb, Bridge: "vmbr0", VLAN: 20, Type: "virtual",
				IPs: prefixes(t, "192.168.20.10/24", "2001:db8:20::10/64")}}},
		{id: "homelab/qemu/101", name: "db", node: "pve2", status: "active", vcpus: 4, memoryMB: 8192,
			diskMB: 100 * 1024, disks: []sources.Disk{{Name: "virtio0", SizeMB: 100 * 1024}},
			uuid: "5b2c9e1a-0000-4000-8000-000000000101",
			// Agent not running: config name, no IPs.
			ifaces: []sources.Interface{{Name: "net0", MAC: macDB, Bridge: "vmbr1", Type: "virtual"}}},
		{id: "homelab/qemu/102", name: "old", node: "pve1", status: "offline", vcpus: 1, memoryMB: 1024,
			diskMB: 1024 * 1024, disks: []sources.Disk{{Name: "sata0", SizeMB: 1024 * 1024}},
			ifaces: []sources.Interface{{Name: "net0", MAC: macOld, Bridge: "vmbr0", Type: "virtual"}}},
		{id: "homelab/lxc/200", name: "dns.lab.example", node: "pve2", status: "active", vcpus: 1, memoryMB: 512,
			diskMB: 8*1024 + 100*1024, disks: []sources.Disk{{Name: "mp0", SizeMB: 100 * 1024}, {Name: "rootfs", SizeMB: 8 * 1024}},
			tags: []string{"infra"},
			ifaces: []sources.Interface{{Name: "eth0", MAC: macDNS, Bridge: "vmbr0", VLAN: 30, Type: "virtual",
				IPs: prefixes(t, "10.0.30.53/24")}}},
		{id: "homelab/lxc/201", name: "nas-ct", node: "pve1", status: "offline", vcpus: 2, memoryMB: 1024,
			diskMB: 4 * 1024, disks: []sources.Disk{{Name: "rootfs", SizeMB: 4 * 1024}},
			// A stopped container keeps its static config address.
			ifaces: []sources.Interface{{Name: "eth0", MAC: macNAS, Bridge: "vmbr0", Type: "virtual", IPs: prefixes(t, "10.0.0.60/24")}}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			o, ok := obs[tt.id]
			if !ok {
				t.Fatalf("missing")
			}
			if o.Kind != sources.KindVM || o.Name != tt.name || o.Facts.Status != tt.status || o.Facts.VCPUs != tt.vcpus ||
				o.Facts.MemoryMB != tt.memoryMB || o.Facts.DiskMB != tt.diskMB {
				t.Errorf("got kind %s name %q status %q vcpus %v mem %d disk %d", o.Kind, o.Name, o.Facts.Status,
					o.Facts.VCPUs, o.Facts.MemoryMB, o.Facts.DiskMB)
			}
			if o.Parent == nil || *o.Parent != (sources.Parent{Cluster: "homelab", ClusterType: "Proxmox VE", Node: tt.node}) {
				t.Errorf("parent %+v", o.Parent)
			}
			if o.Keys.SystemUUID != tt.uuid {
				t.Errorf("system uuid %q, want %q (smbios1, never vmgenid)", o.Keys.SystemUUID, tt.uuid)
			}
			slices.SortFunc(o.Disks, func(a, b sources.Disk) int { return strings.Compare(a.Name, b.Name) })
			if !slices.Equal(o.Disks, tt.disks) {
				t.Errorf("disks %+v, want %+v", o.Disks, tt.disks)
			}
			if !slices.Equal(o.Facts.Tags, tt.tags) {
				t.Errorf("tags %v, want %v", o.Facts.Tags, tt.tags)
			}
			if len(o.Interfaces) != len(tt.ifaces) {
				t.Fatalf("interfaces %+v, want %+v", o.Interfaces, tt.ifaces)
			}
			for i, want := range tt.ifaces {
				got := o.Interfaces[i]
				if got.Name != want.Name || got.MAC != want.MAC || got.Bridge != want.Bridge || got.VLAN != want.VLAN ||
					got.Type != want.Type || !slices.Equal(got.IPs, want.IPs) {
					t.Errorf("interface %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}

	if !warningFor(res, "qemu/101", "guest agent is not running") {
		t.Errorf("no warning for the stopped guest agent of 101: %+v", res.Warnings)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w.Item, "102") || strings.Contains(w.Item, "201") {
			t.Errorf("a stopped guest is not a problem, got warning %+v", w)
		}
	}
}

// TestMigratedGuestKeepsIdentity: a VM moved to another node is the same observation (same
// NativeID and SMBIOS UUID), with the new node as parent.
func TestMigratedGuestKeepsIdentity(t *testing.T) {
	srv, cfg := startLab(t)
	before, err := discover(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.MigrateGuest(100, "pve2")
	after, err := discover(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, a := byID(before)["homelab/qemu/100"], byID(after)["homelab/qemu/100"]
	if b.Parent.Node != "pve1" || a.Parent.Node != "pve2" || a.Keys.SystemUUID != b.Keys.SystemUUID || a.Keys.SystemUUID == "" {
		t.Errorf("before %+v / after %+v", b.Parent, a.Parent)
	}
	if len(a.Keys.IPs) == 0 {
		t.Errorf("after migration the agent is read on the new node: %+v", a.Keys)
	}
}

func TestIncludeTemplates(t *testing.T) {
	_, cfg := startLab(t)
	cfg.IncludeTemplates = true
	res, err := discover(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := byID(res)["homelab/qemu/9000"]
	if !ok || o.Facts.Attributes["proxmox.template"] != "true" {
		t.Fatalf("template 9000 not reported with include_templates: %+v", o)
	}
}

func TestOfflineNode(t *testing.T) {
	srv, cfg := startLab(t)
	srv.SetNodeOnline("pve2", false)
	res, err := discover(t, cfg)
	if err != nil {
		t.Fatalf("an offline node must not fail the source: %v", err)
	}
	obs := byID(res)
	if n := obs["homelab/node/pve2"]; n.Facts.Status != "offline" {
		t.Errorf("pve2 status %q, want offline", n.Facts.Status)
	}
	if !warningFor(res, "node pve2", "offline") {
		t.Errorf("no offline warning: %+v", res.Warnings)
	}
	// Its guests are still reported (not orphaned) from /cluster/resources, status unknown.
	db, ok := obs["homelab/qemu/101"]
	if !ok || db.Name != "db" || db.Facts.Status != "" || db.Facts.MemoryMB != 8192 || db.Parent.Node != "pve2" {
		t.Errorf("guest on offline node: %+v", db)
	}
	if len(db.Interfaces) != 0 {
		t.Errorf("no config was read, yet interfaces %+v", db.Interfaces)
	}
	// The rest is fully discovered.
	if web := obs["homelab/qemu/100"]; len(web.Keys.IPs) == 0 || web.Keys.SystemUUID != uuidWeb {
		t.Errorf("guest on online node incomplete: %+v", web)
	}
	// Nothing was asked of the offline node (no 595 round trips per guest).
	if n := srv.RequestsTo("/nodes/pve2/"); n != 0 {
		t.Errorf("%d requests to the offline node", n)
	}
}

func TestTokenWithoutRights(t *testing.T) {
	limited := proxmoxtest.Token{ID: "netbox@pve!agent", Secret: "0b6e6c1f-limited-token-secret",
		// Sys.Audit on / (cluster status, nodes) but VM.Audit only on VM 100 and no VM.Monitor.
		ACL: map[string][]string{"/": {proxmoxtest.PrivSysAudit}, "/vms/100": {proxmoxtest.PrivVMAudit}}}
	srv, cfg := startLab(t)
	srv.AddToken(limited)

	full, err := discover(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TokenID, cfg.TokenSecret = limited.ID, secret.New(limited.Secret)
	res, err := discover(t, cfg)
	if err != nil {
		t.Fatalf("a token seeing less is not a failure: %v", err)
	}
	var guests []string
	for _, o := range res.Observations {
		if o.Kind == sources.KindVM {
			guests = append(guests, o.NativeID)
		}
	}
	if !slices.Equal(guests, []string{"homelab/qemu/100"}) || len(res.Observations) >= len(full.Observations) {
		t.Errorf("limited token sees %v (full token %d observations)", guests, len(full.Observations))
	}
	if !warningFor(res, "token netbox@pve!agent", "PVEAuditor") {
		t.Errorf("no warning that the token may lack PVEAuditor: %+v", res.Warnings)
	}
	// Per-VM path without the privilege: 403 on the guest agent is a warning for that VM only.
	if !warningFor(res, "qemu/100", "HTTP 403") {
		t.Errorf("no 403 warning for the guest agent of 100: %+v", res.Warnings)
	}
	if web := byID(res)["homelab/qemu/100"]; web.Keys.SystemUUID != uuidWeb || len(web.Interfaces) != 1 {
		t.Errorf("config of 100 should still be read: %+v", web)
	}
	if warningFor(full, "token", "PVEAuditor") {
		t.Errorf("full token warned: %+v", full.Warnings)
	}
}

// TestSourceErrors: a source that fails as a whole gives one clear error naming the source and
// URL (never the secret) and no observations.
func TestSourceErrors(t *testing.T) {
	noRights := proxmoxtest.Token{ID: "netbox@pve!norights", Secret: "e2d7a1c4-no-rights-secret", ACL: map[string][]string{}}
	tests := []struct {
		name   string
		opts   []proxmoxtest.Option
		mutate func(*Config)
		want   []string // substrings of the error
	}{
		{name: "malformed JSON", opts: []proxmoxtest.Option{proxmoxtest.WithFaults(proxmoxtest.Fault{PathContains: "/cluster/resources", Malformed: true})},
			want: []string{"GET /cluster/resources?type=vm", "malformed JSON"}},
		{name: "truncated body", opts: []proxmoxtest.Option{proxmoxtest.WithFaults(proxmoxtest.Fault{PathContains: "/cluster/status", Truncated: true})},
			want: []string{"GET /cluster/status", "malformed JSON"}},
		{name: "401 wrong secret", mutate: func(c *Config) { c.TokenSecret = secret.New("ffffffff-wrong-secret-value") },
			want: []string{"HTTP 401", "authentication failure", "check token_id and token_secret"}},
		{name: "403 token without rights", opts: []proxmoxtest.Option{proxmoxtest.WithTokens(noRights)},
			mutate: func(c *Config) { c.TokenID, c.TokenSecret = noRights.ID, secret.New(noRights.Secret) },
			want:   []string{"GET /cluster/status", "HTTP 403", "Permission check failed (/, Sys.Audit)", "PVEAuditor"}},
		{name: "500 on the guest list", opts: []proxmoxtest.Option{proxmoxtest.WithFaults(proxmoxtest.Fault{PathContains: "/cluster/resources", Status: 500, Message: "cfs-lock timeout"})},
			want: []string{"HTTP 500", "cfs-lock timeout"}},
		{name: "timeout", opts: []proxmoxtest.Option{proxmoxtest.WithLatency(2 * time.Second)},
			mutate: func(c *Config) { c.Timeout = 150 * time.Millisecond },
			want:   []string{"GET /cluster/status", "timed out"}},
		{name: "TLS without CA", mutate: func(c *Config) { c.CAFile = "" },
			want: []string{"certificate", "ca_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cfg := startLab(t, tt.opts...)
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			res, err := discover(t, cfg)
			if err == nil {
				t.Fatalf("no error; %d observations", len(res.Observations))
			}
			if len(res.Observations) != 0 || len(res.Warnings) != 0 {
				t.Errorf("a failed source must return an empty result, got %d observations", len(res.Observations))
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, w := range append([]string{`"pve-lab"`, srv.URL + "/api2/json"}, tt.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			for _, sec := range []string{proxmoxtest.DefaultTokenSecret, cfg.TokenSecret.Reveal(), noRights.Secret} {
				if strings.Contains(msg, sec) {
					t.Errorf("error leaks the secret: %q", msg)
				}
			}
			var re *RequestError
			if !errors.As(err, &re) || re.Source != "pve-lab" {
				t.Errorf("error %T is not a *RequestError for the source", err)
			}
			// Check reports the same failure.
			src, _ := New(cfg, nil)
			if err := src.Check(context.Background()); err == nil {
				t.Errorf("Check passed")
			}
		})
	}
}

// TestPerGuestFaults: one bad guest never drops the rest, and nothing half-parsed from its
// config gets in.
func TestPerGuestFaults(t *testing.T) {
	srv, cfg := startLab(t,
		proxmoxtest.WithFaults(
			proxmoxtest.Fault{PathContains: "/qemu/100/config", Malformed: true},
			proxmoxtest.Fault{PathContains: "/lxc/200/interfaces", Status: 500, Message: "got timeout"},
			proxmoxtest.Fault{PathContains: "/nodes/pve1/status", Status: 500},
			proxmoxtest.Fault{PathContains: "/qemu/102/config", Delay: time.Minute},
		))
	// long enough that no unfaulted request times out under CI load (-race, 2 cores)
	cfg.Timeout = 2 * time.Second
	res, err := discover(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	obs := byID(res)
	web := obs["homelab/qemu/100"]
	if web.Name != "web" || web.Facts.Status != "active" || len(web.Interfaces) != 0 || len(web.Disks) != 0 || web.Keys.SystemUUID != "" {
		t.Errorf("guest with malformed config: want resource data only, got %+v", web)
	}
	if !warningFor(res, "qemu/100", "malformed JSON") || !warningFor(res, "qemu/100", srv.URL) {
		t.Errorf("no clear warning for 100: %+v", res.Warnings)
	}
	if dns := obs["homelab/lxc/200"]; len(dns.Interfaces) != 1 || len(dns.Interfaces[0].IPs) != 0 || dns.Keys.FQDN != "dns.lab.example" {
		t.Errorf("container whose interfaces failed: %+v", dns)
	}
	if !warningFor(res, "lxc/200", "got timeout") || !warningFor(res, "node pve1", "HTTP 500") {
		t.Errorf("warnings %+v", res.Warnings)
	}
	if db := obs["homelab/qemu/101"]; db.Keys.SystemUUID == "" || len(db.Interfaces) != 1 {
		t.Errorf("unaffected guest: %+v", db)
	}
	if old := obs["homelab/qemu/102"]; old.Name != "old" || len(old.Interfaces) != 0 || !warningFor(res, "qemu/102", "timed out") {
		t.Errorf("guest whose config timed out: %+v", old)
	}
	if n := obs["homelab/node/pve1"]; n.Facts.Platform != "" || n.Facts.Status != "active" {
		t.Errorf("node whose status failed: %+v", n)
	}
}

func TestTwoClustersSameVMName(t *testing.T) {
	guest := func(mac string) proxmoxtest.Guest {
		return proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: 100, Node: "pve1", Name: "web", Status: "stopped",
			MemoryMB: 1024, Config: map[string]any{"net0": "virtio=" + mac + ",bridge=vmbr0"}}
	}
	node := proxmoxtest.Node{Name: "pve1", Online: true}
	a := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("alpha"), proxmoxtest.WithNodes(node), proxmoxtest.WithGuests(guest("BC:24:11:AA:00:01")))
	b := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("beta"), proxmoxtest.WithNodes(node), proxmoxtest.WithGuests(guest("BC:24:11:BB:00:01")))
	ra, err := discover(t, configFor(t, a, "pve-a"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := discover(t, configFor(t, b, "pve-b"))
	if err != nil {
		t.Fatal(err)
	}
	wa, wb := byID(ra)["alpha/qemu/100"], byID(rb)["beta/qemu/100"]
	if wa.Name != "web" || wb.Name != "web" || wa.Parent.Cluster != "alpha" || wb.Parent.Cluster != "beta" {
		t.Fatalf("alpha %+v / beta %+v", wa, wb)
	}
	if wa.NativeID == wb.NativeID {
		t.Errorf("same NativeID %q for two VMs", wa.NativeID)
	}
}

func TestStandaloneNode(t *testing.T) {
	opts := []proxmoxtest.Option{proxmoxtest.WithNodes(proxmoxtest.Node{Name: "solo", Online: true}),
		proxmoxtest.WithGuests(proxmoxtest.Guest{Type: proxmoxtest.TypeLXC, VMID: 300, Node: "solo", Name: "pihole", Status: "stopped", MemoryMB: 256})}
	tests := []struct{ override, wantID string }{
		{"", "solo/lxc/300"},
		{"home", "home/lxc/300"},
	}
	for _, tt := range tests {
		srv := proxmoxtest.NewTestServer(t, opts...)
		cfg := configFor(t, srv, "solo")
		cfg.ClusterName = tt.override
		res, err := discover(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := byID(res)[tt.wantID]; !ok {
			t.Errorf("cluster_name %q: want %s in %v", tt.override, tt.wantID, slices.Collect(func(yield func(string) bool) {
				for _, o := range res.Observations {
					yield(o.NativeID)
				}
			}))
		}
	}
}

func TestProgressAndConcurrencyBound(t *testing.T) {
	lab := proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 60, Seed: 7})
	srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("gen"), proxmoxtest.WithLab(lab), proxmoxtest.WithLatency(2*time.Millisecond))
	cfg := configFor(t, srv, "gen")
	cfg.Concurrency = 3
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var dones []int
	lastTotal := 0
	res, err := src.Discover(context.Background(), func(done, total int, _ string) {
		mu.Lock()
		defer mu.Unlock()
		dones = append(dones, done)
		lastTotal = total
	})
	if err != nil {
		t.Fatal(err)
	}
	if lastTotal != len(res.Observations) || dones[len(dones)-1] != lastTotal || !slices.IsSorted(dones) {
		t.Errorf("progress %v total %d for %d observations", dones, lastTotal, len(res.Observations))
	}
	if m := srv.MaxInFlight(); m > 3 {
		t.Errorf("%d requests in flight with concurrency 3", m)
	}
	nodes, withIPs := 0, 0
	for _, o := range res.Observations {
		if o.Kind == sources.KindDevice {
			nodes++
		} else if len(o.Keys.IPs) > 0 {
			withIPs++
		}
	}
	if nodes != 2 || withIPs == 0 {
		t.Errorf("%d nodes, %d guests with IPs", nodes, withIPs)
	}
}

func TestDiscoverCancelled(t *testing.T) {
	srv := proxmoxtest.NewTestServer(t, proxmoxtest.WithCluster("c"), proxmoxtest.WithLatency(20*time.Millisecond),
		proxmoxtest.WithLab(proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 1, Guests: 50})))
	src, err := New(configFor(t, srv, "c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	res, err := src.Discover(ctx, nil)
	if err == nil || len(res.Observations) != 0 {
		t.Fatalf("cancelled discovery: err %v, %d observations", err, len(res.Observations))
	}
}

// BenchmarkDiscover1000VMs: 1,000 guests on 3 nodes, 5 ms per request, over TLS, at the
// default concurrency and at 16.
func BenchmarkDiscover1000VMs(b *testing.B) {
	lab := proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 3, Guests: 1000, Seed: 42})
	for _, conc := range []int{DefaultConcurrency, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			srv := proxmoxtest.NewTestServer(b, proxmoxtest.WithCluster("bench"), proxmoxtest.WithLab(lab),
				proxmoxtest.WithLatency(5*time.Millisecond))
			cfg := configFor(b, srv, "bench")
			cfg.Concurrency = conc
			src, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			var obs, requests int
			var wall time.Duration
			for b.Loop() {
				srv.ResetRequests()
				start := time.Now()
				res, err := src.Discover(context.Background(), nil)
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				obs, requests = len(res.Observations), int(srv.Requests())
			}
			b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/op")
			b.ReportMetric(float64(requests), "requests/op")
			b.ReportMetric(float64(obs), "observations/op")
			b.ReportMetric(float64(srv.MaxInFlight()), "max-in-flight")
		})
	}
}

// TestCAFileAddsToSystemRoots: ca_file is trusted in addition to the system's roots. It used to
// replace them, so a cluster with a publicly signed certificate failed once ca_file was set.
func TestCAFileAddsToSystemRoots(t *testing.T) {
	srv, cfg := startLab(t)
	cfg.SetDefaults()
	tr, err := newTransport(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.SystemCertPool()
	if err != nil {
		want = x509.NewCertPool() // no system bundle: the ca_file alone
	}
	if !want.AppendCertsFromPEM(srv.CACertPEM()) {
		t.Fatal("simulator CA is not PEM")
	}
	if got := tr.TLSClientConfig; got.RootCAs == nil || !got.RootCAs.Equal(want) || got.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS config %+v: want the system's roots plus the ca_file, TLS 1.2 at least", got)
	}
}

// TestInsecureWarnsOnce: turning verification off is logged once, naming the source.
func TestInsecureWarnsOnce(t *testing.T) {
	_, cfg := startLab(t)
	cfg.CAFile, cfg.InsecureSkipVerify = "", true
	var logs bytes.Buffer
	src, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := src.Check(t.Context()); err != nil {
			t.Fatalf("Check with insecure_skip_verify: %v", err)
		}
	}
	if n := strings.Count(logs.String(), `proxmox source \"pve-lab\": TLS certificate verification is OFF`); n != 1 {
		t.Errorf("want one warning naming the source, got %d:\n%s", n, logs.String())
	}
}
