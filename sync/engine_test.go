package sync

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

func TestMatchNeverGuesses(t *testing.T) {
	seed := func(l *lab, devices ...map[string]any) {
		site := l.srv.MustSeed("/api/dcim/sites/", map[string]any{"name": "Homelab", "slug": "homelab"})
		mfr := l.srv.MustSeed("/api/dcim/manufacturers/", map[string]any{"name": "Dell", "slug": "dell"})
		dt := l.srv.MustSeed("/api/dcim/device-types/", map[string]any{"manufacturer": mfr[0], "model": "R720", "slug": "r720"})
		role := l.srv.MustSeed("/api/dcim/device-roles/", map[string]any{"name": "Server", "slug": "server"})
		for _, d := range devices {
			d["site"], d["device_type"], d["role"] = site[0], dt[0], role[0]
			l.srv.MustSeed("/api/dcim/devices/", d)
		}
	}
	nas := homelab()[3:4]
	cases := []struct {
		name    string
		devices []map[string]any
		reason  string
	}{
		{"two devices with the serial", []map[string]any{{"name": "a", "serial": "TN-000123"}, {"name": "b", "serial": "TN-000123"}}, "2 NetBox objects match by serial"},
		{"same name, not the agent's, no strong key", []map[string]any{{"name": "NAS"}}, "not created by the agent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, Config{})
			seed(l, tc.devices...)
			p := l.plan(nas, nil)
			var found bool
			for _, c := range p.Conflicts {
				found = found || (c.Kind == "match" && strings.Contains(c.Reason, tc.reason))
			}
			if !found {
				t.Errorf("no match conflict %q:\n%s", tc.reason, planText(p))
			}
			for _, a := range p.Actions {
				if a.Endpoint == epDevices || a.Endpoint == epInterfaces {
					t.Errorf("acted on the device despite the conflict: %s %s", a.Op, a.Name)
				}
			}
			l.eng.Apply(t.Context(), p, nil)
			if n := len(l.objects("dcim/devices")); n != len(tc.devices) {
				t.Errorf("devices: %d, want %d (nothing created)", n, len(tc.devices))
			}
		})
	}
}

func TestApplyLock(t *testing.T) {
	l := newLab(t, Config{})
	p := l.plan(homelab(), nil)
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	l.srv.MustSeed("/api/extras/tags/", map[string]any{"name": "netbox-agent-lock", "slug": "netbox-agent-lock",
		"description": "netbox-agent apply lock: held by other-host:42 until " + until})
	_, err := l.eng.Apply(t.Context(), p, nil)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "other-host:42") {
		t.Fatalf("apply with the lock held elsewhere: %v", err)
	}
	if n := len(l.objects("dcim/devices")); n != 0 {
		t.Errorf("wrote %d devices while locked", n)
	}
	// an expired lock is broken
	l.eng.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	rep, err := l.eng.Apply(t.Context(), p, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("apply after expiry: %v %+v", err, rep)
	}
	if ids := lockIDs(l); len(ids) != 0 {
		t.Errorf("lock not released: %v", ids)
	}
	// in-process: a second apply while one runs is refused
	l.eng.applyMu.Lock()
	_, err = l.eng.Apply(context.Background(), p, nil)
	l.eng.applyMu.Unlock()
	if !errors.Is(err, ErrLocked) {
		t.Errorf("concurrent apply in one process: %v", err)
	}
}

func TestHostsBecomeIPsOrDevices(t *testing.T) {
	phone := []sources.Observation{{Source: "netscan", Adapter: "netscan", NativeID: "nmap/192.168.1.50", Kind: sources.KindHost,
		Name: "phone", Keys: sources.Keys{IPs: []netip.Addr{e2eIP("192.168.1.50")}, FQDN: "phone.lan.example"}}}
	l := newLab(t, Config{})
	l.sync(phone, nil)
	ips := l.objects("ipam/ip-addresses")
	if len(ips) != 1 || ips[0]["address"] != "192.168.1.50/32" || ips[0]["dns_name"] != "phone.lan.example" || ips[0]["assigned_object_id"] != nil {
		t.Errorf("host as IP: %v", ips)
	}
	if n := len(l.objects("dcim/devices")); n != 0 {
		t.Errorf("host made %d devices by default", n)
	}
	l.close()
	l2 := newLab(t, Config{Hosts: "device"})
	l2.sync(phone, nil)
	d := l2.find("dcim/devices", "phone")
	if d == nil || displayOf(d["role"]) != "Unknown" {
		t.Errorf("host as device: %v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{}, nil},
		{Config{CustomField: "Bad-Name"}, []string{`custom_field: "Bad-Name"`}},
		{Config{SitePerSubnet: []SubnetSite{{Prefix: "10.0.0/8", Site: "x"}}}, []string{`site_per_subnet[0].prefix: "10.0.0/8"`}},
		{Config{Roles: []RoleRule{{Kind: "vm", Role: "x"}}}, []string{`roles[0].kind: "vm"`}},
		{Config{Hosts: "maybe", Adopt: "always"}, []string{`hosts: "maybe"`, `adopt: "always"`}},
		{Config{Authoritative: map[string][]string{"colour": {"x"}}}, []string{"authoritative.colour: unknown field"}},
		{Config{Orphans: OrphanConfig{MaxDeleteShare: 2}}, []string{"orphans.max_delete_share: 2"}},
	}
	for _, tc := range cases {
		errs := tc.cfg.Validate()
		if len(errs) != len(tc.want) {
			t.Errorf("%+v: errors %v, want %v", tc.cfg, errs, tc.want)
			continue
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(errs[i].Error(), w) {
				t.Errorf("error %q, want prefix %q", errs[i], w)
			}
		}
	}
}

func TestLocationsOnlyWhenAsked(t *testing.T) {
	plug := []sources.Observation{{Source: "ha", Adapter: "homeassistant", NativeID: "ha/device/plug1", Kind: sources.KindDevice,
		Name: "plug1", Keys: sources.Keys{Serial: "PLUG-1"}, Facts: sources.Facts{Manufacturer: "Shelly", Model: "Plug S", Location: "Garage"}}}
	for _, on := range []bool{false, true} {
		l := newLab(t, Config{Locations: on})
		l.sync(plug, nil)
		d := l.find("dcim/devices", "plug1")
		if got := d["location"] != nil; got != on {
			t.Errorf("locations=%v: device location %v", on, d["location"])
		}
		if n := len(l.objects("dcim/sites")); n != 1 {
			t.Errorf("locations=%v: %d sites, want the one default site", on, n)
		}
		if on && displayOf(d["location"]) != "Garage" {
			t.Errorf("location %v, want Garage", d["location"])
		}
		if p := l.plan(plug, nil); !p.Empty() {
			t.Errorf("locations=%v: not converged:\n%s", on, planText(p))
		}
		l.close() // the next lab may be the same real NetBox
	}
}
