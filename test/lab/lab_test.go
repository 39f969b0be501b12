package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/logging"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	"github.com/netbox-agent/netbox-agent/sync"
)

func startLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	l, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// client trusts exactly the CA file given (none: plain HTTP only) and keeps no connections
// after the test.
func client(t *testing.T, caFile string) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("%s: no certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// get returns the status and body of GET url with the header (name: value) set.
func get(t *testing.T, c *http.Client, url, name, value string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if name != "" {
		req.Header.Set(name, value)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// agentFile is the agent's config file as cmd/netbox-agent composes it from each package's
// Config; decoding with KnownFields catches any key the packages do not have.
type agentFile struct {
	Log      logging.Config `yaml:"log"`
	NetBox   netbox.Config  `yaml:"netbox"`
	Sync     sync.Config    `yaml:"sync"`
	MCP      server.Config  `yaml:"mcp"`
	StateDir string         `yaml:"state_dir"`
	Sources  struct {
		Proxmox       []proxmox.Config       `yaml:"proxmox"`
		TrueNAS       []truenas.Config       `yaml:"truenas"`
		HomeAssistant []homeassistant.Config `yaml:"homeassistant"`
		Inventory     []inventory.Config     `yaml:"inventory"`
	} `yaml:"sources"`
}

func decodeConfig(t *testing.T, path string) agentFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f agentFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s does not decode strictly: %v", path, err)
	}
	return f
}

func TestConfigDecodesStrictlyAndValidates(t *testing.T) {
	for _, profile := range []string{"4.3", "4.7"} {
		t.Run(profile, func(t *testing.T) {
			l := startLab(t, Options{NetBoxProfile: profile})
			f := decodeConfig(t, l.ConfigPath())

			check := func(section string, errs []error) {
				t.Helper()
				for _, err := range errs {
					t.Errorf("%s: %v", section, err)
				}
			}
			check("log", f.Log.Validate())
			f.NetBox.SetDefaults()
			check("netbox", f.NetBox.Validate())
			f.Sync.SetDefaults()
			check("sync", f.Sync.Validate())
			f.MCP.SetDefaults()
			check("mcp", f.MCP.Validate())
			if len(f.Sources.Proxmox) != 1 || len(f.Sources.TrueNAS) != 1 || len(f.Sources.HomeAssistant) != 1 || len(f.Sources.Inventory) != 1 {
				t.Fatalf("want one instance of each source, got %+v", f.Sources)
			}
			pve, nas, ha, inv := f.Sources.Proxmox[0], f.Sources.TrueNAS[0], f.Sources.HomeAssistant[0], f.Sources.Inventory[0]
			pve.SetDefaults()
			check("sources.proxmox[0]", pve.Validate())
			nas.SetDefaults()
			check("sources.truenas[0]", nas.Validate())
			ha.SetDefaults()
			check("sources.homeassistant[0]", ha.Validate())
			inv.SetDefaults()
			check("sources.inventory[0]", inv.Validate())

			// The values are the lab's, and TLS verification is on everywhere.
			if f.NetBox.URL != l.NetBoxURL() || f.NetBox.Token.Reveal() != l.NetBoxToken() {
				t.Errorf("netbox: url %q, token matches %v; want %q", f.NetBox.URL, f.NetBox.Token.Reveal() == l.NetBoxToken(), l.NetBoxURL())
			}
			if len(f.Sync.Roles) != 2 || f.Sync.Roles[0] != (sync.RoleRule{Hint: "nas", Role: "NAS"}) {
				t.Errorf("sync.roles %+v", f.Sync.Roles)
			}
			if f.Sync.Site != SiteName || f.StateDir != l.StateDir() || !f.MCP.WritesEnabled || !f.MCP.AllowUnauthenticatedLoopback {
				t.Errorf("sync.site %q, state_dir %q, mcp %+v", f.Sync.Site, f.StateDir, f.MCP)
			}
			if pve.Name != ProxmoxSource || pve.URL != l.Proxmox().URL || nas.Name != TrueNASSource || nas.URL != l.TrueNAS().URL ||
				ha.Name != HomeAssistantSource || ha.URL != l.HomeAssistant().URL || inv.Name != InventorySource {
				t.Errorf("source names or URLs do not match the lab: %s %s, %s %s, %s %s, %s", pve.Name, pve.URL, nas.Name, nas.URL, ha.Name, ha.URL, inv.Name)
			}
			if pve.InsecureSkipVerify || nas.InsecureSkipVerify || ha.InsecureSkipVerify || f.NetBox.InsecureSkipVerify {
				t.Error("TLS verification turned off")
			}
			for _, ca := range []string{pve.CAFile, nas.CAFile, ha.CAFile} {
				if !strings.HasPrefix(ca, l.Dir()) {
					t.Errorf("ca_file %q outside the lab dir", ca)
				}
			}
			if len(inv.Files) != 3 || inv.Files[0].Path != l.InventoryPath() || inv.Files[0].Format != "csv" ||
				inv.Files[1].Path != l.HostsPath() || inv.Files[1].Format != "hosts" ||
				inv.Files[2].Path != l.LeasesPath() || inv.Files[2].Format != "dnsmasq" {
				t.Errorf("inventory files %+v", inv.Files)
			}
			if st, err := os.Stat(l.StateDir()); err != nil || !st.IsDir() {
				t.Errorf("state_dir: %v", err)
			}
			if st, err := os.Stat(l.ConfigPath()); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("config file mode: %v %v", st.Mode(), err)
			}
		})
	}
}

func TestSimulatorsAnswerWithTheirAuth(t *testing.T) {
	l := startLab(t, Options{})
	f := decodeConfig(t, l.ConfigPath())
	pveCfg, nasCfg, haCfg := f.Sources.Proxmox[0], f.Sources.TrueNAS[0], f.Sources.HomeAssistant[0]

	tests := []struct {
		name, url, caFile, header, good string
		wantBody                        string
		badStatus                       int // the status without credentials
	}{
		{"netbox", l.NetBoxURL() + "/api/status/", "", "Authorization", "Token " + l.NetBoxToken(), `"netbox-version"`, http.StatusForbidden},
		{"proxmox", pveCfg.URL + "/api2/json/version", pveCfg.CAFile, "Authorization",
			"PVEAPIToken=" + pveCfg.TokenID + "=" + pveCfg.TokenSecret.Reveal(), `"version"`, http.StatusUnauthorized},
		{"truenas", nasCfg.URL + "/api/v2.0/system/info", nasCfg.CAFile, "Authorization", "Bearer " + nasCfg.APIKey.Reveal(), `"nas01"`, http.StatusUnauthorized},
		{"homeassistant", haCfg.URL + "/api/config", haCfg.CAFile, "Authorization", "Bearer " + haCfg.Token.Reveal(), `"version"`, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t, tt.caFile)
			status, body := get(t, c, tt.url, tt.header, tt.good)
			if status != http.StatusOK || !bytes.Contains(body, []byte(tt.wantBody)) {
				t.Fatalf("with credentials: %d %.300s", status, body)
			}
			if status, _ := get(t, c, tt.url, "", ""); status != tt.badStatus {
				t.Errorf("without credentials: %d, want %d", status, tt.badStatus)
			}
			if tt.caFile != "" {
				// TLS is real: a client without the lab's CA refuses the certificate.
				plain := client(t, "")
				if _, err := plain.Get(tt.url); err == nil || !strings.Contains(err.Error(), "certificate") {
					t.Errorf("a client without the CA file connected: %v", err)
				}
			}
		})
	}
}

func TestFailSource(t *testing.T) {
	l := startLab(t, Options{})
	f := decodeConfig(t, l.ConfigPath())
	pveCfg, nasCfg, haCfg := f.Sources.Proxmox[0], f.Sources.TrueNAS[0], f.Sources.HomeAssistant[0]
	tests := []struct {
		name, url, caFile, auth string
		failStatus              int
	}{
		{"netbox", l.NetBoxURL() + "/api/dcim/devices/", "", "Token " + l.NetBoxToken(), http.StatusInternalServerError},
		{"pve-lab", pveCfg.URL + "/api2/json/cluster/resources", pveCfg.CAFile, "PVEAPIToken=" + pveCfg.TokenID + "=" + pveCfg.TokenSecret.Reveal(), http.StatusUnauthorized},
		{"truenas", nasCfg.URL + "/api/v2.0/pool", nasCfg.CAFile, "Bearer " + nasCfg.APIKey.Reveal(), http.StatusUnauthorized},
		{"homeassistant", haCfg.URL + "/api/states", haCfg.CAFile, "Bearer " + haCfg.Token.Reveal(), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t, tt.caFile)
			for _, step := range []struct {
				fail bool
				want int
			}{{false, http.StatusOK}, {true, tt.failStatus}, {false, http.StatusOK}} {
				if err := l.FailSource(tt.name, step.fail); err != nil {
					t.Fatal(err)
				}
				if status, body := get(t, c, tt.url, "Authorization", tt.auth); status != step.want {
					t.Fatalf("failing %v: %d %.200s, want %d", step.fail, status, body, step.want)
				}
			}
		})
	}
	// The websocket APIs fail too: the adapters of TrueNAS 25.04+ and Home Assistant use them.
	t.Run("websockets", func(t *testing.T) {
		for _, s := range []struct{ name, url, ca string }{
			{"nas", nasCfg.URL + "/api/current", nasCfg.CAFile}, {"home", haCfg.URL + "/api/websocket", haCfg.CAFile},
		} {
			c := client(t, s.ca)
			upgrade := func() int {
				req, _ := http.NewRequest(http.MethodGet, s.url, nil)
				for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket",
					"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := upgrade(); got != http.StatusSwitchingProtocols {
				t.Fatalf("%s healthy: upgrade answered %d", s.name, got)
			}
			if err := l.FailSource(s.name, true); err != nil {
				t.Fatal(err)
			}
			if got := upgrade(); got != http.StatusUnauthorized {
				t.Errorf("%s failing: upgrade answered %d, want 401", s.name, got)
			}
			_ = l.FailSource(s.name, false)
		}
	})
	if err := l.FailSource("netscan", true); err == nil || !strings.Contains(err.Error(), `"netscan"`) {
		t.Errorf("unknown simulator: %v", err)
	}
}

// pveGuests lists /cluster/resources?type=vm.
func pveGuests(t *testing.T, l *Lab) []map[string]any {
	t.Helper()
	f := decodeConfig(t, l.ConfigPath())
	cfg := f.Sources.Proxmox[0]
	status, body := get(t, client(t, cfg.CAFile), cfg.URL+"/api2/json/cluster/resources?type=vm",
		"Authorization", "PVEAPIToken="+cfg.TokenID+"="+cfg.TokenSecret.Reveal())
	if status != http.StatusOK {
		t.Fatalf("cluster/resources: %d %.200s", status, body)
	}
	var res struct{ Data []map[string]any }
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res.Data
}

func TestSyntheticVMs(t *testing.T) {
	for _, n := range []int{0, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			l := startLab(t, Options{VMs: n})
			guests := pveGuests(t, l)
			if want := len(sampleGuests()) + n; len(guests) != want {
				t.Fatalf("proxmox serves %d guests, want %d", len(guests), want)
			}
			var served []string
			nodes := map[string]int{}
			for _, g := range guests {
				nodes[g["node"].(string)]++
				if tmpl, _ := g["template"].(float64); tmpl == 0 {
					served = append(served, g["name"].(string))
				}
			}
			slices.Sort(served)
			exp := l.Expected()
			if !slices.Equal(served, exp.VMs) {
				t.Errorf("Expected().VMs (%d) differ from the non-template guests served (%d)", len(exp.VMs), len(served))
			}
			if n > 0 && (len(exp.VMs) <= n || len(exp.VMs) >= len(sampleGuests())+n) {
				t.Errorf("%d expected VMs for %d synthetic guests plus the sample: templates not skipped?", len(exp.VMs), n)
			}
			for _, node := range []string{"pve1", "pve2", "pve3"} {
				if nodes[node] < (len(guests))/5 {
					t.Errorf("node %s runs %d of %d guests: not spread", node, nodes[node], len(guests))
				}
			}
		})
	}
}

// TestSampleSharesKeys checks that the hosts Expected calls merged really share a key across
// the simulators, as the agent will read them.
func TestSampleSharesKeys(t *testing.T) {
	l := startLab(t, Options{})
	f := decodeConfig(t, l.ConfigPath())
	inv, err := os.ReadFile(l.InventoryPath())
	if err != nil {
		t.Fatal(err)
	}
	invText := strings.ToLower(string(inv))

	// dns01 and pihole: the guest's MAC is a Home Assistant router tracker's MAC.
	haCfg := f.Sources.HomeAssistant[0]
	status, body := get(t, client(t, haCfg.CAFile), haCfg.URL+"/api/states", "Authorization", "Bearer "+haCfg.Token.Reveal())
	if status != http.StatusOK {
		t.Fatalf("HA states: %d", status)
	}
	var states []struct {
		EntityID   string         `json:"entity_id"`
		Attributes map[string]any `json:"attributes"`
	}
	if err := json.Unmarshal(body, &states); err != nil {
		t.Fatal(err)
	}
	trackerMACs := map[string]string{}
	for _, s := range states {
		if mac, ok := s.Attributes["mac"].(string); ok {
			trackerMACs[strings.ToLower(mac)] = s.EntityID
		}
	}
	pveCfg := f.Sources.Proxmox[0]
	pve := client(t, pveCfg.CAFile)
	auth := "PVEAPIToken=" + pveCfg.TokenID + "=" + pveCfg.TokenSecret.Reveal()
	for _, g := range pveGuests(t, l) {
		name := g["name"].(string)
		srcs := l.Expected().Merged[name]
		if !slices.Contains(srcs, HomeAssistantSource) {
			continue
		}
		status, body := get(t, pve, fmt.Sprintf("%s/api2/json/nodes/%s/%s/config", pveCfg.URL, g["node"], g["id"]), "Authorization", auth)
		if status != http.StatusOK {
			t.Fatalf("%s config: %d %.200s", name, status, body)
		}
		var cfg struct{ Data map[string]any }
		_ = json.Unmarshal(body, &cfg)
		net0 := strings.ToLower(fmt.Sprint(cfg.Data["net0"]))
		found := false
		for mac := range trackerMACs {
			found = found || strings.Contains(net0, mac)
		}
		if !found {
			t.Errorf("%s: net0 %q shares no MAC with a Home Assistant tracker", name, net0)
		}
	}

	// nas01: TrueNAS's serial and MAC are in the inventory.
	nasCfg := f.Sources.TrueNAS[0]
	status, body = get(t, client(t, nasCfg.CAFile), nasCfg.URL+"/api/v2.0/system/info", "Authorization", "Bearer "+nasCfg.APIKey.Reveal())
	var info struct {
		Hostname     string `json:"hostname"`
		SystemSerial string `json:"system_serial"`
	}
	if err := json.Unmarshal(body, &info); err != nil || status != http.StatusOK {
		t.Fatalf("system/info: %d %v", status, err)
	}
	for _, key := range []string{info.Hostname, info.SystemSerial, nasMAC} {
		if !strings.Contains(invText, strings.ToLower(key)) {
			t.Errorf("inventory lacks TrueNAS's %q", key)
		}
	}
	// pve1..3: name and cluster IP in the inventory.
	for _, n := range sampleNodes() {
		if !n.Online {
			continue // pve4: known only by Proxmox's cluster status, on purpose
		}
		if !strings.Contains(invText, "\n"+n.Name+","+n.IP+",") {
			t.Errorf("inventory lacks node %s at %s", n.Name, n.IP)
		}
	}
	// Every device name is served by some source (or the inventory).
	names := map[string]bool{info.Hostname: true}
	for _, n := range sampleNodes() {
		names[n.Name] = true
	}
	for _, d := range sampleHome().Devices {
		names[cmpOr(d.NameByUser, d.Name)] = true
	}
	for _, line := range strings.Split(string(inv), "\n") {
		if name, _, ok := strings.Cut(line, ","); ok && !strings.HasPrefix(line, "#") {
			names[name] = true
		}
	}
	for _, d := range l.Expected().Devices {
		if !names[d] {
			t.Errorf("expected device %q is named by no source", d)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestCloseStopsEverything(t *testing.T) {
	// Load the NetBox spec first: its process-wide cache is no leak.
	startLab(t, Options{}).Close()
	runtime.GC()
	before := runtime.NumGoroutine()

	l, err := Start(context.Background(), Options{}) // no Dir: Close removes the temp dir
	if err != nil {
		t.Fatal(err)
	}
	dir := l.Dir()
	var addrs []string
	for _, s := range l.Services() {
		u, err := url.Parse(s.URL)
		if err != nil || u.Hostname() != "127.0.0.1" {
			t.Fatalf("%s listens on %q, not loopback", s.Name, s.URL)
		}
		addrs = append(addrs, u.Host)
	}
	// Use every simulator once so that Close has connections to end.
	f := decodeConfig(t, l.ConfigPath())
	c := client(t, f.Sources.Proxmox[0].CAFile)
	get(t, c, f.Sources.Proxmox[0].URL+"/api2/json/version", "", "")
	get(t, client(t, ""), l.NetBoxURL()+"/api/status/", "Authorization", "Token "+l.NetBoxToken())

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Close", a)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed: %v", dir, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.CloseIdleConnections()
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartKeepsAGivenDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab")
	l, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{ConfigFile, InventoryFile, "ca/proxmox.pem", "ca/truenas.pem", "ca/homeassistant.pem"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		opts Options
		want string
	}{
		{"profile", context.Background(), Options{NetBoxProfile: "5.0"}, `"5.0"`},
		{"negative vms", context.Background(), Options{VMs: -1}, "vms -1"},
		{"too many vms", context.Background(), Options{VMs: maxVMs + 1}, "vms"},
		{"cancelled", ctx, Options{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			l, err := Start(tt.ctx, tt.opts)
			if err == nil {
				l.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func BenchmarkStart(b *testing.B) {
	// The NetBox spec is loaded once per process; load it before timing.
	if l, err := Start(context.Background(), Options{Dir: b.TempDir()}); err == nil {
		l.Close()
	}
	for _, n := range []int{0, 5000} {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			for b.Loop() {
				l, err := Start(context.Background(), Options{Dir: b.TempDir(), VMs: n})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/start")
		})
	}
}

// seedExpected writes into the lab's NetBox what the agent should create, in the shapes it
// uses: the ownership record in a JSON custom field naming each source.
func seedExpected(t *testing.T, l *Lab) {
	t.Helper()
	nb := l.NetBox()
	e := l.Expected()
	nb.MustSeed("/api/extras/custom-fields/", map[string]any{"name": "netbox_agent", "type": "json",
		"object_types": []string{"dcim.device", "virtualization.virtualmachine"}})
	site := nb.MustSeed("/api/dcim/sites/", map[string]any{"name": e.Site, "slug": "homelab"})[0]
	mfr := nb.MustSeed("/api/dcim/manufacturers/", map[string]any{"name": "Generic", "slug": "generic"})[0]
	dtype := nb.MustSeed("/api/dcim/device-types/", map[string]any{"manufacturer": mfr, "model": "Unknown", "slug": "unknown"})[0]
	role := nb.MustSeed("/api/dcim/device-roles/", map[string]any{"name": "Server", "slug": "server"})[0]
	ctype := nb.MustSeed("/api/virtualization/cluster-types/", map[string]any{"name": "Proxmox VE", "slug": "proxmox-ve"})[0]
	cluster := nb.MustSeed("/api/virtualization/clusters/", map[string]any{"name": e.Cluster, "type": ctype})[0]
	record := func(name string) map[string]any {
		var srcs []any
		for _, s := range e.Merged[name] {
			srcs = append(srcs, map[string]any{"source": s, "native_id": "x"})
		}
		return map[string]any{"netbox_agent": map[string]any{"sources": srcs}}
	}
	var devs, vms []map[string]any
	for _, n := range e.Devices {
		devs = append(devs, map[string]any{"name": n, "site": site, "device_type": dtype, "role": role, "custom_fields": record(n)})
	}
	for _, n := range e.VMs {
		status := "active"
		if slices.Contains(e.StoppedVMs, n) {
			status = "offline"
		}
		vms = append(vms, map[string]any{"name": n, "cluster": cluster, "status": status, "custom_fields": record(n)})
	}
	devIDs := nb.MustSeed("/api/dcim/devices/", devs...)
	nb.MustSeed("/api/virtualization/virtual-machines/", vms...)
	for _, k := range e.KeyOnly {
		dev := devIDs[slices.Index(e.Devices, k.Device)]
		iface := nb.MustSeed("/api/dcim/interfaces/", map[string]any{"device": dev, "name": k.Interface, "type": "other"})[0]
		if k.MAC != "" {
			nb.MustSeed("/api/dcim/mac-addresses/", map[string]any{"mac_address": k.MAC, "assigned_object_type": "dcim.interface", "assigned_object_id": iface})
		}
		if k.IP != "" {
			ip := nb.MustSeed("/api/ipam/ip-addresses/", map[string]any{"address": k.IP + "/32", "assigned_object_type": "dcim.interface", "assigned_object_id": iface})[0]
			patchNB(t, l, epDevices, dev, map[string]any{"primary_ip4": ip})
		}
	}
	for _, a := range e.HostIPs {
		nb.MustSeed("/api/ipam/ip-addresses/", map[string]any{"address": a + "/32"})
	}
}

func TestCheckNetBox(t *testing.T) {
	t.Run("empty NetBox", func(t *testing.T) {
		l := startLab(t, Options{VMs: 40})
		errs := l.CheckNetBox()
		text := fmt.Sprint(errs)
		for _, want := range []string{"12 of 12 devices missing: ap-office", "48 virtual machines missing", "ip address 192.0.2.60: missing"} {
			if !strings.Contains(text, want) {
				t.Errorf("errors lack %q: %v", want, errs)
			}
		}
	})
	t.Run("as expected", func(t *testing.T) {
		l := startLab(t, Options{VMs: 40})
		seedExpected(t, l)
		if errs := l.CheckNetBox(); len(errs) > 0 {
			t.Fatalf("NetBox holds what Expected says, yet: %v", errs)
		}
	})
	t.Run("differences", func(t *testing.T) {
		l := startLab(t, Options{})
		seedExpected(t, l)
		nb := l.NetBox()
		vm := byName(nb.Objects(epVMs))
		site := nb.MustSeed("/api/dcim/sites/", map[string]any{"name": "Elsewhere", "slug": "elsewhere"})[0]
		dev := byName(nb.Objects(epDevices))["ups"]
		// A stopped VM shown active, an extra VM, a device in another site, a merge that lost a
		// source, the phone's IP assigned to an interface.
		patch := func(ep string, id any, body map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s%s%v/", l.NetBoxURL(), ep, id), strings.NewReader(mustJSON(t, body)))
			req.Header.Set("Authorization", nb.AuthHeader())
			req.Header.Set("Content-Type", "application/json")
			resp, err := client(t, "").Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PATCH %s%v: %d %s", ep, id, resp.StatusCode, b)
			}
		}
		patch(epVMs, vm["win11"]["id"], map[string]any{"status": "active"})
		patch(epVMs, vm["dns01"]["id"], map[string]any{"custom_fields": map[string]any{"netbox_agent": map[string]any{
			"sources": []any{map[string]any{"source": ProxmoxSource}}}}})
		patch(epDevices, dev["id"], map[string]any{"site": site})
		nb.MustSeed(epVMs, map[string]any{"name": "ghost", "cluster": vm["gitea"]["cluster"].(map[string]any)["id"]})
		iface := nb.MustSeed("/api/dcim/interfaces/", map[string]any{"device": dev["id"], "name": "eth0", "type": "1000base-t"})[0]
		for _, ip := range nb.Objects(epIPs) {
			if ip["assigned_object_type"] == nil { // the host IPs, not the key-only ones seeded on interfaces
				patch(epIPs, ip["id"], map[string]any{"assigned_object_type": "dcim.interface", "assigned_object_id": iface})
			}
		}

		// the TV's MAC moved off the interface the agent names for it
		for _, m := range nb.Objects("/api/dcim/mac-addresses/") {
			if strings.EqualFold(fmt.Sprint(m["mac_address"]), TVMAC) {
				patch("/api/dcim/mac-addresses/", m["id"], map[string]any{"assigned_object_type": "dcim.interface", "assigned_object_id": iface})
			}
		}

		got := fmt.Sprint(l.CheckNetBox())
		for _, want := range []string{
			"device living-room-tv: MAC " + TVMAC + " is not on mac-a823fe5a0050",
			`virtual machine win11: status "active", want "offline"`,
			"1 unexpected virtual machines: ghost",
			`device ups: site "Elsewhere", want "Homelab"`,
			`dns01: its custom fields do not name source "home"`,
			"ip address 192.0.2.60: assigned to a dcim.interface",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("errors lack %q:\n%s", want, got)
			}
		}
	})
}

// patchNB PATCHes one object of the lab's NetBox.
func patchNB(t *testing.T, l *Lab, ep string, id any, body map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s%s%v/", l.NetBoxURL(), ep, id), strings.NewReader(mustJSON(t, body)))
	req.Header.Set("Authorization", l.NetBox().AuthHeader())
	req.Header.Set("Content-Type", "application/json")
	resp, err := client(t, "").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s%v: %d %s", ep, id, resp.StatusCode, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
