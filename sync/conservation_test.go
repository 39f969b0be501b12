package sync

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sources"
)

// genObservations makes a small random estate in the shapes sources report: machines with
// named and nameless interfaces, MACs and addresses known only as keys (an offline node, a
// hosts-file line, a Home Assistant connection), shared and unusable addresses, services
// without ports, disks without size, unnamed and over-long names.
func genObservations(rng *rand.Rand) []sources.Observation {
	pick := func(n int) int { return rng.IntN(n) }
	mac := func() sources.MAC {
		first := []string{"00", "BC", "52", "DA", "3C"}[pick(5)] // universal and locally administered
		return sources.MAC(fmt.Sprintf("%s:24:11:00:%02X:%02X", first, pick(3), pick(12)))
	}
	addr := func() netip.Addr {
		switch pick(16) {
		case 0:
			return netip.MustParseAddr("127.0.0.1")
		case 3:
			return netip.MustParseAddr("192.0.2.0") // the network ID of 192.0.2.0/24
		case 4:
			return netip.MustParseAddr("192.0.2.255") // its broadcast address
		case 1:
			return netip.MustParseAddr(fmt.Sprintf("fe80::%x", pick(40)+1))
		case 2:
			return netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", pick(40)+1))
		}
		return netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", pick(60)+1))
	}
	pfx := func() netip.Prefix {
		a := addr()
		if pick(2) == 0 {
			return netip.PrefixFrom(a, a.BitLen())
		}
		if a.Is4() {
			return netip.PrefixFrom(a, 24)
		}
		return netip.PrefixFrom(a, 64)
	}
	names := []string{"", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
		strings.Repeat("x", 70)}
	type src struct{ name, adapter string }
	srcs := []src{{"pve", "proxmox"}, {"ha", "homeassistant"}, {"inv", "inventory"}, {"scan", "netscan"}}
	n := 4 + pick(10)
	out := make([]sources.Observation, 0, n)
	for i := range n {
		s := srcs[pick(len(srcs))]
		o := sources.Observation{Source: s.name, Adapter: s.adapter, NativeID: fmt.Sprintf("%s/%d", s.name, i),
			Kind: []sources.Kind{sources.KindDevice, sources.KindVM, sources.KindHost}[pick(3)],
			Name: names[pick(len(names))], SeenAt: time.Unix(1_790_000_000, 0)}
		if o.Kind == sources.KindVM {
			o.Parent = &sources.Parent{Cluster: "lab", ClusterType: "Proxmox VE", Node: "pve1"}
		}
		for range pick(3) {
			ifc := sources.Interface{}
			if pick(3) > 0 {
				ifc.Name = []string{"eth0", "eth1", "net0", "vmbr0"}[pick(4)]
			}
			if pick(3) > 0 {
				ifc.MAC = mac()
			}
			for range pick(3) {
				ifc.IPs = append(ifc.IPs, pfx())
			}
			o.Interfaces = append(o.Interfaces, ifc)
		}
		for range pick(3) {
			o.Keys.MACs = append(o.Keys.MACs, mac())
		}
		for range pick(3) {
			o.Keys.IPs = append(o.Keys.IPs, addr())
		}
		for range pick(3) {
			svc := []sources.Service{{Name: "ssh", Protocol: "tcp", Ports: []int{22}}, {Name: "https", Protocol: "tcp", Ports: []int{443}},
				{Name: "dns", Protocol: "udp", Ports: []int{53}}, {Name: "portless", Protocol: "tcp"},
				{Name: "ping", Protocol: "icmp", Ports: []int{1}}, {Protocol: "tcp", Ports: []int{8080, 8443}}}[pick(6)]
			o.Services = append(o.Services, svc)
		}
		for j := range pick(3) {
			o.Disks = append(o.Disks, sources.Disk{Name: []string{"scsi0", "scsi1", ""}[pick(3)] + fmt.Sprint([]string{"", "x"}[j%2]), SizeMB: int64(pick(3)) * 1024})
		}
		o.Normalize()
		out = append(out, o)
	}
	return out
}

// TestConservationOfFacts: over generated estates, every MAC, IP address, service and disk of
// every entity is on that entity's object in NetBox after the apply, or the plan lists it
// under "not written" with a reason. Both hosts settings. Against the simulator, or a real
// NetBox when NETBOX_TEST_URL/NETBOX_TEST_TOKEN name one (fewer seeds: each resets it).
func TestConservationOfFacts(t *testing.T) {
	seeds := 40
	if testing.Short() || testnetbox.Real() {
		seeds = 6
	}
	for seed := range seeds {
		hosts := []string{"ip", "device"}[seed%2]
		t.Run(fmt.Sprintf("seed%d_hosts_%s", seed, hosts), func(t *testing.T) {
			obs := genObservations(rand.New(rand.NewPCG(uint64(seed), 14)))
			nb := testnetbox.New(t)
			c, err := netbox.New(netbox.Config{URL: nb.URL, Token: secret.New(nb.Token), Timeout: time.Minute,
				RequestsPerSecond: -1, BatchSize: 1000}, nil, netbox.WithBackoff(time.Millisecond, 10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			eng := NewEngine(FromClient(c), Config{Hosts: hosts}, nil)
			mr := Merge(obs, DefaultMergeConfig())
			p, err := eng.Plan(t.Context(), mr.Entities, mr.Conflicts, ranAll(obs))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := eng.Apply(t.Context(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Results {
				if r.Status != StatusDone {
					t.Errorf("action %s %s: %s: %s", r.Op, r.Key, r.Status, r.Error)
				}
			}
			// every observation's facts are in the entities holding it (nothing lost in merge)
			for _, o := range obs {
				var holders []*Entity
				for i := range mr.Entities {
					if slices.ContainsFunc(mr.Entities[i].Sources, func(s SourceRef) bool { return s.NativeID == o.NativeID && s.Source == o.Source }) {
						holders = append(holders, &mr.Entities[i])
					}
				}
				for _, m := range o.Keys.MACs {
					if !slices.ContainsFunc(holders, func(e *Entity) bool { return slices.Contains(e.MACs, m) }) {
						t.Errorf("%s: MAC %s in no entity", o.NativeID, m)
					}
				}
				for _, a := range o.Keys.IPs {
					if !slices.ContainsFunc(holders, func(e *Entity) bool { return slices.Contains(entityAddrs(e), a) }) {
						t.Errorf("%s: IP %s in no entity", o.NativeID, a)
					}
				}
			}
			w := newWorld(nb, eng.cfg.CustomField)
			for i := range mr.Entities {
				e := &mr.Entities[i]
				checkEntityFacts(t, e, p, w, hosts)
			}
			if t.Failed() {
				t.Logf("plan:\n%s", planText(p))
				return
			}
			// the placement is stable: a second run of the same estate writes nothing
			p2, err := eng.Plan(t.Context(), mr.Entities, mr.Conflicts, ranAll(obs))
			if err != nil {
				t.Fatal(err)
			}
			if !p2.Empty() {
				t.Errorf("second plan is not empty:\n%s", planText(p2))
			}
		})
	}
}

// world is NetBox after the apply, indexed for the conservation check.
type world struct {
	machines   map[string][]Object // entity id -> devices and VMs carrying its record
	hostIPs    map[string][]Object // entity id -> IP addresses carrying its record
	ifaces     map[string][]Object // "device:ID" / "vm:ID" -> interfaces
	macsOf     map[string][]string // "dcim.interface:ID" -> MACs
	ipsOf      map[string][]string // "dcim.interface:ID" -> addresses
	services   map[string][]Object // "dcim.device:ID" -> services
	disksOfVM  map[int][]Object
	customName string
}

// newWorld reads NetBox back through its REST API (the same in both tiers).
func newWorld(l *testnetbox.Target, customField string) *world {
	w := &world{machines: map[string][]Object{}, hostIPs: map[string][]Object{}, ifaces: map[string][]Object{},
		macsOf: map[string][]string{}, ipsOf: map[string][]string{}, services: map[string][]Object{}, disksOfVM: map[int][]Object{},
		customName: customField}
	recID := func(o Object) string {
		rec, ok := ownership(o, w.customName)
		if !ok {
			return ""
		}
		return rec.ID
	}
	for _, ep := range []string{"dcim/devices", "virtualization/virtual-machines"} {
		for _, o := range l.Objects(ep) {
			o["_vm"] = ep == "virtualization/virtual-machines"
			w.machines[recID(o)] = append(w.machines[recID(o)], o)
		}
	}
	for _, o := range l.Objects("dcim/interfaces") {
		k := fmt.Sprintf("dcim.device:%d", refID(o, "device"))
		w.ifaces[k] = append(w.ifaces[k], o)
	}
	for _, o := range l.Objects("virtualization/interfaces") {
		k := fmt.Sprintf("virtualization.virtualmachine:%d", refID(o, "virtual_machine"))
		w.ifaces[k] = append(w.ifaces[k], o)
	}
	for _, o := range l.Objects("dcim/mac-addresses") {
		k := fmt.Sprintf("%s:%d", objStr(o, "assigned_object_type"), toInt(o["assigned_object_id"]))
		w.macsOf[k] = append(w.macsOf[k], strings.ToUpper(objStr(o, "mac_address")))
	}
	for _, o := range l.Objects("ipam/ip-addresses") {
		if objStr(o, "assigned_object_type") == "" {
			w.hostIPs[recID(o)] = append(w.hostIPs[recID(o)], o)
			continue
		}
		k := fmt.Sprintf("%s:%d", objStr(o, "assigned_object_type"), toInt(o["assigned_object_id"]))
		w.ipsOf[k] = append(w.ipsOf[k], objStr(o, "address"))
	}
	for _, o := range l.Objects("ipam/services") {
		k := fmt.Sprintf("%s:%d", objStr(o, "parent_object_type"), toInt(o["parent_object_id"]))
		w.services[k] = append(w.services[k], o)
	}
	for _, o := range l.Objects("virtualization/virtual-disks") {
		w.disksOfVM[refID(o, "virtual_machine")] = append(w.disksOfVM[refID(o, "virtual_machine")], o)
	}
	return w
}

func checkEntityFacts(t *testing.T, e *Entity, p *Plan, w *world, hosts string) {
	t.Helper()
	listed := func(fact, value string) bool {
		return slices.ContainsFunc(p.NotWritten, func(n NotWritten) bool {
			if n.Entity != e.ID || n.Fact != fact || n.Reason == "" {
				return false
			}
			if fact == FactIP {
				addr, _, _ := strings.Cut(n.Value, "/")
				return addr == value
			}
			return n.Value == value
		})
	}
	var macs, ips []string
	var svcs []Object
	var disks []Object
	machines := w.machines[e.ID]
	if len(machines) > 1 {
		t.Errorf("entity %s: %d machines carry its record", e.ID, len(machines))
	}
	for _, m := range machines {
		ptype, itype := "dcim.device", "dcim.interface"
		if m["_vm"] == true {
			ptype, itype = "virtualization.virtualmachine", "virtualization.vminterface"
			disks = append(disks, w.disksOfVM[objID(m)]...)
		}
		for _, ifc := range w.ifaces[fmt.Sprintf("%s:%d", ptype, objID(m))] {
			k := fmt.Sprintf("%s:%d", itype, objID(ifc))
			macs = append(macs, w.macsOf[k]...)
			for _, a := range w.ipsOf[k] {
				ips = append(ips, strings.SplitN(a, "/", 2)[0])
			}
		}
		svcs = append(svcs, w.services[fmt.Sprintf("%s:%d", ptype, objID(m))]...)
	}
	for _, o := range w.hostIPs[e.ID] {
		ips = append(ips, strings.SplitN(objStr(o, "address"), "/", 2)[0])
	}
	allMACs := slices.Clone(e.MACs)
	for _, ifc := range e.Interfaces {
		if ifc.MAC != "" {
			allMACs = append(allMACs, ifc.MAC)
		}
	}
	for _, m := range allMACs {
		if !slices.Contains(macs, string(m)) && !listed(FactMAC, string(m)) {
			t.Errorf("entity %s (%s, hosts %s): MAC %s neither in NetBox nor under not written", e.ID, e.Kind, hosts, m)
		}
	}
	for _, a := range entityAddrs(e) {
		if !slices.Contains(ips, a.String()) && !listed(FactIP, a.String()) {
			t.Errorf("entity %s (%s, hosts %s): IP %s neither in NetBox nor under not written", e.ID, e.Kind, hosts, a)
		}
	}
	for _, s := range e.Services {
		found := slices.ContainsFunc(svcs, func(o Object) bool {
			ports := []int{}
			for _, v := range o["ports"].([]any) {
				ports = append(ports, toInt(v))
			}
			return objStr(o, "protocol") == s.Protocol && slices.Equal(ports, s.Ports)
		})
		if !found && !listed(FactService, serviceValue(s.Service)) {
			t.Errorf("entity %s (%s, hosts %s): service %s neither in NetBox nor under not written", e.ID, e.Kind, hosts, serviceValue(s.Service))
		}
	}
	for _, d := range e.Disks {
		found := slices.ContainsFunc(disks, func(o Object) bool { return objStr(o, "name") == d.Name && int64(toInt(o["size"])) == d.SizeMB })
		value := d.Name
		if value == "" {
			value = fmt.Sprintf("(%d MB)", d.SizeMB)
		}
		if !found && !listed(FactDisk, value) {
			t.Errorf("entity %s (%s, hosts %s): disk %q neither in NetBox nor under not written", e.ID, e.Kind, hosts, value)
		}
	}
}
