package homeassistant_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
)

// testToken is distinctive so a leak into an error or a log line is easy to spot.
const testToken = "tok-7f3c9a1e5b2d4c6f8a0e1b3d5f7a9c2e"

const (
	udmID       = "4f2b8a1c9d3e47f6a0b1c2d3e4f5a6b7"
	hueBridgeID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	homekitID   = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
	sofaLampID  = "b7c8d9e0f1a2b3c4d5e6f708192a3b4c"
	nasID       = "c0ffee00c0ffee00c0ffee00c0ffee00"
	backupID    = "bacb0bacb0bacb0bacb0bacb0bacb0ba"
)

func newSim(t *testing.T, opts ...homeassistanttest.Option) *homeassistanttest.Server {
	t.Helper()
	return homeassistanttest.NewTestServer(t, append([]homeassistanttest.Option{
		homeassistanttest.WithToken(testToken), homeassistanttest.WithDataset(homeassistanttest.SampleHome()),
	}, opts...)...)
}

func baseConfig(url string) homeassistant.Config {
	return homeassistant.Config{
		Name:    "ha-test",
		URL:     url,
		Token:   secret.New(testToken),
		Site:    "Home",
		Timeout: 5 * time.Second,
		// The sample home's Hue lamp has no MAC or IP; the tests written before the default
		// left such devices out keep it in. TestWithoutNetworkIdentity covers the default.
		IncludeWithoutNetwork: true,
	}
}

// newSource builds a source against srv; logs go to the returned buffer.
func newSource(t *testing.T, url string, change func(*homeassistant.Config)) (*homeassistant.Source, *bytes.Buffer) {
	t.Helper()
	cfg := baseConfig(url)
	if change != nil {
		change(&cfg)
	}
	var logs bytes.Buffer
	src, err := homeassistant.New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return src, &logs
}

func discover(t *testing.T, src *homeassistant.Source) sources.Result {
	t.Helper()
	res, err := src.Discover(t.Context(), nil)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return res
}

func byNativeID(res sources.Result) map[string]sources.Observation {
	m := map[string]sources.Observation{}
	for _, o := range res.Observations {
		m[o.NativeID] = o
	}
	return m
}

func nativeIDs(res sources.Result) []string {
	var ids []string
	for _, o := range res.Observations {
		ids = append(ids, o.NativeID)
	}
	return ids
}

func TestDiscoverSampleHome(t *testing.T) {
	srv := newSim(t)
	src, logs := newSource(t, srv.URL, nil)
	var progress []int
	res, err := src.Discover(t.Context(), func(done, total int, _ string) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{
		"ha-test/device/" + udmID,
		"ha-test/device/" + hueBridgeID, // merged with its HomeKit twin
		"ha-test/device/" + sofaLampID,
		"ha-test/tracker/device_tracker.broken",
		"ha-test/tracker/device_tracker.old_laptop",
		"ha-test/tracker/device_tracker.pixel_8",
		"ha-test/tracker/device_tracker.printer",
	}
	if got := nativeIDs(res); !slices.Equal(got, wantIDs) {
		t.Fatalf("native ids:\n got %q\nwant %q", got, wantIDs)
	}
	obs := byNativeID(res)
	tests := []struct {
		id                        string
		kind                      sources.Kind
		name, manufacturer, model string
		serial                    string
		macs                      []sources.MAC
		ips                       []string
		location, status          string
		attrKey, attrValue        string
	}{
		{"ha-test/device/" + udmID, sources.KindDevice, "UDM Pro", "Ubiquiti Networks", "UniFi Dream Machine Pro", "74ACB9123456",
			[]sources.MAC{"74:AC:B9:12:34:56"}, nil, "Network Closet", "", "homeassistant.sw_version", "4.0.21"},
		{"ha-test/device/" + hueBridgeID, sources.KindDevice, "Hue Bridge Living Room", "Signify Netherlands B.V.", "Hue Bridge", "001788FFFE6A1B2C",
			[]sources.MAC{"00:17:88:6A:1B:2C"}, nil, "Living Room", "", "homeassistant.device_ids", hueBridgeID + "," + homekitID},
		// The lamp's entity sits in the office; the device itself is in the living room.
		{"ha-test/device/" + sofaLampID, sources.KindDevice, "Sofa lamp", "Signify Netherlands B.V.", "Hue color lamp", "",
			nil, nil, "Living Room", "", "homeassistant.model_id", "LCT015"},
		{"ha-test/tracker/device_tracker.pixel_8", sources.KindHost, "Pixel-8", "", "", "",
			[]sources.MAC{"A6:3F:0E:11:22:33"}, []string{"192.168.1.23"}, "Living Room", "active", "homeassistant.integrations", "unifi"},
		{"ha-test/tracker/device_tracker.printer", sources.KindHost, "BRN001BA9445566", "", "", "",
			[]sources.MAC{"00:1B:A9:44:55:66"}, []string{"192.168.1.40"}, "Office", "active", "homeassistant.state", "home"},
		// Away: offline, and its stale IP is not reported.
		{"ha-test/tracker/device_tracker.old_laptop", sources.KindHost, "old-laptop", "", "", "",
			[]sources.MAC{"3C:22:FB:77:88:99"}, nil, "", "offline", "homeassistant.state", "not_home"},
		// A bad MAC costs the MAC (and a warning), not the tracker.
		{"ha-test/tracker/device_tracker.broken", sources.KindHost, "broken", "", "", "",
			nil, []string{"192.168.1.250"}, "", "active", "homeassistant.entity_id", "device_tracker.broken"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			o := obs[tt.id]
			var ips []string
			for _, ip := range o.Keys.IPs {
				ips = append(ips, ip.String())
			}
			switch {
			case o.Kind != tt.kind, o.Name != tt.name, o.Facts.Manufacturer != tt.manufacturer, o.Facts.Model != tt.model:
				t.Errorf("kind/name/manufacturer/model = %q %q %q %q", o.Kind, o.Name, o.Facts.Manufacturer, o.Facts.Model)
			case o.Keys.Serial != tt.serial:
				t.Errorf("serial = %q, want %q", o.Keys.Serial, tt.serial)
			case !slices.Equal(o.Keys.MACs, tt.macs):
				t.Errorf("macs = %q, want %q", o.Keys.MACs, tt.macs)
			case !slices.Equal(ips, tt.ips):
				t.Errorf("ips = %q, want %q", ips, tt.ips)
			case o.Facts.Location != tt.location, o.Facts.Status != tt.status:
				t.Errorf("location/status = %q %q, want %q %q", o.Facts.Location, o.Facts.Status, tt.location, tt.status)
			case o.Facts.Attributes[tt.attrKey] != tt.attrValue:
				t.Errorf("attribute %s = %q, want %q", tt.attrKey, o.Facts.Attributes[tt.attrKey], tt.attrValue)
			case o.Facts.Site != "Home", o.Source != "ha-test", o.Adapter != "homeassistant", o.SeenAt.IsZero():
				t.Errorf("site/source/adapter/seen = %q %q %q %v", o.Facts.Site, o.Source, o.Adapter, o.SeenAt)
			}
		})
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Item != "device_tracker.broken" || !strings.Contains(res.Warnings[0].Message, `"zz:zz:zz:zz:zz:zz"`) {
		t.Errorf("warnings = %+v, want one about device_tracker.broken's MAC", res.Warnings)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 6 || !slices.IsSorted(progress) {
		t.Errorf("progress = %v, want increasing to 6", progress)
	}
	if strings.Contains(logs.String(), testToken) {
		t.Errorf("the token leaked into the logs")
	}
	// One websocket, three registry commands, config and states: nothing fetched twice.
	if n := srv.TotalRequests(); n != 6 {
		t.Errorf("requests = %d, want 6", n)
	}
}

// mac returns a device with one MAC connection, spelt as given.
func macDevice(id, mac string, extra func(*homeassistanttest.Device)) homeassistanttest.Device {
	d := homeassistanttest.Device{
		ID: id, Connections: [][2]string{{"mac", mac}}, Identifiers: [][2]string{{"test", id}},
		Manufacturer: "Acme", Model: "Box", Name: "box " + id,
	}
	if extra != nil {
		extra(&d)
	}
	return d
}

func TestSplitDevicesAndMACSpellings(t *testing.T) {
	tests := []struct {
		name     string
		devices  []homeassistanttest.Device
		wantIDs  []string
		wantMACs [][]sources.MAC
		wantName string
	}{
		{
			name:     "one MAC on two split devices",
			devices:  []homeassistanttest.Device{macDevice("bbb", "aa:bb:cc:00:11:22", nil), macDevice("aaa", "aa:bb:cc:00:11:22", nil)},
			wantIDs:  []string{"ha-test/device/aaa"},
			wantMACs: [][]sources.MAC{{"AA:BB:CC:00:11:22"}},
			wantName: "box aaa",
		},
		{
			name: "spellings: lower, upper, dashes, dots, bare",
			devices: []homeassistanttest.Device{
				macDevice("d1", "aa:bb:cc:00:11:22", nil),
				macDevice("d2", "AA:BB:CC:00:11:22", nil),
				macDevice("d3", "aa-bb-cc-00-11-22", nil),
				macDevice("d4", "aabb.cc00.1122", nil),
				macDevice("d5", "AABBCC001122", nil),
			},
			wantIDs:  []string{"ha-test/device/d1"},
			wantMACs: [][]sources.MAC{{"AA:BB:CC:00:11:22"}},
			wantName: "box d1",
		},
		{
			name: "a chain: d1~d2 by one MAC, d2~d3 by another",
			devices: []homeassistanttest.Device{
				macDevice("d3", "aa:bb:cc:00:00:02", nil),
				macDevice("d1", "aa:bb:cc:00:00:01", nil),
				macDevice("d2", "aa:bb:cc:00:00:01", func(d *homeassistanttest.Device) {
					d.Connections = append(d.Connections, [2]string{"mac", "AA-BB-CC-00-00-02"})
					d.NameByUser = "the box"
				}),
			},
			wantIDs:  []string{"ha-test/device/d1"},
			wantMACs: [][]sources.MAC{{"AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02"}},
			wantName: "the box",
		},
		{
			name:     "different MACs stay apart",
			devices:  []homeassistanttest.Device{macDevice("d1", "aa:bb:cc:00:00:01", nil), macDevice("d2", "aa:bb:cc:00:00:02", nil)},
			wantIDs:  []string{"ha-test/device/d1", "ha-test/device/d2"},
			wantMACs: [][]sources.MAC{{"AA:BB:CC:00:00:01"}, {"AA:BB:CC:00:00:02"}},
			wantName: "box d1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Both registry orders must give the same answer.
			for _, reverse := range []bool{false, true} {
				devices := slices.Clone(tt.devices)
				if reverse {
					slices.Reverse(devices)
				}
				srv := newSim(t, homeassistanttest.WithDataset(homeassistanttest.Dataset{Devices: devices}))
				src, _ := newSource(t, srv.URL, nil)
				res := discover(t, src)
				if got := nativeIDs(res); !slices.Equal(got, tt.wantIDs) {
					t.Fatalf("reverse=%v: ids %q, want %q", reverse, got, tt.wantIDs)
				}
				for i, o := range res.Observations {
					if !slices.Equal(o.Keys.MACs, tt.wantMACs[i]) {
						t.Errorf("reverse=%v: %s macs %q, want %q", reverse, o.NativeID, o.Keys.MACs, tt.wantMACs[i])
					}
				}
				if res.Observations[0].Name != tt.wantName {
					t.Errorf("reverse=%v: name %q, want %q", reverse, res.Observations[0].Name, tt.wantName)
				}
			}
		})
	}
}

func TestSplitDevicesDisagreeingOnSerial(t *testing.T) {
	srv := newSim(t, homeassistanttest.WithDataset(homeassistanttest.Dataset{Devices: []homeassistanttest.Device{
		macDevice("d1", "aa:bb:cc:00:00:01", func(d *homeassistanttest.Device) { d.SerialNumber = "SN-ONE" }),
		macDevice("d2", "aa:bb:cc:00:00:01", func(d *homeassistanttest.Device) { d.SerialNumber = "SN-TWO" }),
	}}))
	src, _ := newSource(t, srv.URL, nil)
	res := discover(t, src)
	if len(res.Observations) != 1 || res.Observations[0].Keys.Serial != "SN-ONE" {
		t.Fatalf("observations %+v", res.Observations)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, "SN-TWO") {
		t.Fatalf("warnings %+v, want one naming both serials", res.Warnings)
	}
}

func TestFilters(t *testing.T) {
	const (
		udm, hue, lamp = "device/" + udmID, "device/" + hueBridgeID, "device/" + sofaLampID
		nas, backup    = "device/" + nasID, "device/" + backupID
		pixel, printer = "tracker/device_tracker.pixel_8", "tracker/device_tracker.printer"
		laptop, broken = "tracker/device_tracker.old_laptop", "tracker/device_tracker.broken"
	)
	tests := []struct {
		name   string
		change func(*homeassistant.Config)
		want   []string
	}{
		{"defaults", nil, []string{udm, hue, lamp, broken, laptop, pixel, printer}},
		{"include integration hue", func(c *homeassistant.Config) { c.Include.Integrations = []string{"HUE"} },
			[]string{hue, lamp}},
		// The split bridge carries both integrations: homekit_controller alone keeps it.
		{"include integration homekit_controller", func(c *homeassistant.Config) { c.Include.Integrations = []string{"homekit_controller"} },
			[]string{hue}},
		{"exclude integration unifi", func(c *homeassistant.Config) { c.Exclude.Integrations = []string{"unifi"} },
			[]string{hue, lamp}},
		{"include manufacturer", func(c *homeassistant.Config) { c.Include.Manufacturers = []string{"ubiquiti networks"} },
			[]string{udm}},
		{"exclude manufacturer of one split member", func(c *homeassistant.Config) { c.Exclude.Manufacturers = []string{"Philips"} },
			[]string{udm, lamp, broken, laptop, pixel, printer}},
		{"include area by name", func(c *homeassistant.Config) { c.Include.Areas = []string{"living room"} },
			[]string{hue, lamp, pixel}},
		{"include area by id", func(c *homeassistant.Config) { c.Include.Areas = []string{"office"} },
			[]string{printer}},
		{"exclude area", func(c *homeassistant.Config) { c.Exclude.Areas = []string{"Network Closet", "office"} },
			[]string{hue, lamp, broken, laptop, pixel}},
		{"include integration and area", func(c *homeassistant.Config) {
			c.Include.Integrations = []string{"unifi"}
			c.Include.Areas = []string{"office"}
		}, []string{printer}},
		{"services included", func(c *homeassistant.Config) { c.IncludeServices = true },
			// Backup has a manufacturer; Sun has no hardware fact and stays out.
			[]string{backup, udm, hue, lamp, broken, laptop, pixel, printer}},
		{"disabled included", func(c *homeassistant.Config) { c.IncludeDisabled = true },
			[]string{udm, hue, lamp, nas, broken, laptop, pixel, printer}},
		{"trackers home only", func(c *homeassistant.Config) { c.Trackers = homeassistant.TrackersHome },
			[]string{udm, hue, lamp, broken, pixel, printer}},
		{"no trackers", func(c *homeassistant.Config) { c.Trackers = homeassistant.TrackersNone },
			[]string{udm, hue, lamp}},
	}
	srv := newSim(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, _ := newSource(t, srv.URL, tt.change)
			res := discover(t, src)
			want := make([]string, 0, len(tt.want))
			for _, w := range tt.want {
				want = append(want, "ha-test/"+w)
			}
			slices.Sort(want)
			if got := nativeIDs(res); !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestDisabledDeviceIsOffline(t *testing.T) {
	srv := newSim(t)
	src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.IncludeDisabled = true })
	o := byNativeID(discover(t, src))["ha-test/device/"+nasID]
	if o.Facts.Status != "offline" || o.Keys.Serial != "2150PDN123456" || o.Facts.Location != "Office" {
		t.Fatalf("disabled NAS: %+v", o)
	}
}

func TestNoTrackersSkipsStates(t *testing.T) {
	srv := newSim(t)
	src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.Trackers = homeassistant.TrackersNone })
	discover(t, src)
	if n := srv.Requests("/api/states"); n != 0 {
		t.Fatalf("/api/states read %d times with trackers: none", n)
	}
}

func TestOneBadEntryLosesNothingElse(t *testing.T) {
	srv := newSim(t)
	// A device whose area is unknown and whose MAC connection is junk.
	srv.AddDevice(macDevice("zzz", "ff:ff:ff:ff:ff:ff", func(d *homeassistanttest.Device) {
		d.AreaID = "attic"
		d.SerialNumber = "ZZZ-1"
	}))
	src, _ := newSource(t, srv.URL, nil)
	res := discover(t, src)
	o, ok := byNativeID(res)["ha-test/device/zzz"]
	if !ok || o.Keys.Serial != "ZZZ-1" || len(o.Keys.MACs) != 0 || o.Facts.Location != "" {
		t.Fatalf("device zzz: %+v (present %v)", o, ok)
	}
	if len(res.Observations) != 8 {
		t.Errorf("%d observations, want the 7 of the sample home plus zzz", len(res.Observations))
	}
	var msgs []string
	for _, w := range res.Warnings {
		msgs = append(msgs, w.Item+": "+w.Message)
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{`"ff:ff:ff:ff:ff:ff"`, `area_id "attic"`} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %s:\n%s", want, joined)
		}
	}
}

func TestLargeRegistry(t *testing.T) {
	const devices = 7500
	srv := newSim(t, homeassistanttest.WithDataset(homeassistanttest.Generate(devices, 40)))
	// Generous: under -race on a busy machine the simulator alone needs seconds to encode 5 MiB.
	src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.Timeout = 2 * time.Minute })
	res := discover(t, src)
	if n := srv.BytesSent("config/device_registry/list"); n <= 5<<20 {
		t.Fatalf("device registry message was %d bytes: the test needs more than 5 MiB", n)
	}
	var nDevices, nHosts int
	for _, o := range res.Observations {
		switch o.Kind {
		case sources.KindDevice:
			nDevices++
		case sources.KindHost:
			nHosts++
		}
	}
	if nDevices != devices || nHosts != devices || len(res.Warnings) != 0 {
		t.Fatalf("%d devices, %d hosts, %d warnings; want %d, %d, 0", nDevices, nHosts, len(res.Warnings), devices, devices)
	}
}

func TestMessageLargerThanLimit(t *testing.T) {
	srv := newSim(t, homeassistanttest.WithDataset(homeassistanttest.Generate(2000, 4)))
	src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.MaxMessageBytes = 1 << 20 })
	res, err := src.Discover(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "max_message_bytes") {
		t.Fatalf("err = %v, want a hint at max_message_bytes", err)
	}
	if len(res.Observations) != 0 {
		t.Fatalf("%d observations after a failure", len(res.Observations))
	}
}

func TestAuthInvalid(t *testing.T) {
	srv := newSim(t)
	src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.Token = secret.New("tok-wrong-0000000000000000") })
	res, err := src.Discover(t.Context(), nil)
	if err == nil {
		t.Fatal("Discover with a wrong token succeeded")
	}
	msg := err.Error()
	for _, want := range []string{`homeassistant "ha-test"`, srv.URL[len("http://"):] + "/api/websocket", "auth_invalid", "Invalid access token or password", "check token"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if !errors.Is(err, homeassistant.ErrAuth) {
		t.Errorf("error does not wrap ErrAuth: %v", err)
	}
	if strings.Contains(msg, "tok-wrong") {
		t.Errorf("error leaks the token: %s", msg)
	}
	if len(res.Observations)+len(res.Warnings) != 0 {
		t.Errorf("result not empty: %+v", res)
	}
	if n := srv.Requests("config/device_registry/list"); n != 0 {
		t.Errorf("registry asked %d times after auth_invalid", n)
	}
}

// TestBadInput: every failure is one clear error naming the source and the URL, never the
// token, with an empty result.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		fault   homeassistanttest.Fault
		change  func(*homeassistant.Config)
		state   string
		wantURL string
		want    []string
		auth    bool
	}{
		{name: "malformed states", target: "/api/states", fault: homeassistanttest.Fault{Body: `[{"entity_id": "device_tracker.x", "state": }]`},
			wantURL: "/api/states", want: []string{"GET", "malformed JSON at byte"}},
		{name: "truncated states", target: "/api/states", fault: homeassistanttest.Fault{Truncate: true},
			wantURL: "/api/states", want: []string{"malformed JSON"}},
		{name: "states null", target: "/api/states", fault: homeassistanttest.Fault{Body: `null`},
			wantURL: "/api/states", want: []string{"expected a list"}},
		{name: "states not a list", target: "/api/states", fault: homeassistanttest.Fault{Body: `{"message":"oops"}`},
			wantURL: "/api/states", want: []string{"unexpected JSON"}},
		{name: "truncated device registry", target: "config/device_registry/list", fault: homeassistanttest.Fault{Truncate: true},
			wantURL: "/api/websocket", want: []string{"config/device_registry/list", "malformed JSON"}},
		{name: "malformed entity registry", target: "config/entity_registry/list", fault: homeassistanttest.Fault{Body: `{"id":3,"type":"result","success":true,"result":[{]}`},
			wantURL: "/api/websocket", want: []string{"config/entity_registry/list", "malformed JSON"}},
		{name: "registry result null", target: "config/area_registry/list", fault: homeassistanttest.Fault{Body: `{"id":1,"type":"result","success":true,"result":null}`},
			wantURL: "/api/websocket", want: []string{"config/area_registry/list", "expected a list"}},
		{name: "websocket closed mid-stream", target: "config/device_registry/list", fault: homeassistanttest.Fault{CloseMidStream: true},
			wantURL: "/api/websocket", want: []string{"config/device_registry/list"}},
		{name: "non-admin token", target: "config/device_registry/list", fault: homeassistanttest.Fault{ErrorCode: "unauthorized", ErrorMessage: "Unauthorized"},
			wantURL: "/api/websocket", want: []string{"unauthorized", "administrator"}, auth: true},
		{name: "401 from REST", target: "/api/states", fault: homeassistanttest.Fault{Status: 401},
			wantURL: "/api/states", want: []string{"HTTP 401", `"401: Unauthorized"`, "check token"}, auth: true},
		{name: "403 from REST", target: "/api/config", fault: homeassistanttest.Fault{Status: 403},
			wantURL: "/api/config", want: []string{"HTTP 403", "ip_ban"}, auth: true},
		{name: "500 from REST", target: "/api/states", fault: homeassistanttest.Fault{Status: 500},
			wantURL: "/api/states", want: []string{"HTTP 500", "500: Internal Server Error"}},
		{name: "proxy refusing websockets", target: homeassistanttest.TargetWebsocket, fault: homeassistanttest.Fault{Status: 502},
			wantURL: "/api/websocket", want: []string{"HTTP 502", "upgrade request"}},
		{name: "REST timeout", target: "/api/states", fault: homeassistanttest.Fault{Delay: 10 * time.Second},
			change: func(c *homeassistant.Config) { c.Timeout = time.Second }, wantURL: "/api/states", want: []string{"timed out after 1s"}},
		{name: "websocket timeout", target: "config/entity_registry/list", fault: homeassistanttest.Fault{Delay: 10 * time.Second},
			change: func(c *homeassistant.Config) { c.Timeout = time.Second }, wantURL: "/api/websocket", want: []string{"timed out after 1s"}},
		{name: "core starting", state: "STARTING", wantURL: "/api/config", want: []string{"STARTING", "not RUNNING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSim(t)
			if tt.target != "" {
				srv.SetFault(tt.target, tt.fault)
			}
			if tt.state != "" {
				srv.SetCoreState(tt.state)
			}
			src, logs := newSource(t, srv.URL, tt.change)
			res, err := src.Discover(t.Context(), nil)
			assertFailure(t, err, res, logs, tt.wantURL, tt.want...)
			if tt.auth != errors.Is(err, homeassistant.ErrAuth) {
				t.Errorf("errors.Is(err, ErrAuth) = %v, want %v", !tt.auth, tt.auth)
			}
		})
	}
}

func assertFailure(t *testing.T, err error, res sources.Result, logs *bytes.Buffer, wantURL string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Discover succeeded with %d observations", len(res.Observations))
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	want = append([]string{`homeassistant "ha-test"`, wantURL}, want...)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, testToken) || strings.Contains(logs.String(), testToken) {
		t.Errorf("token leaked: %s", msg)
	}
	if len(res.Observations) != 0 || len(res.Warnings) != 0 {
		t.Errorf("a failed discovery returned %d observations and %d warnings", len(res.Observations), len(res.Warnings))
	}
}

func TestTLS(t *testing.T) {
	srv := homeassistanttest.NewTLSTestServer(t, homeassistanttest.WithToken(testToken), homeassistanttest.WithDataset(homeassistanttest.SampleHome()))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("untrusted certificate", func(t *testing.T) {
		src, logs := newSource(t, srv.URL, nil)
		res, err := src.Discover(t.Context(), nil)
		assertFailure(t, err, res, logs, srv.URL[len("https://"):], "certificate", "ca_file")
		if err := src.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("Check: %v", err)
		}
	})
	t.Run("https to a plain server", func(t *testing.T) {
		plain := newSim(t)
		src, logs := newSource(t, "https://"+plain.URL[len("http://"):], nil)
		res, err := src.Discover(t.Context(), nil)
		assertFailure(t, err, res, logs, "wss://", "TLS handshake failed")
	})
	for _, tt := range []struct {
		name   string
		change func(*homeassistant.Config)
	}{
		{"ca_file", func(c *homeassistant.Config) { c.CAFile = caFile }},
		{"insecure_skip_verify", func(c *homeassistant.Config) { c.InsecureSkipVerify = true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, logs := newSource(t, srv.URL, tt.change)
			if err := src.Check(t.Context()); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if res := discover(t, src); len(res.Observations) != 7 {
				t.Fatalf("%d observations, want 7", len(res.Observations))
			}
			// Verification off is warned about once, naming the source; never otherwise.
			want := 0
			if tt.name == "insecure_skip_verify" {
				want = 1
			}
			if n := strings.Count(logs.String(), `homeassistant \"ha-test\": TLS certificate verification is OFF`); n != want {
				t.Errorf("%d warnings about verification, want %d:\n%s", n, want, logs.String())
			}
		})
	}
	// ca_file adds to the system's roots. It used to replace them, so a publicly signed
	// certificate failed once ca_file was set.
	t.Run("ca_file adds to the system roots", func(t *testing.T) {
		src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.CAFile = caFile })
		want, err := x509.SystemCertPool()
		if err != nil {
			want = x509.NewCertPool() // no system bundle: the ca_file alone
		}
		want.AppendCertsFromPEM(srv.CACertPEM())
		if got := homeassistant.TLSConfigOf(src); !got.RootCAs.Equal(want) || got.MinVersion != tls.VersionTLS12 {
			t.Error("TLS config: want the system's roots plus the ca_file, TLS 1.2 at least")
		}
	})
}

func TestCheck(t *testing.T) {
	srv := newSim(t)
	src, _ := newSource(t, srv.URL, nil)
	if err := src.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	bad, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.Token = secret.New("tok-wrong-0000000000000000") })
	err := bad.Check(t.Context())
	if err == nil || !errors.Is(err, homeassistant.ErrAuth) || !strings.Contains(err.Error(), "/api/") {
		t.Fatalf("Check with a wrong token: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	srv := newSim(t, homeassistanttest.WithLatency(2*time.Second))
	src, _ := newSource(t, srv.URL, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	res, err := src.Discover(ctx, nil)
	if err == nil || len(res.Observations) != 0 {
		t.Fatalf("Discover on a cancelled context: %v, %d observations", err, len(res.Observations))
	}
}

func TestDeterministic(t *testing.T) {
	srv := newSim(t)
	src, _ := newSource(t, srv.URL, nil)
	first := discover(t, src)
	d := homeassistanttest.SampleHome()
	slices.Reverse(d.Devices)
	slices.Reverse(d.Entities)
	slices.Reverse(d.States)
	slices.Reverse(d.Areas)
	srv.Load(d)
	second := discover(t, src)
	for i := range second.Observations {
		second.Observations[i].SeenAt = first.Observations[i].SeenAt
	}
	if !slices.EqualFunc(first.Observations, second.Observations, obsEqual) {
		t.Fatalf("registry order changed the result:\n%+v\n%+v", first.Observations, second.Observations)
	}
}

func obsEqual(a, b sources.Observation) bool {
	return a.NativeID == b.NativeID && a.Name == b.Name && a.Keys.Serial == b.Keys.Serial &&
		slices.Equal(a.Keys.MACs, b.Keys.MACs) && slices.Equal(a.Keys.IPs, b.Keys.IPs) &&
		a.Facts.Manufacturer == b.Facts.Manufacturer && a.Facts.Model == b.Facts.Model &&
		a.Facts.Location == b.Facts.Location && a.Facts.Status == b.Facts.Status &&
		len(a.Facts.Attributes) == len(b.Facts.Attributes) && func() bool {
		for k, v := range a.Facts.Attributes {
			if b.Facts.Attributes[k] != v {
				return false
			}
		}
		return true
	}()
}

// TestBehindReverseProxyWithPathPrefix: Home Assistant served under /ha/ by a proxy; REST and
// websocket URLs keep the prefix.
func TestBehindReverseProxyWithPathPrefix(t *testing.T) {
	srv := newSim(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.StripPrefix("/ha", proxy))
	t.Cleanup(front.Close)
	src, logs := newSource(t, front.URL+"/ha/", nil)
	if res := discover(t, src); len(res.Observations) != 7 {
		t.Fatalf("%d observations through the proxy, want 7", len(res.Observations))
	}
	if srv.Requests("/api/websocket") != 1 || srv.Requests("/api/states") != 1 {
		t.Fatalf("websocket %d, states %d requests reached Home Assistant", srv.Requests("/api/websocket"), srv.Requests("/api/states"))
	}
	// The summary line says why things were left out.
	for _, want := range []string{"skipped_services=2", "skipped_disabled=1", "observations=7"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// A UniFi switch tracked by its own controller is one device with the tracker's address, not
// a device and a host from one source (which the merge would have to report as a conflict).
// A tracker of a device with a different MAC stays a host of its own.
func TestTrackerOfAReportedDeviceFoldsIntoIt(t *testing.T) {
	tracker := func(entity, device, mac, ip string) (homeassistanttest.Entity, homeassistanttest.State) {
		return homeassistanttest.Entity{EntityID: entity, DeviceID: device, Platform: "unifi"},
			homeassistanttest.State{EntityID: entity, State: "home",
				Attributes: map[string]any{"source_type": "router", "mac": mac, "ip": ip, "host_name": strings.TrimPrefix(entity, "device_tracker.")}}
	}
	e1, s1 := tracker("device_tracker.usw_lite", "sw1", "aa-bb-cc-00-11-22", "192.0.2.2")
	e2, s2 := tracker("device_tracker.odd_port", "sw1", "aa:bb:cc:00:99:99", "192.0.2.3")
	data := homeassistanttest.Dataset{
		Devices:  []homeassistanttest.Device{macDevice("sw1", "AA:BB:CC:00:11:22", nil)},
		Entities: []homeassistanttest.Entity{e1, e2},
		States:   []homeassistanttest.State{s1, s2},
	}
	srv := newSim(t, homeassistanttest.WithDataset(data))
	src, _ := newSource(t, srv.URL, nil)
	res := discover(t, src)
	if got := nativeIDs(res); !slices.Equal(got, []string{"ha-test/device/sw1", "ha-test/tracker/device_tracker.odd_port"}) {
		t.Fatalf("observations %q", got)
	}
	dev := res.Observations[0]
	if len(dev.Keys.IPs) != 1 || dev.Keys.IPs[0].String() != "192.0.2.2" || !slices.Equal(dev.Keys.MACs, []sources.MAC{"AA:BB:CC:00:11:22"}) {
		t.Fatalf("device keys %+v: want the tracker's IP on the device", dev.Keys)
	}
	if dev.Facts.Attributes["homeassistant.tracker"] != "device_tracker.usw_lite" {
		t.Errorf("attributes %v", dev.Facts.Attributes)
	}
}

// TestWithoutNetworkIdentity: a device with neither MAC nor IP (the sample home's Hue lamp) is
// left out by default and counted; include_without_network brings it back with a role that
// says what it is. A refused MAC is counted too.
func TestWithoutNetworkIdentity(t *testing.T) {
	tests := []struct {
		name        string
		include     bool
		wantLamp    bool
		wantSkipped map[string]int
	}{
		// the lamp, and "badmac" (its only MAC refused, a serial is no network identity);
		// MACs refused: badmac's and the sample home's "broken" tracker's
		{name: "default", include: false, wantLamp: false,
			wantSkipped: map[string]int{sources.ReasonNoNetworkID: 2, sources.ReasonMalformedMAC: 2}},
		{name: "include_without_network", include: true, wantLamp: true,
			wantSkipped: map[string]int{sources.ReasonNoNetworkID: 0, sources.ReasonMalformedMAC: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSim(t)
			srv.AddDevice(macDevice("badmac", "b:c2:41:12:ec:54a", func(d *homeassistanttest.Device) { d.SerialNumber = "BAD-1" }))
			src, _ := newSource(t, srv.URL, func(c *homeassistant.Config) { c.IncludeWithoutNetwork = tt.include })
			res := discover(t, src)
			lamp, ok := byNativeID(res)["ha-test/device/"+sofaLampID]
			if ok != tt.wantLamp {
				t.Fatalf("sofa lamp present = %v, want %v", ok, tt.wantLamp)
			}
			if ok && lamp.Facts.Role != homeassistant.IoTRole {
				t.Errorf("sofa lamp role hint %q, want %q", lamp.Facts.Role, homeassistant.IoTRole)
			}
			if bad, ok := byNativeID(res)["ha-test/device/badmac"]; ok && len(bad.Keys.MACs) != 0 {
				t.Errorf("malformed MAC became the key %v", bad.Keys.MACs)
			}
			got := map[string]int{}
			for _, s := range res.Skipped {
				got[s.Reason] = s.Count
			}
			for reason, n := range tt.wantSkipped {
				if got[reason] != n {
					t.Errorf("skipped[%q] = %d, want %d (all: %v)", reason, got[reason], n, res.Skipped)
				}
			}
			found := false
			for _, w := range res.Warnings {
				if w.Reason == sources.ReasonMalformedMAC && strings.Contains(w.Message, "54a") {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning names the refused MAC: %+v", res.Warnings)
			}
		})
	}
}
