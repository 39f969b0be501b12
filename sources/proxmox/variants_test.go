package proxmox

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
)

// fieldRead is a schema property the adapter reads, and what may change when it varies.
type fieldRead struct {
	endpoint, field string
	facts           string // regexp of the fact paths (below an observation) it feeds; "" none
	warn            string // regexp of the new warnings a variant may bring; "" none
	err             bool   // a variant may fail the discovery (the answer then names no node)
}

// fieldsRead lists every schema property the adapter reads. A property that can vary is varied
// by TestSchemaVariants (it fails when a listed one is not); one that cannot (a required plain
// string) is in fixedReads. A property not listed here that changes the observations when it
// varies fails the test: a new field read must be listed, and is then varied.
var fieldsRead = []fieldRead{
	{"/cluster/status", "[].type", ".*", ".*", true},
	{"/cluster/status", "[].online", ".*", "offline", false},
	{"/cluster/status", "[].ip", `^keys\.ips`, "", false},

	{"/cluster/resources", "[].type", ".*", ".*", false},
	{"/cluster/resources", "[].vmid", "", "", false},
	{"/cluster/resources", "[].node", ".*", "names no node", false},
	{"/cluster/resources", "[].name", `^name$|^keys\.fqdn$`, "", false},
	{"/cluster/resources", "[].status", `^facts\.status$|^interfaces|^keys`, "", false},
	{"/cluster/resources", "[].maxcpu", `^facts\.vcpus$`, "", false},
	{"/cluster/resources", "[].maxmem", `^facts\.memory_mb$`, "", false},
	{"/cluster/resources", "[].maxdisk", `^facts\.disk_mb$`, "", false},
	{"/cluster/resources", "[].tags", `^facts\.tags`, "", false},
	{"/cluster/resources", "[].template", ".*", "", false},

	{"/nodes/{node}/status", "cpuinfo.cpus", `^facts\.vcpus$`, "", false},
	{"/nodes/{node}/status", "cpuinfo.sockets", `^facts\.attributes\.proxmox\.cpu_sockets$`, "", false},
	{"/nodes/{node}/status", "memory.total", `^facts\.memory_mb$`, "", false},

	{"/nodes/{node}/network", "[].type", `^interfaces\[\d+\]\.type$`, "", false},
	{"/nodes/{node}/network", "[].cidr", `^interfaces\[\d+\]\.ips|^keys\.ips`, "", false},
	{"/nodes/{node}/network", "[].cidr6", `^interfaces\[\d+\]\.ips|^keys\.ips`, "", false},
	{"/nodes/{node}/network", "[].vlan-id", `^interfaces\[\d+\]\.vlan$`, "", false},

	{"/nodes/{node}/qemu/{vmid}/config", "name", `^name$|^keys\.fqdn$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "memory", `^facts\.memory_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "cores", `^facts\.vcpus$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "sockets", `^facts\.vcpus$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "tags", `^facts\.tags`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "ostype", `^facts\.attributes\.proxmox\.ostype$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "smbios1", `^keys\.system_uuid$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "agent", `^interfaces\[\d+\]\.(name|ips)|^keys\.ips`, "agent not enabled", false},
	{"/nodes/{node}/qemu/{vmid}/config", "agent:enabled", `^interfaces\[\d+\]\.(name|ips)|^keys\.ips`, "agent not enabled", false},
	{"/nodes/{node}/qemu/{vmid}/config", "net[n]", `^interfaces|^keys\.(macs|ips)`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "net[n]:model", "", "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "net[n]:macaddr", `^interfaces|^keys\.(macs|ips)`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "net[n]:bridge", `^interfaces\[\d+\]\.bridge$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "net[n]:tag", `^interfaces\[\d+\]\.vlan$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "scsi[n]", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "scsi[n]:file", "", "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "scsi[n]:size", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "virtio[n]", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "virtio[n]:size", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "sata[n]", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "sata[n]:size", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "ide[n]", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/qemu/{vmid}/config", "ide[n]:media", `^disks|^facts\.disk_mb$`, "", false},

	{"/nodes/{node}/lxc/{vmid}/config", "hostname", `^name$|^keys\.fqdn$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "memory", `^facts\.memory_mb$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "cores", `^facts\.vcpus$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "tags", `^facts\.tags`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "ostype", `^facts\.attributes\.proxmox\.ostype$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]", `^interfaces|^keys\.(macs|ips)`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:hwaddr", `^interfaces\[\d+\]\.mac$|^keys\.macs`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:bridge", `^interfaces\[\d+\]\.bridge$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:tag", `^interfaces\[\d+\]\.vlan$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:ip", `^interfaces\[\d+\]\.ips|^keys\.ips`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:ip6", `^interfaces\[\d+\]\.ips|^keys\.ips`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "rootfs", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "rootfs:volume", "", "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "rootfs:size", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "mp[n]", `^disks|^facts\.disk_mb$`, "", false},
	{"/nodes/{node}/lxc/{vmid}/config", "mp[n]:size", `^disks|^facts\.disk_mb$`, "", false},

	{"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].hardware-address", `^interfaces\[\d+\]\.(name|ips)|^keys\.ips`, "", false},
	{"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].ip-addresses", `^interfaces\[\d+\]\.ips|^keys\.ips`, "", false},
	{"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].ip-addresses[].prefix", "", "", false},

	// inet and inet6 are optional, ip-addresses required: dropping one loses nothing.
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].inet", "", "", false},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].inet6", "", "", false},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].ip-addresses[].ip-address", "", "", false},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].ip-addresses[].prefix", "", "", false},
}

// fixedReads are properties the adapter reads that the schema allows no variant of (required
// plain strings); the test checks that this stays so.
var fixedReads = []struct{ endpoint, field string }{
	{"/cluster/status", "[].name"},
	{"/cluster/resources", "[].id"},
	{"/nodes/{node}/status", "pveversion"},
	{"/nodes/{node}/qemu/{vmid}/config", "smbios1:uuid"}, // smbios1's format is named, not spelled out
	{"/nodes/{node}/status", "cpuinfo.model"},
	{"/nodes/{node}/network", "[].iface"},
	{"/nodes/{node}/lxc/{vmid}/config", "net[n]:name"},
	{"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].name"},
	{"/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].ip-addresses[].ip-address"},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].name"},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].hwaddr"},
	{"/nodes/{node}/lxc/{vmid}/interfaces", "[].hardware-address"},
}

// variantLab is a small cluster in which every property of fieldsRead is present.
func variantLab() []proxmoxtest.Option {
	return []proxmoxtest.Option{
		proxmoxtest.WithCluster("vlab"),
		proxmoxtest.WithNodes(
			proxmoxtest.Node{Name: "pve1", Online: true, IP: "192.0.2.11", CPUModel: "AMD EPYC 7302P", Sockets: 1, Cores: 16, MemoryBytes: 128 << 30,
				Network: []proxmoxtest.NodeIface{{Iface: "eno1", Type: "eth"},
					{Iface: "vmbr0", Type: "bridge", CIDR: "192.0.2.11/24", CIDR6: "2001:db8::11/64", BridgePorts: "eno1"},
					{Iface: "vmbr0.30", Type: "vlan", CIDR: "198.51.100.11/24", VLANID: 30}}},
			proxmoxtest.Node{Name: "pve2", Online: true, IP: "192.0.2.12", CPUModel: "Intel Xeon E-2278G", Sockets: 1, Cores: 8, MemoryBytes: 64 << 30},
		),
		proxmoxtest.WithGuests(
			proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: 100, Node: "pve1", Name: "web.example.org", Status: "running", Cores: 2, Sockets: 2,
				MemoryMB: 4096, Tags: []string{"prod"}, Agent: proxmoxtest.AgentRunning,
				Config: map[string]any{
					"net0":    "virtio=BC:24:11:00:01:00,bridge=vmbr0,tag=20,firewall=1",
					"scsi0":   "local-lvm:vm-100-disk-0,iothread=1,size=32G",
					"virtio1": "local-lvm:vm-100-disk-1,size=8G",
					"sata0":   "local-lvm:vm-100-disk-2,size=1T",
					"ide2":    "local:iso/debian-12.iso,media=cdrom,size=631M",
					"smbios1": "uuid=47a1054f-8e0a-4f6c-9d3b-2c1e5a7b9d01",
				},
				Interfaces: []proxmoxtest.GuestIface{{Name: "ens18", MAC: "BC:24:11:00:01:00", IPs: []string{"192.0.2.100/24", "2001:db8::100/64"}}}},
			proxmoxtest.Guest{Type: proxmoxtest.TypeQEMU, VMID: 9000, Node: "pve1", Name: "tmpl", Status: "stopped", Template: true, MemoryMB: 2048,
				Config: map[string]any{"scsi0": "local-lvm:base-9000-disk-0,size=8G"}},
			proxmoxtest.Guest{Type: proxmoxtest.TypeLXC, VMID: 200, Node: "pve2", Name: "dns", Status: "running", Cores: 1, MemoryMB: 512,
				Tags: []string{"infra", "dns"},
				Config: map[string]any{
					"net0":   "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=198.51.100.53/24,ip6=2001:db8:1::53/64,tag=30,type=veth",
					"rootfs": "local-lvm:vm-200-disk-0,size=8G",
					"mp0":    "tank:subvol-200-disk-1,mp=/data,size=100G",
				},
				Interfaces: []proxmoxtest.GuestIface{{Name: "eth0", MAC: "BC:24:11:00:02:00", IPs: []string{"198.51.100.53/24", "2001:db8:1::53/64"}}}},
		),
	}
}

// flatFacts flattens a result into "native id|fact path" -> value, and its warnings.
func flatFacts(t *testing.T, res sources.Result) (map[string]string, map[string]bool) {
	t.Helper()
	facts := map[string]string{}
	for _, o := range res.Observations {
		o.SeenAt = time.Time{}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		flatten(o.NativeID+"|", v, facts)
	}
	warns := map[string]bool{}
	for _, w := range res.Warnings {
		warns[w.Item+": "+w.Message] = true
	}
	return facts, warns
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + k
			if !strings.HasSuffix(prefix, "|") {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = fmt.Sprint(x)
	}
}

// recordAnswers runs a discovery and keeps every answer's data by request path.
func recordAnswers(t *testing.T) map[string]any {
	t.Helper()
	var mu sync.Mutex
	answers := map[string]any{}
	srv := proxmoxtest.NewTestServer(t, append(variantLab(), proxmoxtest.WithRewrite(func(path string, data any) any {
		mu.Lock()
		defer mu.Unlock()
		answers[path] = data
		return data
	}))...)
	if _, err := discover(t, configFor(t, srv, "vlab")); err != nil {
		t.Fatal(err)
	}
	return answers
}

// loadSchema is proxmoxtest's copy of PVE's return schemas, with QEMU's guest-agent schema for
// the agent's answer (an object without properties in apidata).
func loadSchema(t *testing.T) proxmoxtest.APISchema {
	t.Helper()
	schema, err := proxmoxtest.LoadAPISchema("proxmoxtest/testdata/pve-api-returns.json")
	if err != nil {
		t.Fatal(err)
	}
	qga, err := proxmoxtest.LoadAPISchema("proxmoxtest/testdata/qga-returns.json")
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(schema.Returns, qga.Returns)
	return schema
}

// TestSchemaVariants serves, for every endpoint the adapter reads, every variant of its answers
// that PVE's published schema allows (an optional property absent, a number as a string,
// every enum value, booleans as 0 and 1, a property string's keys absent, changed or written
// out) and checks the discovery: no failure or panic, and only the facts fed by the varied
// property change (none for a number as a string). Every property the adapter reads is varied.
func TestSchemaVariants(t *testing.T) {
	schema := loadSchema(t)
	answers := recordAnswers(t)

	var variants []proxmoxtest.Variant
	for _, endpoint := range slices.Sorted(maps.Keys(schema.Returns)) {
		var samples []any
		for path, data := range answers {
			if proxmoxtest.MatchPath(endpoint, path) {
				samples = append(samples, data)
			}
		}
		variants = append(variants, proxmoxtest.SchemaVariants(endpoint, schema.Returns[endpoint], samples)...)
	}

	reads := map[string]fieldRead{}
	for _, r := range fieldsRead {
		reads[r.endpoint+" "+r.field] = r
	}
	for _, f := range fixedReads {
		for _, v := range variants {
			if v.Endpoint == f.endpoint && v.Field == f.field {
				t.Errorf("%s %s is in fixedReads but the schema allows a variant (%s): move it to fieldsRead", f.endpoint, f.field, v.Change)
			}
		}
	}

	_, baseCfg := startVariantLab(t, nil)
	base, err := discover(t, baseCfg)
	if err != nil {
		t.Fatal(err)
	}
	baseFacts, baseWarns := flatFacts(t, base)

	varied := map[string]int{}
	for _, v := range variants {
		varied[v.Endpoint+" "+v.Field]++
	}
	for _, r := range fieldsRead {
		if varied[r.endpoint+" "+r.field] == 0 {
			t.Errorf("%s %s is read by the adapter but no variant of it is served (absent from the lab's answers, or not in the schema)", r.endpoint, r.field)
		}
	}
	t.Logf("%d variants over %d endpoints, %d read properties", len(variants), len(schema.Returns), len(fieldsRead))

	for _, v := range variants {
		t.Run(v.Name(), func(t *testing.T) {
			t.Parallel()
			// Each changed answer is still one the schema allows.
			for path, data := range answers {
				if !proxmoxtest.MatchPath(v.Endpoint, path) {
					continue
				}
				changed, _ := v.Apply(data)
				for _, p := range proxmoxtest.CheckSchema(schema.Returns[v.Endpoint], changed, "data") {
					// The simulator's one known gap (proxmoxtest's knownSchemaGaps): memory as a number.
					if v.Endpoint != "/nodes/{node}/qemu/{vmid}/config" || !strings.HasPrefix(p, "data.memory:") {
						t.Errorf("variant not allowed by the schema: %s", p)
					}
				}
			}
			r, isRead := reads[v.Endpoint+" "+v.Field]
			_, cfg := startVariantLab(t, v.Rewrite())
			res, err := discover(t, cfg)
			if err != nil {
				if !r.err {
					t.Fatalf("discovery failed: %v", err)
				}
				return
			}
			allowed := regexp.MustCompile("^$")
			if isRead && r.facts != "" && v.Change != "string" {
				allowed = regexp.MustCompile(r.facts)
			}
			facts, warns := flatFacts(t, res)
			for _, k := range diffKeys(baseFacts, facts) {
				_, path, _ := strings.Cut(k, "|")
				if !allowed.MatchString(path) {
					what := "a property the adapter does not read (per fieldsRead)"
					if isRead {
						what = "a property that feeds only " + r.facts
					}
					t.Errorf("%s changed (%q -> %q), but the variant changes %s", k, baseFacts[k], facts[k], what)
				}
			}
			for w := range warns {
				if baseWarns[w] {
					continue
				}
				if !isRead || r.warn == "" || !regexp.MustCompile(r.warn).MatchString(w) {
					t.Errorf("new warning: %s", w)
				}
			}
		})
	}
}

func startVariantLab(t *testing.T, rw proxmoxtest.Rewrite) (*proxmoxtest.Server, Config) {
	t.Helper()
	opts := variantLab()
	if rw != nil {
		opts = append(opts, proxmoxtest.WithRewrite(rw))
	}
	srv := proxmoxtest.NewTestServer(t, opts...)
	return srv, configFor(t, srv, "vlab")
}

// diffKeys lists the keys whose value differs, or that only one side has.
func diffKeys(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestInvalidValuesNamed: a value the schema does not allow fails the source (the guest list,
// the cluster status) or gives a warning (everything per node or guest) naming the endpoint,
// the field path and the value.
func TestInvalidValuesNamed(t *testing.T) {
	tests := []struct {
		variant proxmoxtest.Variant
		fatal   bool     // the discovery fails; else a warning
		want    []string // in the error or the warning
	}{
		{proxmoxtest.SetValue("/cluster/resources", "[].vmid", "abc"), true, []string{"GET /cluster/resources", "data[0].vmid", `"abc"`, "not an integer"}},
		{proxmoxtest.SetValue("/cluster/resources", "[].maxmem", "lots"), true, []string{"GET /cluster/resources", "data[0].maxmem", `"lots"`}},
		{proxmoxtest.SetValue("/cluster/resources", "[].template", "maybe"), true, []string{"data[2].template", `"maybe"`, "boolean"}},
		{proxmoxtest.SetValue("/cluster/status", "[].online", "yes please"), true, []string{"GET /cluster/status", "data[1].online", `"yes please"`}},
		{proxmoxtest.SetValue("/nodes/{node}/status", "cpuinfo.cpus", "many"), false, []string{"GET /nodes/pve1/status", "data.cpuinfo.cpus", `"many"`}},
		{proxmoxtest.SetValue("/nodes/{node}/network", "[].vlan-id", "x"), false, []string{"GET /nodes/pve1/network", ".vlan-id", `"x"`}},
		{proxmoxtest.SetValue("/nodes/{node}/qemu/{vmid}/config", "memory", "lots"), false, []string{"/nodes/pve1/qemu/100/config", "memory", "lots"}},
		{proxmoxtest.SetValue("/nodes/{node}/qemu/{vmid}/config", "net[n]:tag", "5000"), false, []string{"/nodes/pve1/qemu/100/config", "net0", "tag", "5000"}},
		{proxmoxtest.SetValue("/nodes/{node}/qemu/{vmid}/config", "scsi[n]:size", "big"), false, []string{"/nodes/pve1/qemu/100/config", "scsi0", "big"}},
		{proxmoxtest.SetValue("/nodes/{node}/lxc/{vmid}/config", "cores", "two"), false, []string{"/nodes/pve2/lxc/200/config", "cores", "two"}},
		{proxmoxtest.SetValue("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "result[].ip-addresses[].prefix", "/24"), false,
			[]string{"GET /nodes/pve1/qemu/100/agent/network-get-interfaces", "data.result.ip-addresses.prefix", `"/24"`}},
		{proxmoxtest.SetValue("/nodes/{node}/lxc/{vmid}/interfaces", "[].ip-addresses[].prefix", true), false,
			[]string{"GET /nodes/pve2/lxc/200/interfaces", "ip-addresses.prefix", "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.variant.Name(), func(t *testing.T) {
			_, cfg := startVariantLab(t, tt.variant.Rewrite())
			src, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := src.Discover(ctx, nil)
			var msg string
			switch {
			case tt.fatal && err == nil:
				t.Fatalf("discovery did not fail; warnings %+v", res.Warnings)
			case tt.fatal:
				msg = err.Error()
			case err != nil:
				t.Fatalf("discovery failed: %v", err)
			default:
				for _, w := range res.Warnings {
					if strings.Contains(w.Message, tt.want[0]) {
						msg = w.Item + ": " + w.Message
					}
				}
				if msg == "" {
					t.Fatalf("no warning about %s in %+v", tt.want[0], res.Warnings)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not name %q", msg, w)
				}
			}
		})
	}
}
