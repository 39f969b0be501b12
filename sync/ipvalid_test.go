package sync

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/sources"
)

func TestInterfaceIPProblem(t *testing.T) {
	for _, tc := range []struct {
		pfx  string
		want string // part of the reason; "" when NetBox accepts it on an interface
	}{
		{"10.9.8.1/24", ""},
		{"10.9.8.254/24", ""},
		{"10.9.8.0/24", "network ID of 10.9.8.0/24"},
		{"10.9.8.255/24", "broadcast address of 10.9.8.0/24"},
		{"10.9.8.127/25", "broadcast address of 10.9.8.0/25"},
		{"10.9.8.128/25", "network ID of 10.9.8.128/25"},
		{"10.9.9.0/31", ""}, // point-to-point: both addresses are hosts
		{"10.9.9.1/31", ""},
		{"10.9.10.0/32", ""},
		{"10.9.10.3/30", "broadcast address"},
		{"0.0.0.5/0", "/0 mask"},
		{"2001:db8::/64", "network ID of 2001:db8::/64"},
		{"2001:db8::ffff:ffff:ffff:ffff/64", ""}, // IPv6 has no broadcast
		{"2001:db8::1/64", ""},
		{"2001:db8:1::/127", ""},
		{"2001:db8:1::/128", ""},
		{"::5/0", "/0 mask"},
	} {
		got := interfaceIPProblem(netip.MustParsePrefix(tc.pfx))
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.pfx, got, tc.want)
		}
	}
	if got := addressProblem(netip.MustParsePrefix("10.9.8.0/24")); got != "" {
		t.Errorf("a network ID that is not on an interface is a valid address: %q", got)
	}
}

// TestAddressesNetBoxRefusesAreNotSent runs in both tiers. Real NetBox refuses a network ID
// or broadcast address on an interface (the whole bulk batch fails); the simulator accepts
// them, so the test asserts what the agent sends: nothing NetBox would refuse, and a note
// saying what was left out.
func TestAddressesNetBoxRefusesAreNotSent(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	inv := sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/hosts.csv:2", Kind: sources.KindDevice,
		Name: "router", Facts: sources.Facts{Manufacturer: "Ubiquiti", Model: "ER-4", Role: "router"},
		Interfaces: []sources.Interface{
			{Name: "eth0", MAC: "78:8A:20:00:00:01", IPs: []netip.Prefix{e2ePfx("10.9.8.0/24"), e2ePfx("10.9.8.255/24"), e2ePfx("10.9.8.1/24")}},
			{Name: "eth1", MAC: "78:8A:20:00:00:02", IPs: []netip.Prefix{e2ePfx("10.9.9.0/31"), e2ePfx("2001:db8::/64"), e2ePfx("2001:db8:1::/127")}},
		}}
	obs = append(obs, inv)
	p, rep := l.sync(obs, nil) // fails the test on any failed action
	if rep.Summary.Failed != 0 {
		t.Fatalf("apply failed %d actions:\n%s", rep.Summary.Failed, planText(p))
	}
	have := map[string]bool{}
	for _, o := range l.objects("ipam/ip-addresses") {
		have[o["address"].(string)] = true
	}
	for _, a := range []string{"10.9.8.1/24", "10.9.9.0/31", "2001:db8:1::/127"} {
		if !have[a] {
			t.Errorf("%s was not created", a)
		}
	}
	for _, a := range []string{"10.9.8.0/24", "10.9.8.255/24", "2001:db8::/64"} {
		if have[a] {
			t.Errorf("%s was sent: NetBox refuses it on an interface", a)
		}
	}
	tab := planText(p)
	for _, want := range []string{"10.9.8.0 is the network ID of 10.9.8.0/24", "10.9.8.255 is the broadcast address", "2001:db8:: is the network ID"} {
		if !strings.Contains(tab, want) {
			t.Errorf("plan does not say %q:\n%s", want, tab)
		}
	}
	if p := l.plan(obs, nil); !p.Empty() {
		t.Errorf("not converged:\n%s", planText(p))
	}
}
