package truenas

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// testConfig points a source at srv, trusting its certificate through a ca_file.
func testConfig(t testing.TB, srv *truenastest.Server, api string) Config {
	t.Helper()
	cfg := Config{Name: "nas-lab", URL: srv.URL, APIKey: secret.New(srv.APIKey()), API: api, Timeout: 30 * time.Second}
	if pemData := srv.CertPEM(); pemData != nil {
		cfg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(cfg.CAFile, pemData, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func newSource(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func discover(t *testing.T, cfg Config) sources.Result {
	t.Helper()
	res, err := newSource(t, cfg).Discover(context.Background(), nil)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if len(res.Observations) != 1 {
		t.Fatalf("want one observation, got %d", len(res.Observations))
	}
	return res
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// wantServices is what DefaultState's shares must become (the disabled NFS share is absent).
var wantServices = []sources.Service{
	{Name: "SMB media", Protocol: "tcp", Ports: []int{445}, Description: "/mnt/tank/media — family media"},
	{Name: "SMB photos", Protocol: "tcp", Ports: []int{445}, Description: "/mnt/tank/media/photos"},
	{Name: "NFS /mnt/tank/backups", Protocol: "tcp", Ports: []int{2049}, Description: "/mnt/tank/backups"},
	{Name: "NFS /mnt/tank/media", Protocol: "tcp", Ports: []int{2049}, Description: "/mnt/tank/media — media library"},
	{Name: "iSCSI iqn.2005-10.org.freenas.ctl:vmstore", Protocol: "tcp", Ports: []int{3260},
		Description: "iqn.2005-10.org.freenas.ctl:vmstore — Proxmox VM store"},
}

func TestDiscoverEveryFlavour(t *testing.T) {
	tests := []struct {
		flavour  truenastest.Flavour
		api      string
		username bool
		platform string
		wantWS   bool
	}{
		{truenastest.Core13, APIAuto, false, "TrueNAS CORE 13.0", false},
		{truenastest.Scale2410, APIREST, false, "TrueNAS SCALE 24.10", false},
		{truenastest.Scale2410, APIAuto, false, "TrueNAS SCALE 24.10", false},
		{truenastest.Scale2510, APIAuto, false, "TrueNAS 25.10", true},
		{truenastest.Scale2504, APIWebsocket, true, "TrueNAS SCALE 25.04", true},
		{truenastest.TrueNAS26, APIAuto, true, "TrueNAS 26.04", true},
	}
	for _, tc := range tests {
		t.Run(string(tc.flavour)+"/"+tc.api, func(t *testing.T) {
			srv := truenastest.NewTestServer(t, truenastest.WithFlavour(tc.flavour))
			cfg := testConfig(t, srv, tc.api)
			if tc.username {
				cfg.Username = srv.Username()
			}
			res := discover(t, cfg)
			o := res.Observations[0]
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %v", res.Warnings)
			}
			if o.Source != "nas-lab" || o.Adapter != "truenas" || o.NativeID != "nas-lab/system" || o.Kind != sources.KindDevice {
				t.Errorf("identity: %s %s %s %s", o.Source, o.Adapter, o.NativeID, o.Kind)
			}
			if o.Name != "nas01" || o.Keys.FQDN != "nas01.lab.example" {
				t.Errorf("name %q fqdn %q", o.Name, o.Keys.FQDN)
			}
			if o.Keys.Serial != "" {
				t.Errorf("the junk serial must be dropped, got %q", o.Keys.Serial)
			}
			f := o.Facts
			if f.Platform != tc.platform || f.Manufacturer != "ASRockRack" || f.Model != "X570D4U-2L2T" ||
				f.Role != "nas" || f.MemoryMB != 65536 || f.Status != "active" {
				t.Errorf("facts: %+v", f)
			}
			if !reflect.DeepEqual(o.Services, wantServices) {
				t.Errorf("services:\n got %+v\nwant %+v", o.Services, wantServices)
			}
			wantIfcs := []sources.Interface{
				{Name: "enp5s0", MAC: "A8:A1:59:3C:12:7E", IPs: []netip.Prefix{pfx("192.168.10.20/24"), pfx("2001:db8:10::20/64")}},
				{Name: "enp6s0", MAC: "A8:A1:59:3C:12:7F", IPs: []netip.Prefix{}},
				{Name: "vlan30", MAC: "A8:A1:59:3C:12:7E", VLAN: 30, Type: "virtual", IPs: []netip.Prefix{pfx("10.30.0.5/24")}},
			}
			if !reflect.DeepEqual(o.Interfaces, wantIfcs) {
				t.Errorf("interfaces:\n got %+v\nwant %+v", o.Interfaces, wantIfcs)
			}
			wantDisks := []sources.Disk{{Name: "nvme0n1", SizeMB: 1_000_204_886_016 >> 20},
				{Name: "sda", SizeMB: 8_001_563_222_016 >> 20}, {Name: "sdb", SizeMB: 8_001_563_222_016 >> 20}}
			if !reflect.DeepEqual(o.Disks, wantDisks) {
				t.Errorf("disks: %+v", o.Disks)
			}
			wantPools := `[{"name":"fast","guid":"9120398470123984711","status":"DEGRADED","healthy":false,"size_bytes":996432412672,"disks":["nvme0n1"],"datasets":2},` +
				`{"name":"tank","guid":"11523431734892347691","status":"ONLINE","healthy":true,"size_bytes":7984378019840,"disks":["sda","sdb"],"datasets":4}]`
			if got := f.Attributes["truenas.pools"]; got != wantPools {
				t.Errorf("truenas.pools:\n got %s\nwant %s", got, wantPools)
			}
			if got := f.Attributes["truenas.iscsi_extents"]; got != `[{"name":"vm-disk","type":"DISK","backing":"zvol/fast/vm-disk"}]` {
				t.Errorf("extents: %s", got)
			}
			usedWS := srv.RequestsFor("system.info") == 1 && srv.RequestsFor("auth.login_ex")+srv.RequestsFor("auth.login_with_api_key") == 1
			if tc.wantWS != usedWS {
				t.Errorf("websocket used = %v, want %v", usedWS, tc.wantWS)
			}
		})
	}
}

// TestNFSPathsVersusPath: CORE's `paths` list and SCALE's `path` give the same services.
func TestNFSPathsVersusPath(t *testing.T) {
	twoPaths := func(st *truenastest.State) {
		st.NFSShares = []truenastest.NFSShare{{ID: 7, Paths: []string{"/mnt/tank/a", "/mnt/tank/b"}, Enabled: true}}
	}
	core := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Core13))
	core.Update(twoPaths)
	var got []string
	for _, s := range discover(t, testConfig(t, core, APIAuto)).Observations[0].Services {
		if s.Ports[0] == 2049 {
			got = append(got, s.Name+" | "+s.Description)
		}
	}
	want := []string{"NFS /mnt/tank/a /mnt/tank/b | /mnt/tank/a, /mnt/tank/b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CORE paths: got %q want %q", got, want)
	}
	scale := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Scale2410))
	scale.Update(twoPaths) // SCALE renders only the first path, as `path`
	got = nil
	for _, s := range discover(t, testConfig(t, scale, APIREST)).Observations[0].Services {
		if s.Ports[0] == 2049 {
			got = append(got, s.Name)
		}
	}
	if !reflect.DeepEqual(got, []string{"NFS /mnt/tank/a"}) {
		t.Errorf("SCALE path: got %q", got)
	}
}

// TestBothAPIsSameObservations reads one SCALE state through REST and through the websocket.
func TestBothAPIsSameObservations(t *testing.T) {
	for _, fl := range []truenastest.Flavour{truenastest.Scale2504, truenastest.Scale2510} {
		t.Run(string(fl), func(t *testing.T) {
			// Notifications interleaved with answers must be skipped by the websocket reader.
			srv := truenastest.NewTestServer(t, truenastest.WithFlavour(fl), truenastest.WithNotifications())
			rest := discover(t, testConfig(t, srv, APIREST))
			wsCfg := testConfig(t, srv, APIWebsocket)
			wsCfg.Username = srv.Username()
			ws := discover(t, wsCfg)
			if srv.RequestsFor("auth.login_ex") != 1 {
				t.Fatal("the websocket discovery did not log in over the websocket")
			}
			rest.Observations[0].SeenAt, ws.Observations[0].SeenAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(rest, ws) {
				t.Errorf("REST and websocket differ:\nrest %+v\nws   %+v", rest, ws)
			}
		})
	}
}

// TestPoolsFlatDatasets: REST lists datasets flat and nested; each must appear once.
func TestPoolsFlatDatasets(t *testing.T) {
	srv := truenastest.NewTestServer(t)
	for _, api := range []string{APIREST, APIWebsocket} {
		pools, err := newSource(t, testConfig(t, srv, api)).Pools(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		scrub := time.Date(2026, 11, 23, 3, 12, 45, 0, time.UTC)
		want := []Pool{
			{Name: "fast", GUID: "9120398470123984711", Status: "DEGRADED", Healthy: false,
				SizeBytes: 996_432_412_672, AllocatedBytes: 120_259_084_288, FreeBytes: 876_173_328_384,
				Disks: []string{"nvme0n1"}, Datasets: []Dataset{
					{Name: "fast", Type: "FILESYSTEM", Mountpoint: "/mnt/fast", UsedBytes: 120_259_084_288, AvailableBytes: 840_000_000_000},
					{Name: "fast/vm-disk", Type: "VOLUME", UsedBytes: 110_000_000_000, AvailableBytes: 840_000_000_000},
				}},
			{Name: "tank", GUID: "11523431734892347691", Status: "ONLINE", Healthy: true,
				SizeBytes: 7_984_378_019_840, AllocatedBytes: 2_512_880_467_968, FreeBytes: 5_471_497_551_872,
				Disks: []string{"sda", "sdb"}, LastScrub: &scrub, Datasets: []Dataset{
					{Name: "tank", Type: "FILESYSTEM", Mountpoint: "/mnt/tank", UsedBytes: 2_512_880_467_968, AvailableBytes: 5_200_000_000_000},
					{Name: "tank/backups", Type: "FILESYSTEM", Mountpoint: "/mnt/tank/backups", UsedBytes: 100_000_000_000, AvailableBytes: 5_200_000_000_000},
					{Name: "tank/media", Type: "FILESYSTEM", Mountpoint: "/mnt/tank/media", UsedBytes: 2_000_000_000_000, AvailableBytes: 5_200_000_000_000},
					{Name: "tank/media/photos", Type: "FILESYSTEM", Mountpoint: "/mnt/tank/media/photos", UsedBytes: 400_000_000_000, AvailableBytes: 5_200_000_000_000},
				}},
		}
		if !reflect.DeepEqual(pools, want) {
			t.Errorf("%s pools:\n got %+v\nwant %+v", api, pools, want)
		}
	}
}

func TestRealSerialKept(t *testing.T) {
	srv := truenastest.NewTestServer(t)
	srv.Update(func(st *truenastest.State) {
		st.System.Serial = "A1SRV2024X77"
		st.System.Manufacturer = "Default string"
	})
	o := discover(t, testConfig(t, srv, APIREST)).Observations[0]
	if o.Keys.Serial != "A1SRV2024X77" || o.Facts.Manufacturer != "" {
		t.Errorf("serial %q manufacturer %q", o.Keys.Serial, o.Facts.Manufacturer)
	}
}

// TestBadItemIsAWarning: one interface with a broken MAC and address keeps everything else.
func TestBadItemIsAWarning(t *testing.T) {
	srv := truenastest.NewTestServer(t)
	srv.Update(func(st *truenastest.State) {
		st.Interfaces = append(st.Interfaces, truenastest.Interface{Name: "br0", Type: "BRIDGE", MAC: "zz:zz",
			Aliases: []truenastest.Alias{{Type: "INET", Address: "300.1.1.1", Netmask: 24}, {Type: "INET", Address: "10.9.9.9", Netmask: 16}}})
	})
	res := discover(t, testConfig(t, srv, APIREST))
	if len(res.Warnings) != 2 {
		t.Fatalf("want 2 warnings (MAC, address), got %v", res.Warnings)
	}
	ifcs := res.Observations[0].Interfaces
	if len(ifcs) != 4 || ifcs[0].Name != "br0" || ifcs[0].Type != "bridge" || ifcs[0].MAC != "" ||
		!reflect.DeepEqual(ifcs[0].IPs, []netip.Prefix{pfx("10.9.9.9/16")}) {
		t.Errorf("interfaces: %+v", ifcs)
	}
}

func TestInsecureTransport(t *testing.T) {
	srv := truenastest.NewServer()
	defer srv.Close()
	for _, u := range []string{srv.URL, srv.WebsocketURL()} {
		cfg := testConfig(t, srv, APIAuto)
		cfg.URL = u
		_, err := New(cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "url: ") || !strings.Contains(err.Error(), "allow_insecure_transport") {
			t.Errorf("%s: want a refusal naming url and allow_insecure_transport, got %v", u, err)
		}
		if err != nil && strings.Contains(err.Error(), srv.APIKey()) {
			t.Errorf("error shows the key: %v", err)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Fatalf("the refused key reached the server (%d requests)", n)
	}
	for _, api := range []string{APIREST, APIWebsocket} {
		cfg := testConfig(t, srv, api)
		cfg.AllowInsecureTransport = true
		if o := discover(t, cfg).Observations[0]; o.Name != "nas01" {
			t.Errorf("%s over plain transport when allowed: %+v", api, o)
		}
	}
	// Why the refusal matters: TrueNAS revokes the key that came in clear.
	revoking := truenastest.NewServer(truenastest.WithKeyRevocationOnPlainTransport())
	defer revoking.Close()
	cfg := testConfig(t, revoking, APIREST)
	cfg.AllowInsecureTransport = true
	if _, err := newSource(t, cfg).Discover(context.Background(), nil); err == nil || !revoking.KeyRevoked() {
		t.Errorf("the simulator should have revoked the key: %v", err)
	}
}

func TestAutoDetection(t *testing.T) {
	core := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Core13))
	discover(t, testConfig(t, core, APIAuto))
	if core.RequestsFor("websocket") != 1 || core.RequestsFor("pool.query") != 1 {
		t.Errorf("CORE: one websocket probe then REST: ws=%d pool=%d", core.RequestsFor("websocket"), core.RequestsFor("pool.query"))
	}
	// TrueNAS 26 through REST: a clear 404 that points at the websocket.
	t26 := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.TrueNAS26))
	_, err := newSource(t, testConfig(t, t26, APIREST)).Discover(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "api: websocket") {
		t.Errorf("26 over REST: %v", err)
	}
	// A proxy answering the upgrade with 404 means "no websocket here": REST takes over; a 503
	// is an outage, not a missing endpoint, and is reported.
	proxied := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Scale2510))
	proxied.Fail("websocket", truenastest.Fault{Status: 404})
	discover(t, testConfig(t, proxied, APIAuto))
	if proxied.RequestsFor("auth.login_with_api_key") != 0 || proxied.RequestsFor("pool.query") != 1 {
		t.Errorf("404 on the upgrade should fall back to REST")
	}
	proxied.Fail("websocket", truenastest.Fault{Status: 503, Reason: "maintenance"})
	_, err = newSource(t, testConfig(t, proxied, APIAuto)).Discover(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || proxied.RequestsFor("pool.query") != 1 {
		t.Errorf("503 on the upgrade: %v", err)
	}
	// A refused login is not "no websocket": auto must not fall back to REST.
	scale := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Scale2504))
	cfg := testConfig(t, scale, APIAuto)
	cfg.APIKey = secret.New("1-WrongKeyWrongKeyWrongKey")
	if _, err := newSource(t, cfg).Discover(context.Background(), nil); err == nil || scale.RequestsFor("system.info") != 0 {
		t.Errorf("failed login should stop auto-detection: %v (REST calls %d)", err, scale.RequestsFor("system.info"))
	}
}

// TestBadInput: each failure names the source and URL, never shows the key, and returns
// nothing half-parsed.
func TestBadInput(t *testing.T) {
	type setup func(t *testing.T) (*truenastest.Server, Config)
	server := func(fl truenastest.Flavour, api string, user bool, f func(*truenastest.Server, *Config)) setup {
		return func(t *testing.T) (*truenastest.Server, Config) {
			srv := truenastest.NewTestServer(t, truenastest.WithFlavour(fl))
			cfg := testConfig(t, srv, api)
			if user {
				cfg.Username = srv.Username()
			}
			cfg.Timeout = 20 * time.Second
			if f != nil {
				f(srv, &cfg)
			}
			return srv, cfg
		}
	}
	wrongKey := func(_ *truenastest.Server, c *Config) { c.APIKey = secret.New("1-ThisKeyIsWrongAndSecret42") }
	tests := []struct {
		name  string
		setup setup
		want  []string
	}{
		{"rest malformed JSON", server(truenastest.Scale2410, APIREST, false, func(s *truenastest.Server, _ *Config) {
			s.Fail("pool.query", truenastest.Fault{Malformed: true})
		}), []string{"/api/v2.0/pool", "malformed JSON"}},
		{"rest truncated JSON", server(truenastest.Core13, APIREST, false, func(s *truenastest.Server, _ *Config) {
			s.Fail("pool.dataset.query", truenastest.Fault{Truncate: true})
		}), []string{"/api/v2.0/pool/dataset", "malformed JSON"}},
		{"websocket malformed JSON", server(truenastest.Scale2504, APIWebsocket, true, func(s *truenastest.Server, _ *Config) {
			s.Fail("sharing.smb.query", truenastest.Fault{Malformed: true})
		}), []string{"/api/current", "sharing.smb.query", "malformed JSON"}},
		{"websocket truncated JSON", server(truenastest.TrueNAS26, APIAuto, true, func(s *truenastest.Server, _ *Config) {
			s.Fail("interface.query", truenastest.Fault{Truncate: true})
		}), []string{"/api/current", "interface.query", "malformed JSON"}},
		{"websocket closed", server(truenastest.Scale2504, APIWebsocket, false, func(s *truenastest.Server, _ *Config) {
			s.Fail("iscsi.extent.query", truenastest.Fault{Close: true})
		}), []string{"/api/current", "iscsi.extent.query", "closed the websocket"}},
		{"websocket error reason", server(truenastest.Scale2504, APIWebsocket, true, func(s *truenastest.Server, _ *Config) {
			s.Fail("pool.query", truenastest.Fault{Status: 500, Reason: "[EFAULT] pool.query failed: zpool busy"})
		}), []string{"/api/current", "pool.query", "zpool busy"}},
		{"rest connection dropped", server(truenastest.Scale2504, APIREST, false, func(s *truenastest.Server, _ *Config) {
			s.Fail("disk.query", truenastest.Fault{Close: true})
		}), []string{"/api/v2.0/disk", "EOF"}},
		{"rest 401", server(truenastest.Scale2410, APIREST, false, wrongKey), []string{"/api/v2.0/system/info", "401", "API key rejected"}},
		{"rest 403", server(truenastest.Core13, APIAuto, false, func(s *truenastest.Server, _ *Config) {
			s.Fail("sharing.nfs.query", truenastest.Fault{Status: 403, Reason: "Not authorized"})
		}), []string{"/api/v2.0/sharing/nfs", "403", "rights"}},
		{"websocket login_ex refused", server(truenastest.Scale2504, APIWebsocket, true, wrongKey),
			[]string{"/api/current", "login refused", "AUTH_ERR"}},
		{"websocket login_with_api_key refused", server(truenastest.TrueNAS26, APIAuto, false, wrongKey),
			[]string{"/api/current", "login refused", "login_with_api_key"}},
		{"websocket wrong user", server(truenastest.Scale2504, APIWebsocket, false, func(_ *truenastest.Server, c *Config) { c.Username = "root" }),
			[]string{"/api/current", "login refused", `username "root"`}},
		{"websocket without login_with_api_key", func(t *testing.T) (*truenastest.Server, Config) {
			srv := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.TrueNAS26), truenastest.WithoutLegacyKeyLogin())
			return srv, testConfig(t, srv, APIAuto)
		}, []string{"/api/current", "set username", "auth.login_ex"}},
		{"rest timeout", server(truenastest.Scale2410, APIREST, false, func(s *truenastest.Server, c *Config) {
			s.SetLatency(2 * time.Second)
			c.Timeout = 150 * time.Millisecond
		}), []string{"/api/v2.0/system/info", "timeout"}},
		{"websocket timeout", server(truenastest.Scale2504, APIWebsocket, false, func(s *truenastest.Server, c *Config) {
			s.SetLatency(2 * time.Second)
			c.Timeout = 150 * time.Millisecond
		}), []string{"/api/current", "timeout"}},
		{"rest TLS untrusted", server(truenastest.Scale2410, APIREST, false, func(_ *truenastest.Server, c *Config) { c.CAFile = "" }),
			[]string{"/api/v2.0/system/info", "TLS certificate not trusted", "ca_file"}},
		{"websocket TLS untrusted", server(truenastest.Scale2504, APIAuto, false, func(_ *truenastest.Server, c *Config) { c.CAFile = "" }),
			[]string{"/api/current", "TLS certificate not trusted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, cfg := tc.setup(t)
			src := newSource(t, cfg)
			for _, call := range []string{"Discover", "Pools", "Check"} {
				var err error
				switch call {
				case "Discover":
					var res sources.Result
					res, err = src.Discover(context.Background(), nil)
					if len(res.Observations) != 0 || len(res.Warnings) != 0 {
						t.Errorf("a failed discovery returned data: %+v", res)
					}
				case "Pools":
					var pools []Pool
					pools, err = src.Pools(context.Background())
					if err != nil && pools != nil {
						t.Errorf("a failed Pools returned data: %+v", pools)
					}
				case "Check":
					err = src.Check(context.Background())
				}
				if call != "Discover" {
					if err != nil && strings.Contains(err.Error(), cfg.APIKey.Reveal()) {
						t.Errorf("%s error shows the key: %v", call, err)
					}
					continue // faults on later methods need not hit Pools or Check
				}
				if err == nil {
					t.Fatalf("%s: want an error", call)
				}
				msg := err.Error()
				host := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
				for _, w := range append([]string{`truenas source "nas-lab"`, host}, tc.want...) {
					if !strings.Contains(msg, w) {
						t.Errorf("%s error %q lacks %q", call, msg, w)
					}
				}
				if strings.Contains(msg, cfg.APIKey.Reveal()) {
					t.Errorf("%s error shows the key: %s", call, msg)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	key := secret.New("1-abcdefabcdef")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want []string // prefixes of the messages, in order
	}{
		{"ok https", Config{Name: "n", URL: "https://nas.lan", APIKey: key}, nil},
		{"ok wss path", Config{Name: "n", URL: "wss://nas.lan/api/current", APIKey: key, API: APIWebsocket}, nil},
		{"ok http allowed", Config{Name: "n", URL: "http://nas.lan", APIKey: key, AllowInsecureTransport: true}, nil},
		{"empty", Config{}, []string{"name:", "url:", "api_key:"}},
		{"plain http", Config{Name: "n", URL: "http://nas.lan", APIKey: key}, []string{`url: "http://nas.lan" is not encrypted`}},
		{"plain ws", Config{Name: "n", URL: "ws://nas.lan", APIKey: key}, []string{`url: "ws://nas.lan" is not encrypted`}},
		{"ftp", Config{Name: "n", URL: "ftp://nas.lan", APIKey: key}, []string{`url: "ftp://nas.lan" is not an https://`}},
		{"credentials in url", Config{Name: "n", URL: "https://root:pw@nas.lan", APIKey: key}, []string{`url: "https://root:xxxxx@nas.lan" must not carry credentials`}},
		{"bad api", Config{Name: "n", URL: "https://nas.lan", APIKey: key, API: "soap"}, []string{`api: "soap" is not one of`}},
		{"rest on wss", Config{Name: "n", URL: "wss://nas.lan", APIKey: key, API: APIREST}, []string{`api: "rest" does not go with`}},
		{"negative timeout", Config{Name: "n", URL: "https://nas.lan", APIKey: key, Timeout: -time.Second}, []string{"timeout: -1s is negative"}},
		{"missing ca file", Config{Name: "n", URL: "https://nas.lan", APIKey: key, Settings: tlsconfig.Settings{CAFile: "/nonexistent/ca.pem"}},
			[]string{`ca_file: "/nonexistent/ca.pem": no such file or directory`}},
		{"ca file without certificates", Config{Name: "n", URL: "https://nas.lan", APIKey: key, Settings: tlsconfig.Settings{CAFile: notPEM}},
			[]string{`ca_file: "` + notPEM + `": no PEM certificates found`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.cfg.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("got %v, want %d errors", errs, len(tc.want))
			}
			for i, e := range errs {
				if !strings.HasPrefix(e.Error(), tc.want[i]) {
					t.Errorf("error %d: %q does not start with %q", i, e, tc.want[i])
				}
				if strings.Contains(e.Error(), key.Reveal()) {
					t.Errorf("error shows the key: %v", e)
				}
			}
		})
	}
	var c Config
	c.SetDefaults()
	if c.Name != "truenas" || c.API != APIAuto || c.Timeout != DefaultTimeout {
		t.Errorf("defaults: %+v", c)
	}
}

func TestPlatformOf(t *testing.T) {
	for in, want := range map[string]string{
		"TrueNAS-SCALE-24.10.2.1": "TrueNAS SCALE 24.10",
		"TrueNAS-13.0-U6.2":       "TrueNAS CORE 13.0",
		"TrueNAS-25.10.0":         "TrueNAS 25.10",
		"FreeNAS-11.3-U5":         "FreeNAS 11.3",
		"something else":          "something else",
	} {
		if got := platformOf(in); got != want {
			t.Errorf("platformOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProgressReported(t *testing.T) {
	srv := truenastest.NewTestServer(t)
	var last, total int
	_, err := newSource(t, testConfig(t, srv, APIREST)).Discover(context.Background(), func(done, tot int, _ string) { last, total = done, tot })
	if err != nil || last != total || total == 0 {
		t.Errorf("progress %d/%d, err %v", last, total, err)
	}
}

func BenchmarkDiscover(b *testing.B) {
	for _, api := range []string{APIREST, APIWebsocket} {
		b.Run(api, func(b *testing.B) {
			srv := truenastest.NewTLSServer(truenastest.WithLatency(time.Millisecond))
			defer srv.Close()
			src := newSource(b, testConfig(b, srv, api))
			b.ResetTimer()
			for b.Loop() {
				if _, err := src.Discover(context.Background(), nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(srv.Requests())/float64(b.N), "requests/op")
		})
	}
}

// TestLargeDatasetList: hundreds of datasets make answers far larger than coder/websocket's
// default 32 KiB read limit; both APIs must read them whole.
func TestLargeDatasetList(t *testing.T) {
	srv := truenastest.NewTestServer(t)
	const n = 300
	srv.Update(func(st *truenastest.State) {
		for i := range n {
			parent := "tank/media"
			if i%2 == 1 {
				parent = fmt.Sprintf("tank/media/d%03d", i-1) // nested two levels deep
			}
			st.Datasets = append(st.Datasets, truenastest.Dataset{Name: fmt.Sprintf("%s/d%03d", parent, i), Type: "FILESYSTEM", Used: uint64(i)})
		}
	})
	for _, api := range []string{APIREST, APIWebsocket} {
		pools, err := newSource(t, testConfig(t, srv, api)).Pools(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		names := map[string]bool{}
		for _, d := range pools[1].Datasets {
			if names[d.Name] {
				t.Fatalf("%s: %s listed twice", api, d.Name)
			}
			names[d.Name] = true
		}
		if len(names) != n+4 {
			t.Errorf("%s: %d datasets in tank, want %d", api, len(names), n+4)
		}
	}
}

// TestCAFileTLS: ca_file adds to the system's roots, and verification off is warned about once,
// naming the source.
func TestCAFileTLS(t *testing.T) {
	srv := truenastest.NewTestServer(t, truenastest.WithFlavour(truenastest.Scale2504))
	cfg := testConfig(t, srv, APIAuto)
	cfg.SetDefaults()
	client, err := newHTTPClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.SystemCertPool()
	if err != nil {
		want = x509.NewCertPool() // no system bundle: the ca_file alone
	}
	want.AppendCertsFromPEM(srv.CertPEM())
	if got := client.Transport.(*http.Transport).TLSClientConfig; !got.RootCAs.Equal(want) || got.MinVersion != tls.VersionTLS12 {
		t.Errorf("TLS config: want the system's roots plus the ca_file, TLS 1.2 at least")
	}

	cfg.CAFile, cfg.InsecureSkipVerify = "", true
	var logs bytes.Buffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Check(t.Context()); err != nil {
			t.Fatalf("Check with insecure_skip_verify: %v", err)
		}
	}
	if n := strings.Count(logs.String(), `truenas source \"nas-lab\": TLS certificate verification is OFF`); n != 1 {
		t.Errorf("want one warning naming the source, got %d:\n%s", n, logs.String())
	}
}

// A DFS proxy share (25.10+: purpose EXTERNAL_SHARE, path "EXTERNAL") is described by the
// servers it refers clients to, not by the placeholder path.
func TestSMBDFSProxyShare(t *testing.T) {
	for _, fl := range []truenastest.Flavour{truenastest.Scale2510, truenastest.TrueNAS26} {
		t.Run(string(fl), func(t *testing.T) {
			srv := truenastest.NewTestServer(t, truenastest.WithFlavour(fl))
			srv.Update(func(st *truenastest.State) {
				st.SMBShares = append(st.SMBShares, truenastest.SMBShare{ID: 9, Name: "archive", Comment: "old filer", Enabled: true,
					RemotePaths: []string{`192.168.0.200\ARCHIVE`, `filer2.lab.example\ARCHIVE`}})
			})
			var got string
			for _, s := range discover(t, testConfig(t, srv, APIAuto)).Observations[0].Services {
				if s.Name == "SMB archive" {
					got = s.Description
				}
			}
			if want := `DFS proxy to 192.168.0.200\ARCHIVE, filer2.lab.example\ARCHIVE — old filer`; got != want {
				t.Errorf("description %q, want %q", got, want)
			}
		})
	}
}

func TestSMBShareLocation(t *testing.T) {
	tests := []struct {
		name, path, options, want string
	}{
		{"local share", "/mnt/tank/media", `{"aapl_name_mangling": false}`, "/mnt/tank/media"},
		{"DFS proxy", "EXTERNAL", `{"remote_path": ["nas2\\SHARE"]}`, `DFS proxy to nas2\SHARE`},
		{"options null", "EXTERNAL", `null`, "DFS proxy"},
		{"options absent", "EXTERNAL", ``, "DFS proxy"},
		{"remote_path not a list", "EXTERNAL", `{"remote_path": "nas2\\SHARE"}`, "DFS proxy"},
		{"remote_path empty", "EXTERNAL", `{"remote_path": []}`, "DFS proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := smbShare{Path: tt.path, Options: json.RawMessage(tt.options)}
			if got := sh.location(); got != tt.want {
				t.Errorf("location() = %q, want %q", got, tt.want)
			}
		})
	}
}
