package sources

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "bc:24:11:2e:c5:4a", want: "BC:24:11:2E:C5:4A"},
		{in: "BC-24-11-2E-C5-4A", want: "BC:24:11:2E:C5:4A"},
		{in: "bc24.112e.c54a", want: "BC:24:11:2E:C5:4A"},
		{in: "bc24112ec54a", want: "BC:24:11:2E:C5:4A"},
		{in: " 00:1a:2b:3c:4d:5e ", want: "00:1A:2B:3C:4D:5E"},
		{in: "00:00:00:00:00:00", wantErr: true},    // all zero
		{in: "ff:ff:ff:ff:ff:ff", wantErr: true},    // broadcast
		{in: "01:00:5e:00:00:fb", wantErr: true},    // IPv4 multicast
		{in: "33:33:00:00:00:01", wantErr: true},    // IPv6 multicast
		{in: "bc:24:11:2e:c5", wantErr: true},       // 5 octets
		{in: "bc:24:11:2e:c5:4a:01", wantErr: true}, // 7 octets
		{in: "zz:24:11:2e:c5:4a", wantErr: true},
		{in: "", wantErr: true},
		{in: "0:1b:2c:3d:4e:5f", want: "00:1B:2C:3D:4E:5F"}, // BSD/macOS arp drops leading zeros
		{in: "BC24.112E.C54A", want: "BC:24:11:2E:C5:4A"},
		{in: "BC:24:11-2E:C5:4A", wantErr: true},  // mixed separators
		{in: "b:c2:41:12:ec:54a", wantErr: true},  // 3-digit octet: never repaired into BC:24:11:2E:C5:4A
		{in: "bc:24:11:2e:c5:4a:", wantErr: true}, // trailing separator
		{in: "bc2:41:12e:c5:4a", wantErr: true},   // 5 groups
		{in: "bc 24 11 2e c5 4a", wantErr: true},  // spaces are not a separator anyone writes
		{in: "bc24112ec54", wantErr: true},        // 11 digits
		{in: "bc24112ec54a0", wantErr: true},      // 13 digits
		{in: "bc24.112e.c54", wantErr: true},      // dotted group of 3
		{in: "bc:24:11:2e:c5:4g", wantErr: true},  // not hex
	}
	for _, tt := range tests {
		got, err := ParseMAC(tt.in)
		if (err != nil) != tt.wantErr || string(got) != tt.want {
			t.Errorf("ParseMAC(%q) = %q, %v; want %q, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMACIsLocal(t *testing.T) {
	for mac, want := range map[MAC]bool{"BC:24:11:2E:C5:4A": false, "52:54:00:12:34:56": true, "DA:A1:19:00:00:01": true, "00:1A:2B:3C:4D:5E": false} {
		if got := mac.IsLocal(); got != want {
			t.Errorf("%s.IsLocal() = %v", mac, got)
		}
	}
}

func TestParseInterfaceIP(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "198.18.0.5/24", want: "198.18.0.5/24"},
		{in: "198.18.0.5", want: "198.18.0.5/32"},
		{in: "2001:db8::5/64", want: "2001:db8::5/64"},
		{in: "::ffff:198.18.0.5/120", want: "198.18.0.5/24"},
		{in: "fe80::1%eth0", want: "fe80::1/128"},
		{in: "0.0.0.0/0", wantErr: true},
		{in: "198.18.0.5/0", wantErr: true},
		{in: "198.18.0.300/24", wantErr: true},
		{in: "::", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseInterfaceIP(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got.String() != tt.want) {
			t.Errorf("ParseInterfaceIP(%q) = %v, %v; want %s, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if p, err := PrefixFromMask("198.18.0.5", "255.255.254.0"); err != nil || p.String() != "198.18.0.5/23" {
		t.Errorf("PrefixFromMask = %v, %v", p, err)
	}
	if _, err := PrefixFromMask("198.18.0.5", "255.0.255.0"); err == nil {
		t.Error("non-contiguous mask accepted")
	}
}

func TestCleanSerial(t *testing.T) {
	for in, want := range map[string]string{
		"To Be Filled By O.E.M.": "", "Default string": "", "System Serial Number": "", "0123456789": "",
		"00000000": "", "   ": "", "N/A": "", "FFFFFFFF": "",
		" CZ1234567X ": "CZ1234567X", "A1B2C3": "A1B2C3",
	} {
		if got := CleanSerial(in); got != want {
			t.Errorf("CleanSerial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanSystemUUID(t *testing.T) {
	for in, want := range map[string]string{
		"47A1054F-1B2C-4C3B-9D0E-0123456789AB":   "47a1054f-1b2c-4c3b-9d0e-0123456789ab",
		"{47a1054f1b2c4c3b9d0e0123456789ab}":     "47a1054f-1b2c-4c3b-9d0e-0123456789ab",
		"00000000-0000-0000-0000-000000000000":   "",
		"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF":   "",
		"not-a-uuid":                             "",
		"47a1054f-1b2c-4c3b-9d0e-0123456789ab00": "",
	} {
		if got := CleanSystemUUID(in); got != want {
			t.Errorf("CleanSystemUUID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostnames(t *testing.T) {
	for in, want := range map[string][2]string{
		"Web01.Lab.Lan.": {"web01", "web01.lab.lan"},
		"nas":            {"nas", ""},
		"bad name":       {"", ""},
		"-x.lan":         {"", ""},
		"":               {"", ""},
	} {
		short, fqdn := SplitFQDN(in)
		if short != want[0] || fqdn != want[1] {
			t.Errorf("SplitFQDN(%q) = %q, %q; want %q", in, short, fqdn, want)
		}
	}
}

func TestObservationNormalize(t *testing.T) {
	o := Observation{
		Keys: Keys{Serial: "Default string", SystemUUID: "00000000-0000-0000-0000-000000000000", FQDN: "NAS.Lab.",
			MACs: []MAC{"aa-bb-cc-dd-ee-f0", "01:00:5e:00:00:01"}},
		Interfaces: []Interface{{Name: "eth0", MAC: "AA:BB:CC:DD:EE:F0",
			IPs: []netip.Prefix{netip.MustParsePrefix("198.18.0.9/24"), netip.MustParsePrefix("198.18.0.9/24")}}},
		Facts: Facts{Tags: []string{"b", "a", "b"}},
	}
	o.Normalize()
	if o.Keys.Serial != "" || o.Keys.SystemUUID != "" || o.Keys.FQDN != "nas.lab" {
		t.Errorf("keys = %+v", o.Keys)
	}
	if len(o.Keys.MACs) != 1 || o.Keys.MACs[0] != "AA:BB:CC:DD:EE:F0" {
		t.Errorf("macs = %v", o.Keys.MACs)
	}
	if len(o.Keys.IPs) != 1 || len(o.Interfaces[0].IPs) != 1 {
		t.Errorf("ips = %v / %v", o.Keys.IPs, o.Interfaces[0].IPs)
	}
	if len(o.Facts.Tags) != 2 || o.Facts.Tags[0] != "a" {
		t.Errorf("tags = %v", o.Facts.Tags)
	}
}

// TestNormalizeRefusesMalformedMAC: a MAC an adapter passed through raw (a Proxmox guest
// config's net0) that does not parse is dropped from the interface and the keys, and a
// warning names the observation, the interface and the value.
func TestNormalizeRefusesMalformedMAC(t *testing.T) {
	o := Observation{NativeID: "pve/qemu/101", Keys: Keys{MACs: []MAC{"zz:24:11:2e:c5:4a", "bc:24:11:2e:c5:4b"}},
		Interfaces: []Interface{{Name: "net0", MAC: "b:c2:41:12:ec:54a"}, {Name: "net1", MAC: "bc-24-11-2e-c5-4c"}}}
	warns := o.Normalize()
	if want := []MAC{"BC:24:11:2E:C5:4B", "BC:24:11:2E:C5:4C"}; !slices.Equal(o.Keys.MACs, want) {
		t.Errorf("keys.macs = %v, want %v", o.Keys.MACs, want)
	}
	if o.Interfaces[0].MAC != "" {
		t.Errorf("net0 kept MAC %q", o.Interfaces[0].MAC)
	}
	if len(warns) != 2 {
		t.Fatalf("%d warnings, want 2: %+v", len(warns), warns)
	}
	for i, want := range []string{"pve/qemu/101 keys.macs", "pve/qemu/101 interface net0"} {
		if warns[i].Item != want || warns[i].Reason != ReasonMalformedMAC {
			t.Errorf("warning %d = %+v, want item %q reason %q", i, warns[i], want, ReasonMalformedMAC)
		}
	}
	if !strings.Contains(warns[1].Message, `"b:c2:41:12:ec:54a"`) {
		t.Errorf("warning does not quote the value: %s", warns[1].Message)
	}
	var r Result
	r.AddWarnings(warns...)
	if len(r.Skipped) != 1 || r.Skipped[0] != (Skip{Reason: ReasonMalformedMAC, Count: 2}) {
		t.Errorf("skipped = %+v", r.Skipped)
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in, seps string
		want     []string
	}{
		{in: "prod;web, db", seps: "; ,", want: []string{"prod", "web", "db"}},
		{in: "rack 1 | core;; edge ,", seps: ";|,", want: []string{"rack 1", "core", "edge"}},
		{in: " ;, ", seps: ";,", want: nil},
		{in: "", seps: ";", want: nil},
	}
	for _, tt := range tests {
		if got := SplitList(tt.in, tt.seps); !slices.Equal(got, tt.want) {
			t.Errorf("SplitList(%q, %q) = %q, want %q", tt.in, tt.seps, got, tt.want)
		}
	}
}
