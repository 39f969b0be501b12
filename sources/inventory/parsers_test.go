package inventory

import (
	"context"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// testNow is "now" for lease expiry in the fixtures: 2025-11-22 12:00:00 UTC.
var testNow = time.Date(2025, 11, 22, 12, 0, 0, 0, time.UTC)

func fixturePath(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "inventory", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func parseFixture(t *testing.T, name string, format Format) sources.Result {
	t.Helper()
	fh, err := os.Open(fixturePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	res, err := Parse(context.Background(), fh, name, format, "inv", testNow)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return res
}

// host is what a test expects of one observation; empty fields are not checked, except
// that IPs and MACs are always compared.
type host struct {
	id     string
	kind   sources.Kind
	name   string
	fqdn   string
	ips    []string
	macs   []sources.MAC
	serial string
	site   string
	role   string
	tags   []string
}

func checkHosts(t *testing.T, res sources.Result, want []host) {
	t.Helper()
	var ids []string
	byID := map[string]sources.Observation{}
	for _, o := range res.Observations {
		ids = append(ids, o.NativeID)
		byID[o.NativeID] = o
		if o.Source != "inv" || o.Adapter != "inventory" || !o.SeenAt.Equal(testNow) {
			t.Errorf("%s: source %q adapter %q seen %v", o.NativeID, o.Source, o.Adapter, o.SeenAt)
		}
	}
	var wantIDs []string
	for _, h := range want {
		wantIDs = append(wantIDs, h.id)
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("hosts\n got %q\nwant %q", ids, wantIDs)
	}
	for _, h := range want {
		o := byID[h.id]
		var ips []string
		for _, ip := range o.Keys.IPs {
			ips = append(ips, ip.String())
		}
		if !slices.Equal(ips, h.ips) {
			t.Errorf("%s: ips %q, want %q", h.id, ips, h.ips)
		}
		if !slices.Equal(o.Keys.MACs, h.macs) {
			t.Errorf("%s: macs %q, want %q", h.id, o.Keys.MACs, h.macs)
		}
		kind := h.kind
		if kind == "" {
			kind = sources.KindHost
		}
		checks := []struct{ field, got, want string }{
			{"kind", string(o.Kind), string(kind)},
			{"name", o.Name, h.name},
			{"fqdn", o.Keys.FQDN, h.fqdn},
			{"serial", o.Keys.Serial, h.serial},
			{"site", o.Facts.Site, h.site},
			{"role", o.Facts.Role, h.role},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: %s %q, want %q", h.id, c.field, c.got, c.want)
			}
		}
		if h.tags != nil && !slices.Equal(o.Facts.Tags, h.tags) {
			t.Errorf("%s: tags %q, want %q", h.id, o.Facts.Tags, h.tags)
		}
	}
}

// checkWarnings wants exactly the listed warnings, each as "file:line" plus a message fragment.
func checkWarnings(t *testing.T, res sources.Result, want [][2]string) {
	t.Helper()
	if len(res.Warnings) != len(want) {
		t.Errorf("%d warnings, want %d:", len(res.Warnings), len(want))
		for _, w := range res.Warnings {
			t.Errorf("  %s: %s", w.Item, w.Message)
		}
		return
	}
	for i, w := range want {
		got := res.Warnings[i]
		if got.Item != w[0] || !strings.Contains(got.Message, w[1]) {
			t.Errorf("warning %d = %s: %s; want %s: ...%s...", i, got.Item, got.Message, w[0], w[1])
		}
	}
}

func TestParseCSV(t *testing.T) {
	res := parseFixture(t, "hosts.csv", FormatAuto)
	checkHosts(t, res, []host{
		{id: "inv/hosts.csv/pve1", kind: sources.KindDevice, name: "pve1", ips: []string{"192.168.10.2"}, macs: []sources.MAC{"BC:24:11:2E:C5:4A"}, serial: "CZJ12345AB", site: "Home", role: "hypervisor", tags: []string{"homelab", "prod"}},
		{id: "inv/hosts.csv/truenas", kind: sources.KindDevice, name: "truenas", ips: []string{"192.168.10.5"}, macs: []sources.MAC{"3C:EC:EF:12:34:56"}, serial: "S2X9NX0K123456", site: "Home", role: "nas"},
		// The junk serial is dropped; the dashed MAC normalised.
		{id: "inv/hosts.csv/sw-core", kind: sources.KindDevice, name: "sw-core", ips: []string{"192.168.10.1"}, macs: []sources.MAC{"00:1B:21:AA:BB:CC"}, site: "Home", role: "switch"},
		{id: "inv/hosts.csv/gitea", kind: sources.KindVM, name: "gitea", ips: []string{"192.168.10.30"}, site: "Home"},
		{id: "inv/hosts.csv/ha", name: "ha", ips: []string{"192.168.10.9"}, macs: []sources.MAC{"DA:A1:19:5E:22:0B"}, site: "Home", role: "automation", tags: []string{"iot"}},
	})
	checkWarnings(t, res, [][2]string{
		{"hosts.csv:1", "unknown columns ignored: Purchase Date"},
		{"hosts.csv:6", `ip "192.168.10.300"`},
		{"hosts.csv:7", "2 fields, header has 14"},
		{"hosts.csv:9", `host "pve1" already defined on line 2`},
	})
	o := res.Observations[0]
	if o.Facts.Manufacturer != "HPE" || o.Facts.Model != "ProLiant DL360 Gen10" || o.Facts.Platform != "Proxmox VE 8.2" || o.Facts.Location != "Rack A" || o.Facts.Description != "Main hypervisor" {
		t.Errorf("pve1 facts: %+v", o.Facts)
	}
	if got := o.Interfaces; len(got) != 1 || got[0].IPs[0] != netip.MustParsePrefix("192.168.10.2/24") {
		t.Errorf("pve1 interface keeps the prefix length from the CSV: %+v", got)
	}
	if res.Observations[1].Facts.Description != "Storage, ZFS" {
		t.Errorf("quoted field: %q", res.Observations[1].Facts.Description)
	}
}

func TestParseCSVSemicolonsAndMissingHeader(t *testing.T) {
	in := "hostname;ip;mac\nnas;192.168.1.5;00:11:32:aa:bb:cc\n"
	res, err := Parse(context.Background(), strings.NewReader(in), "export.csv", FormatCSV, "inv", testNow)
	if err != nil || len(res.Observations) != 1 || res.Observations[0].Keys.MACs[0] != "00:11:32:AA:BB:CC" {
		t.Fatalf("semicolon CSV: %+v %v", res, err)
	}
	_, err = Parse(context.Background(), strings.NewReader("colour,size\nred,1\n"), "x.csv", FormatCSV, "inv", testNow)
	if err == nil || !strings.Contains(err.Error(), "x.csv:1: header") {
		t.Fatalf("CSV without identity columns: %v", err)
	}
}

func TestParseAnsibleINI(t *testing.T) {
	res := parseFixture(t, "inventory.ini", FormatAuto)
	web := []string{"servers", "web"}
	checkHosts(t, res, []host{
		{id: "inv/inventory.ini/bastion.home.arpa", name: "bastion", fqdn: "bastion.home.arpa", ips: []string{"192.168.10.3"}, tags: []string{}},
		// [servers:vars] site=Home and [proxmox:vars] role: child vars beat parent vars.
		{kind: sources.KindDevice, id: "inv/inventory.ini/pve1", name: "pve1", site: "Home", role: "hypervisor", tags: []string{"proxmox", "servers"}},
		{kind: sources.KindDevice, id: "inv/inventory.ini/pve2", name: "pve2", site: "Home", role: "hypervisor"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/pve3", name: "pve3", site: "Home", role: "hypervisor"},
		// [web:vars] site = Lab overrides the parent group's site=Home.
		{kind: sources.KindDevice, id: "inv/inventory.ini/web01.home.arpa", name: "web01", fqdn: "web01.home.arpa", site: "Lab", role: "webserver", tags: web},
		{kind: sources.KindDevice, id: "inv/inventory.ini/web02.home.arpa", name: "web02", fqdn: "web02.home.arpa", site: "Lab", role: "webserver"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/web03.home.arpa", name: "web03", fqdn: "web03.home.arpa", site: "Lab", role: "webserver"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/web-a", name: "web-a", ips: []string{"192.168.10.70"}, site: "Lab", role: "webserver"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/web-b", name: "web-b", ips: []string{"192.168.10.70"}, site: "Lab", role: "webserver"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/10.20.0.5", ips: []string{"10.20.0.5"}, site: "Lab", role: "webserver"},
		{kind: sources.KindDevice, id: "inv/inventory.ini/db01", name: "db01", ips: []string{"192.168.10.40"}, macs: []sources.MAC{"52:54:00:12:34:56"}, serial: "VMware-42", site: "Home", tags: []string{"db", "servers"}},
	})
	checkWarnings(t, res, [][2]string{
		{"inventory.ini:15", `host "web99": "ansible_host" is not key=value`},
		{"inventory.ini:25", `host "db[05:]": range [05:]`},
		{"inventory.ini:36", `section header "[broken" lacks ']'`},
		{"inventory.ini:40", "unterminated \" quote"},
		{"inventory.ini:23", `host "db02": ansible_host "not.an..address"`},
		{"inventory.ini:24", `host "db03": mac`},
	})
	if d := res.Observations[7].Facts.Description; d != "Old web, to retire" {
		t.Errorf("quoted host var: %q", d)
	}
	for _, o := range res.Observations {
		for k, v := range o.Facts.Attributes {
			if strings.Contains(v, "hunter2") {
				t.Errorf("%s: a password reached attribute %s", o.NativeID, k)
			}
		}
	}
}

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"web", []string{"web"}, ""},
		{"web[01:03]", []string{"web01", "web02", "web03"}, ""},
		{"web[8:10].lab", []string{"web8.lab", "web9.lab", "web10.lab"}, ""},
		{"db-[a:c]", []string{"db-a", "db-b", "db-c"}, ""},
		{"n[0:6:3]", []string{"n0", "n3", "n6"}, ""},
		{"r[1:2]-u[a:b]", []string{"r1-ua", "r1-ub", "r2-ua", "r2-ub"}, ""},
		{"[:2]x", []string{"0x", "1x", "2x"}, ""},
		{"web[3:1]", nil, "not numeric start <= end"},
		{"web[1:2", nil, "'[' without ']'"},
		{"web]", nil, "']' without '['"},
		{"web[0:99999999]", nil, "more than 65536"},
		{"a[0:999]b[0:999]", nil, "more than 65536"},
		{"web[1:5:0]", nil, "step"},
	}
	for _, tt := range tests {
		got, err := expandHostPattern(tt.in, maxRangeHosts)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAnsibleYAML(t *testing.T) {
	res := parseFixture(t, "inventory.yml", FormatAuto)
	checkHosts(t, res, []host{
		{id: "inv/inventory.yml/bastion.home.arpa", name: "bastion", fqdn: "bastion.home.arpa", ips: []string{"192.168.10.3"}, site: "Home"},
		{kind: sources.KindDevice, id: "inv/inventory.yml/pve1", name: "pve1", ips: []string{"192.168.10.2"}, serial: "CZJ12345AB", site: "Home", role: "hypervisor", tags: []string{"proxmox"}},
		{kind: sources.KindDevice, id: "inv/inventory.yml/pve2", name: "pve2", ips: []string{"192.168.10.12"}, site: "Home", role: "hypervisor"},
		{id: "inv/inventory.yml/k8s-cp1", name: "k8s-cp1", site: "Home", tags: []string{"control", "k8s"}},
		{id: "inv/inventory.yml/k8s-cp2", name: "k8s-cp2", site: "Home"},
		{id: "inv/inventory.yml/k8s-cp3", name: "k8s-cp3", site: "Home"},
		{kind: sources.KindDevice, id: "inv/inventory.yml/k8s-w01", name: "k8s-w01", site: "Home", role: "k8s-worker", tags: []string{"k8s", "workers"}},
		{kind: sources.KindDevice, id: "inv/inventory.yml/k8s-w02", name: "k8s-w02", site: "Home", role: "k8s-worker"},
		{kind: sources.KindDevice, id: "inv/inventory.yml/db01", name: "db01", ips: []string{"192.168.10.40"}, macs: []sources.MAC{"52:54:00:12:34:56"}, site: "Home"},
	})
	checkWarnings(t, res, [][2]string{
		{"inventory.yml:30", `group "broken": hosts must be a mapping`},
		{"inventory.yml:37", `host "db02": ansible_host: ip "192.168.10.400"`},
	})
	if res.Observations[6].Facts.Model != "NUC12" {
		t.Errorf("host var model: %+v", res.Observations[6].Facts)
	}
	_, err := Parse(context.Background(), strings.NewReader("all:\n  hosts: [\n"), "bad.yml", FormatAnsibleYAML, "inv", testNow)
	if err == nil || !strings.Contains(err.Error(), "bad.yml") {
		t.Errorf("broken YAML: %v", err)
	}
}

func TestParseAnsibleJSON(t *testing.T) {
	res := parseFixture(t, "inventory.json", FormatAuto)
	checkHosts(t, res, []host{
		{kind: sources.KindDevice, id: "inv/inventory.json/db01", name: "db01", ips: []string{"192.168.10.40"}, macs: []sources.MAC{"52:54:00:12:34:56"}, serial: "VMware-42", site: "Home", tags: []string{"db"}},
		{kind: sources.KindDevice, id: "inv/inventory.json/pve1", name: "pve1", ips: []string{"192.168.10.2"}, serial: "CZJ12345AB", site: "Home", role: "hypervisor", tags: []string{"proxmox"}},
		{kind: sources.KindDevice, id: "inv/inventory.json/pve2", name: "pve2", ips: []string{"192.168.10.12"}, site: "Home", role: "hypervisor"},
		{id: "inv/inventory.json/bastion.home.arpa", name: "bastion", fqdn: "bastion.home.arpa", ips: []string{"192.168.10.3"}, site: "Home", tags: []string{}},
	})
	checkWarnings(t, res, [][2]string{{"inventory.json", `host "bad": ansible_host: ip "192.168.10.999"`}})
	_, err := Parse(context.Background(), strings.NewReader("{\n\"all\": {\n,}\n"), "bad.json", FormatAnsibleJSON, "inv", testNow)
	if err == nil || !strings.Contains(err.Error(), "bad.json: line 3") {
		t.Errorf("broken JSON: %v", err)
	}
}

func TestParseDnsmasq(t *testing.T) {
	res := parseFixture(t, "dnsmasq.leases", FormatAuto)
	checkHosts(t, res, []host{
		{id: "inv/dnsmasq.leases/BC:24:11:2E:C5:4A", name: "pve-vm1", ips: []string{"192.168.10.50"}, macs: []sources.MAC{"BC:24:11:2E:C5:4A"}},
		// Expiry 0 is infinite; "*" is no host name.
		{id: "inv/dnsmasq.leases/3C:EC:EF:12:34:56", name: "truenas", ips: []string{"192.168.10.5"}, macs: []sources.MAC{"3C:EC:EF:12:34:56"}},
		{id: "inv/dnsmasq.leases/DA:A1:19:5E:22:0B", ips: []string{"192.168.10.9"}, macs: []sources.MAC{"DA:A1:19:5E:22:0B"}},
		// After the duid line the second field is an IAID, not a MAC.
		{id: "inv/dnsmasq.leases/fd00:10::50", name: "pve-vm1", ips: []string{"fd00:10::50"}},
	})
	checkWarnings(t, res, [][2]string{
		{"dnsmasq.leases:4", "lease 192.168.10.77 expired at 2025-11-21T04:40:00Z"},
		{"dnsmasq.leases:5", `mac "zz:zz:zz:zz:zz:zz"`},
		{"dnsmasq.leases:6", "2 fields"},
	})
	checkSkipped(t, res, map[string]int{sources.ReasonExpiredLease: 1, sources.ReasonMalformedRecord: 2})
}

// checkSkipped compares the result's skip counts per reason.
func checkSkipped(t *testing.T, res sources.Result, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, s := range res.Skipped {
		got[s.Reason] = s.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("skipped = %v, want %v", got, want)
	}
}

func TestParseKea(t *testing.T) {
	res := parseFixture(t, "kea-leases4.csv", FormatAuto)
	checkHosts(t, res, []host{
		// The later row for .10 renewed it; .11's last row is state 2 (reclaimed), .12 is
		// declined, .13 expired; .14 has an infinite lifetime and an escaped comma.
		{id: "inv/kea-leases4.csv/BC:24:11:00:00:10", name: "web01", fqdn: "web01.lab.example", ips: []string{"192.168.20.10"}, macs: []sources.MAC{"BC:24:11:00:00:10"}},
		{id: "inv/kea-leases4.csv/BC:24:11:00:00:14", ips: []string{"192.168.20.14"}, macs: []sources.MAC{"BC:24:11:00:00:14"}},
	})
	checkWarnings(t, res, [][2]string{
		{"kea-leases4.csv:9", `ip "192.168.20.300"`},
		{"kea-leases4.csv:10", "4 fields, header has 12"},
		{"kea-leases4.csv:7", "lease 192.168.20.11 in state 2"},
		{"kea-leases4.csv:4", "lease 192.168.20.12 in state 1"},
		{"kea-leases4.csv:5", "lease 192.168.20.13 expired"},
	})
	checkSkipped(t, res, map[string]int{sources.ReasonExpiredLease: 3, sources.ReasonMalformedRecord: 2})
}

func TestParseKeaLastRowWins(t *testing.T) {
	in := "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n" +
		"10.0.0.5,aa:00:00:00:00:01,,3600,1763899200,1,0,0,old,0,\n" +
		"10.0.0.5,aa:00:00:00:00:02,,3600,1763899200,1,0,0,new,0,\n"
	res, err := Parse(context.Background(), strings.NewReader(in), "kea-leases4.csv", FormatAuto, "inv", testNow)
	if err != nil || len(res.Observations) != 1 || res.Observations[0].Name != "new" {
		t.Fatalf("last row must win: %+v %v", res.Observations, err)
	}
}

func TestParseDhcpd(t *testing.T) {
	res := parseFixture(t, "dhcpd.leases", FormatAuto)
	checkHosts(t, res, []host{
		// The second block for .20 (active) replaced the first (free).
		{id: "inv/dhcpd.leases/52:54:00:30:00:20", name: "desktop-7qk2m1", ips: []string{"192.168.30.20"}, macs: []sources.MAC{"52:54:00:30:00:20"}},
		// .21's last block is free; .24 is active but ended; "ends never" is forever.
		{id: "inv/dhcpd.leases/52:54:00:30:00:22", name: "printer", ips: []string{"192.168.30.22"}, macs: []sources.MAC{"52:54:00:30:00:22"}},
	})
	checkWarnings(t, res, [][2]string{
		{"dhcpd.leases:49", `lease 192.168.30.999: ip "192.168.30.999"`},
		{"dhcpd.leases:36", `lease 192.168.30.21 (binding state "free"`},
		{"dhcpd.leases:53", "lease 192.168.30.24 (binding state \"active\", ends \"6 2025/11/22 10:00:00\") is not active"},
	})
	checkSkipped(t, res, map[string]int{sources.ReasonExpiredLease: 2, sources.ReasonMalformedRecord: 1})
}

func TestParseDhcpdMalformed(t *testing.T) {
	in := "lease 10.0.0.1 {\n binding state active;\n hardware ethernet 52:54:00:00:00:01;\n}\n" +
		"lease {\n}\n" +
		"lease 10.0.0.2 {\n binding state active\n}\n" +
		"lease 10.0.0.3 {\n binding state active;\n hardware ethernet 52:54:00:00:00:03;\n}\n"
	res, err := Parse(context.Background(), strings.NewReader(in), "dhcpd.leases", FormatAuto, "inv", testNow)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range res.Observations {
		ids = append(ids, o.NativeID)
	}
	if want := []string{"inv/dhcpd.leases/52:54:00:00:00:01", "inv/dhcpd.leases/52:54:00:00:00:03"}; !slices.Equal(ids, want) {
		t.Errorf("hosts %q, want %q", ids, want)
	}
	checkWarnings(t, res, [][2]string{
		{"dhcpd.leases:5", "lease without an address"},
		{"dhcpd.leases:7", `lease 10.0.0.2: statement "binding" lacks ';'`},
	})
}

func TestParseHosts(t *testing.T) {
	res := parseFixture(t, "hosts", FormatAuto)
	checkHosts(t, res, []host{
		// One host for the v4 and v6 lines; loopback (127.0.1.1 too) and multicast skipped.
		{id: "inv/hosts/pve1.home.arpa", name: "pve1", fqdn: "pve1.home.arpa", ips: []string{"192.168.10.2", "fd00:10::2"}},
		{id: "inv/hosts/truenas.home.arpa", name: "truenas", fqdn: "truenas.home.arpa", ips: []string{"192.168.10.5"}},
		{id: "inv/hosts/homeassistant", name: "homeassistant", ips: []string{"192.168.10.9"}},
	})
	checkWarnings(t, res, [][2]string{
		{"hosts:13", `ip "192.168.10.300"`},
		{"hosts:14", "has an address but no name"},
	})
	if a := res.Observations[1].Facts.Attributes["inventory.aliases"]; a != "truenas nas" {
		t.Errorf("aliases %q", a)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		file, head string
		want       Format
	}{
		{"/etc/hosts", "127.0.0.1 localhost\n", FormatHosts},
		{"/etc/ansible/hosts", "[web]\nweb1\n", FormatAnsibleINI},
		{"/var/lib/misc/dnsmasq.leases", "", FormatDnsmasq},
		{"/var/lib/dhcp/dhcpd.leases", "", FormatDhcpd},
		{"/var/lib/kea/kea-leases4.csv", "address,hwaddr\n", FormatKea},
		{"leases.csv", "address,hwaddr,client_id,valid_lifetime,expire\n", FormatKea},
		{"devices.csv", "name,ip\n", FormatCSV},
		{"inv.yaml", "all:\n", FormatAnsibleYAML},
		{"inv.json", "{}", FormatAnsibleJSON},
		{"inventory", "# c\n[all:vars]\n", FormatAnsibleINI},
		{"leases", "1763899200 aa:bb:cc:dd:ee:ff 10.0.0.1 x *\n", FormatDnsmasq},
		{"leases", "lease 10.0.0.1 {\n", FormatDhcpd},
		{"list", "10.0.0.1 nas\n", FormatHosts},
		{"list", "", FormatAuto},
	}
	for _, tt := range tests {
		if got := Detect(tt.file, []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%s, %q) = %q, want %q", tt.file, tt.head, got, tt.want)
		}
	}
}

func TestParseCSVUnknownKindKeepsTheRow(t *testing.T) {
	in := "name,ip,type\nsw1,10.0.0.2,Switch\nvm1,10.0.0.3,VM\n"
	res, err := Parse(context.Background(), strings.NewReader(in), "devices.csv", FormatCSV, "inv", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Observations) != 2 || res.Observations[0].Kind != sources.KindHost || res.Observations[1].Kind != sources.KindVM {
		t.Fatalf("observations %+v", res.Observations)
	}
	checkWarnings(t, res, [][2]string{{"devices.csv:2", `host "sw1": kind "Switch" is not device, vm or host`}})
}

func TestParseKeaLeases6(t *testing.T) {
	in := "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id\n" +
		"fd00:20::10,00:03:00:01:52:54:00:00:00:10,3600,1763899200,1,1800,0,1,128,0,0,nas6.lab.example,,0,,1,0,0\n" +
		"fd00:20::11,00:03:00:01:52:54:00:00:00:11,3600,1763899200,1,1800,0,1,128,0,0,,52:54:00:00:00:11,0,,1,2,0\n"
	res, err := Parse(context.Background(), strings.NewReader(in), "kea-leases6.csv", FormatAuto, "inv", testNow)
	if err != nil {
		t.Fatal(err)
	}
	checkHosts(t, res, []host{
		{id: "inv/kea-leases6.csv/fd00:20::10", name: "nas6", fqdn: "nas6.lab.example", ips: []string{"fd00:20::10"}},
		{id: "inv/kea-leases6.csv/52:54:00:00:00:11", ips: []string{"fd00:20::11"}, macs: []sources.MAC{"52:54:00:00:00:11"}},
	})
	checkWarnings(t, res, nil)
}
