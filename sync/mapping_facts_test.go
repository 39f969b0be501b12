package sync

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

func TestPlaceInterfaces(t *testing.T) {
	ip := netip.MustParseAddr
	pf := netip.MustParsePrefix
	named := func(n string) Value[string] { return Value[string]{V: n, Source: "s"} }
	tests := []struct {
		name string
		e    Entity
		want string // "name mac ips; ..."
	}{
		{name: "key ip only: mgmt0 (an offline node, a hosts line)",
			e:    Entity{IPs: []netip.Addr{ip("192.0.2.5")}},
			want: "mgmt0 - [192.0.2.5/32]"},
		{name: "key mac only: named after it (a Home Assistant connection)",
			e:    Entity{MACs: []sources.MAC{"BC:24:11:2E:C5:4A"}},
			want: "mac-bc24112ec54a BC:24:11:2E:C5:4A []"},
		{name: "key mac and key ip: the only interface takes the address",
			e:    Entity{MACs: []sources.MAC{"BC:24:11:2E:C5:4A"}, IPs: []netip.Addr{ip("192.0.2.5")}},
			want: "mac-bc24112ec54a BC:24:11:2E:C5:4A [192.0.2.5/32]"},
		{name: "one named interface takes the key address",
			e:    Entity{IPs: []netip.Addr{ip("192.0.2.5"), ip("192.0.2.6")}, Interfaces: []EntityInterface{{Name: named("eth0"), IPs: []netip.Prefix{pf("192.0.2.6/24")}}}},
			want: "eth0 - [192.0.2.5/32 192.0.2.6/24]"},
		{name: "two interfaces: key address on mgmt0",
			e: Entity{IPs: []netip.Addr{ip("192.0.2.5")}, Interfaces: []EntityInterface{
				{Name: named("eth0"), MAC: "00:25:90:00:00:01"}, {Name: named("eth1"), MAC: "00:25:90:00:00:02"}}},
			want: "eth0 00:25:90:00:00:01 []; eth1 00:25:90:00:00:02 []; mgmt0 - [192.0.2.5/32]"},
		{name: "nameless, macless interface: its addresses are loose",
			e: Entity{Interfaces: []EntityInterface{{IPs: []netip.Prefix{pf("192.0.2.7/24")}},
				{Name: named("eth0"), MAC: "00:25:90:00:00:01"}, {Name: named("eth1")}}},
			want: "eth0 00:25:90:00:00:01 []; eth1 - []; mgmt0 - [192.0.2.7/24]"},
		{name: "same name, two MACs: the second by its MAC",
			e: Entity{Interfaces: []EntityInterface{{Name: named("eth0"), MAC: "00:25:90:00:00:01"},
				{Name: named("eth0"), MAC: "00:25:90:00:00:02", IPs: []netip.Prefix{pf("192.0.2.8/24")}}}},
			want: "eth0 00:25:90:00:00:01 []; mac-002590000002 00:25:90:00:00:02 [192.0.2.8/24]"},
		{name: "same name, no MAC: joins the first",
			e: Entity{Interfaces: []EntityInterface{{Name: named("eth0"), MAC: "00:25:90:00:00:01"},
				{Name: named("eth0"), IPs: []netip.Prefix{pf("192.0.2.8/24")}}}},
			want: "eth0 00:25:90:00:00:01 [192.0.2.8/24]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, i := range placeInterfaces(&tt.e) {
				mac := string(i.MAC)
				if mac == "" {
					mac = "-"
				}
				got = append(got, fmt.Sprintf("%s %s %v", i.Name.V, mac, i.IPs))
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}

// TestKeyOnlyFactsLand: an offline Proxmox node known by its /cluster/status address, a
// hosts-file entry made a device, a Home Assistant device known by a MAC connection: each
// lands on its machine with the address or MAC, and the primary IPv4 is set.
func TestKeyOnlyFactsLand(t *testing.T) {
	l := newLab(t, Config{})
	obs := []sources.Observation{
		{Source: "pve", Adapter: "proxmox", NativeID: "pve/node/pve3", Kind: sources.KindDevice, Name: "pve3",
			Facts: sources.Facts{Status: "offline", Role: "hypervisor"}, Parent: &sources.Parent{Cluster: "lab", ClusterType: "Proxmox VE"},
			Keys: sources.Keys{IPs: []netip.Addr{netip.MustParseAddr("192.0.2.13")}}},
		{Source: "ha", Adapter: "homeassistant", NativeID: "ha/device/tv", Kind: sources.KindDevice, Name: "Living Room TV",
			Keys: sources.Keys{MACs: []sources.MAC{"A8:23:FE:01:02:03"}}},
	}
	p, _ := l.sync(obs, nil)
	for _, tc := range []struct{ device, iface, mac, ip string }{
		{"pve3", "mgmt0", "", "192.0.2.13/32"},
		{"Living Room TV", "mac-a823fe010203", "A8:23:FE:01:02:03", ""},
	} {
		d := l.find("dcim/devices", tc.device)
		if d == nil {
			t.Fatalf("no device %s:\n%s", tc.device, planText(p))
		}
		var ifc map[string]any
		for _, o := range l.objects("dcim/interfaces") {
			if refID(o, "device") == objID(d) && objStr(o, "name") == tc.iface {
				ifc = o
			}
		}
		if ifc == nil {
			t.Fatalf("%s: no interface %s:\n%s", tc.device, tc.iface, planText(p))
		}
		if tc.mac != "" && !strings.EqualFold(fmt.Sprint(displayOf(ifc["primary_mac_address"])), tc.mac) {
			t.Errorf("%s %s: primary MAC %v, want %s", tc.device, tc.iface, ifc["primary_mac_address"], tc.mac)
		}
		if tc.ip != "" {
			if got := fmt.Sprint(displayOf(d["primary_ip4"])); got != tc.ip {
				t.Errorf("%s: primary_ip4 %s, want %s", tc.device, got, tc.ip)
			}
		}
	}
	if pve3 := l.find("dcim/devices", "pve3"); pve3 == nil || fmt.Sprint(displayOf(pve3["cluster"])) != "lab" {
		t.Errorf("pve3 is not in its cluster: %v", pve3["cluster"])
	}
	if len(p.NotWritten) != 0 {
		t.Errorf("not written: %+v", p.NotWritten)
	}
}

// TestNotWrittenInJSON: a host's MAC under hosts: ip is listed with its reason in the JSON,
// and counted in the summary (the table's rendering: sync/planview).
func TestNotWrittenInJSON(t *testing.T) {
	l := newLab(t, Config{})
	p := l.plan(homelab(), nil) // the phone: a host with a MAC
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		NotWritten []NotWritten `json:"not_written"`
		Summary    Summary      `json:"summary"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.NotWritten) != 1 || back.NotWritten[0].Fact != FactMAC || back.NotWritten[0].Reason == "" || back.Summary.NotWritten != 1 {
		t.Errorf("JSON not_written = %+v, summary %+v", back.NotWritten, back.Summary)
	}
}

func TestRoleCase(t *testing.T) {
	for in, want := range map[string]string{"nas": "NAS", "hypervisor": "Hypervisor", "access_point": "Access Point",
		"IoT Device": "IoT Device", "ups": "UPS", "smart-tv": "Smart TV", "Server": "Server", "nas storage": "NAS Storage"} {
		if got := roleCase(in); got != want {
			t.Errorf("roleCase(%q) = %q, want %q", in, got, want)
		}
	}
}
