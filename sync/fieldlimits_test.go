package sync

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/netbox-agent/netbox-agent/sources"
)

// NetBox refuses a whole object whose description is over 200 characters, serial over 50 or
// (shared objects) name over 100, and with it everything that hangs on it: the plan fits such
// values instead (a description or name is cut, a serial is left out), says so, and converges. Characters, not bytes, as Django
// counts them.
func TestValuesOverNetBoxLimitsDoNotCostTheObject(t *testing.T) {
	l := newLab(t, Config{})
	obs := homelab()
	longSerial := "SN-" + strings.Repeat("0123456789", 6)[:57] // 60 characters
	obs[0].Keys.Serial = longSerial                            // pve1
	obs[1].Facts.Description = strings.Repeat("ä", 250)        // web: 500 bytes, 250 characters
	obs[3].Services[0].Description = strings.Repeat("share ", 40)
	obs[3].Facts.Manufacturer = strings.Repeat("Manufacturer ", 10) // nas: 129 characters once trimmed
	obs[3].Facts.Model = strings.Repeat("Model ", 20)
	obs[3].Facts.Platform = strings.Repeat("Platform ", 15)
	umlauts := strings.Repeat("ü", 40)      // 80 bytes, 40 characters: a name NetBox takes
	longIf := strings.Repeat("uplink-", 10) // 70 characters: NetBox takes 64
	obs = append(obs, sources.Observation{Source: "inventory", Adapter: "inventory", NativeID: "inventory/hosts.csv:2",
		Kind: sources.KindDevice, Name: umlauts, Facts: sources.Facts{Manufacturer: "Ubiquiti", Model: "ER-4", Role: "router"},
		Interfaces: []sources.Interface{
			{Name: "eth0", MAC: "78:8A:20:00:00:01", IPs: []netip.Prefix{e2ePfx("10.9.8.1/24")}},
			{Name: longIf, MAC: "78:8A:20:00:00:02", IPs: []netip.Prefix{e2ePfx("10.9.9.1/24")}},
		}})

	p, rep := l.sync(obs, nil) // fails the test on any failed action
	if rep.Summary.Failed != 0 {
		t.Fatalf("apply failed %d actions:\n%s", rep.Summary.Failed, planText(p))
	}
	vm := l.find("virtualization/virtual-machines", "web")
	if d, _ := vm["description"].(string); utf8.RuneCountInString(d) != 200 || !strings.HasPrefix(d, "ääää") || !strings.HasSuffix(d, "…") {
		t.Errorf("web's description = %q (%d characters), want the first 199 and an ellipsis", d, utf8.RuneCountInString(d))
	}
	var svc map[string]any
	for _, o := range l.objects("ipam/services") {
		if o["name"] == "smb" {
			svc = o
		}
	}
	if d, _ := svc["description"].(string); utf8.RuneCountInString(d) != 200 || !strings.HasPrefix(d, "share share") {
		t.Errorf("smb's description = %q, want it cut to 200 characters", d)
	}
	if s := l.find("dcim/devices", "pve1")["serial"]; s != "" {
		t.Errorf("pve1's serial = %q, want none (NetBox takes 50 characters, a cut serial is wrong)", s)
	}
	nas := l.find("dcim/devices", "nas")
	if nas == nil {
		t.Fatal("nas was not created")
	}
	for _, c := range []struct{ ep, field, prefix string }{
		{"dcim/manufacturers", "name", "Manufacturer Manufacturer"},
		{"dcim/device-types", "model", "Model Model"},
		{"dcim/platforms", "name", "Platform Platform"},
	} {
		found := false
		for _, o := range l.objects(c.ep) {
			if v, _ := o[c.field].(string); strings.HasPrefix(v, c.prefix) {
				found = true
				if utf8.RuneCountInString(v) != 100 || !strings.HasSuffix(v, "…") {
					t.Errorf("%s %q: want it cut to 100 characters", c.ep, v)
				}
			}
		}
		if !found {
			t.Errorf("%s: no object %s…", c.ep, c.prefix)
		}
	}
	if l.find("dcim/devices", umlauts) == nil {
		t.Errorf("device %q (40 characters, 80 bytes) was not created", umlauts)
	}
	var ifNames []string
	for _, o := range l.objects("dcim/interfaces") {
		if d, _ := o["device"].(map[string]any); d != nil && d["name"] == umlauts {
			ifNames = append(ifNames, o["name"].(string))
		}
	}
	if len(ifNames) != 1 || ifNames[0] != "eth0" {
		t.Errorf("%s's interfaces = %q, want eth0 only (the 70-character one left out)", umlauts, ifNames)
	}
	left := map[string]bool{}
	for _, nw := range p.NotWritten {
		if strings.Contains(nw.Reason, "70 characters, longer than NetBox's 64") {
			left[nw.Value] = true
		}
	}
	if !left["78:8A:20:00:00:02"] || !left["10.9.9.1/24"] {
		t.Errorf("the long interface's MAC and address are not listed as not written: %v", left)
	}
	text := planText(p)
	for _, want := range []string{"250 characters, longer than NetBox's 200: cut to 200", "129 characters, longer than NetBox's 100: cut to 100", longSerial + `\" is 60 characters, longer than NetBox's 50: not written`} {
		if !strings.Contains(text, want) {
			t.Errorf("plan does not say %q:\n%s", want, text)
		}
	}
	if p := l.plan(obs, nil); !p.Empty() {
		t.Errorf("not converged:\n%s", planText(p))
	}
}
