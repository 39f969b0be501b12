package netbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// The tests in this file run the client against netboxtest, the simulator that validates
// every request against NetBox's OpenAPI spec, in both version profiles. Those built on
// newTarget run against a real NetBox instead when NETBOX_TEST_URL is set (make test-netbox,
// internal/testnetbox): they read NetBox back through the API, never through the simulator.

var simProfiles = []netboxtest.Profile{netboxtest.Profile43, netboxtest.Profile47}

func apiPath(endpoint string) string { return "/api/" + endpoint + "/" }

// newSim starts a simulator and a client for it whose status is already known (as the agent
// checks it at start-up), so request counts below are the calls' own.
func newSim(t *testing.T, p netboxtest.Profile, mut func(*netbox.Config), simOpts ...netboxtest.Option) (*netboxtest.Server, *netbox.Client) {
	t.Helper()
	srv := netboxtest.NewTestServer(t, append([]netboxtest.Option{netboxtest.WithProfile(p)}, simOpts...)...)
	cfg := netbox.Config{URL: srv.URL, Token: secret.New(srv.Token()), Timeout: 3 * time.Second, RequestsPerSecond: -1}
	if mut != nil {
		mut(&cfg)
	}
	c, err := netbox.New(cfg, nil, netbox.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Version != p.NetBoxVersion() {
		t.Fatalf("Status version = %q, want %q", st.Version, p.NetBoxVersion())
	}
	srv.ResetLog()
	return srv, c
}

// newTarget is newSim for tests that run in both tiers: the simulator with profile p, or
// the real NetBox of the environment (one profile: testnetbox.Profiles).
func newTarget(t *testing.T, p netboxtest.Profile, mut func(*netbox.Config), opts ...testnetbox.Option) (*testnetbox.Target, *netbox.Client) {
	t.Helper()
	nb := testnetbox.New(t, append([]testnetbox.Option{testnetbox.WithProfile(p)}, opts...)...)
	cfg := netbox.Config{URL: nb.URL, Token: secret.New(nb.Token), Timeout: 3 * time.Second, RequestsPerSecond: -1}
	if nb.IsReal() {
		cfg.Timeout = time.Minute // 30 devices take NetBox about 2 s on an idle 2-core machine
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := netbox.New(cfg, nil, netbox.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Version != nb.Version() {
		t.Fatalf("Status version = %q, want %q", st.Version, nb.Version())
	}
	nb.ResetLog()
	return nb, c
}

// counts is the number of the agent's requests per "METHOD /path/".
func counts(nb *testnetbox.Target) map[string]int {
	out := map[string]int{}
	for _, r := range nb.Requests() {
		out[r.Method+" "+r.Path]++
	}
	return out
}

// base creates what devices need, through the client, and returns ids by key.
func base(t *testing.T, c *netbox.Client) map[string]int {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int{}
	steps := []struct {
		key, endpoint string
		obj           func() netbox.Object
	}{
		{"site", netbox.Sites, func() netbox.Object { return netbox.Object{"name": "Home", "slug": "home"} }},
		{"site2", netbox.Sites, func() netbox.Object { return netbox.Object{"name": "Lab", "slug": "lab"} }},
		{"manufacturer", netbox.Manufacturers, func() netbox.Object { return netbox.Object{"name": "Dell", "slug": "dell"} }},
		{"device_type", netbox.DeviceTypes, func() netbox.Object {
			return netbox.Object{"manufacturer": ids["manufacturer"], "model": "R730", "slug": "r730"}
		}},
		{"role", netbox.DeviceRoles, func() netbox.Object { return netbox.Object{"name": "Server", "slug": "server"} }},
	}
	for _, s := range steps {
		res := c.Create(ctx, s.endpoint, []netbox.Object{s.obj()})
		if res[0].Err != nil {
			t.Fatalf("create %s: %v", s.key, res[0].Err)
		}
		ids[s.key] = res[0].Object.ID()
	}
	return ids
}

func device(ids map[string]int, name string) netbox.Object {
	return netbox.Object{"name": name, "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"], "status": "active"}
}

func TestSimEveryCall(t *testing.T) {
	for _, p := range testnetbox.Profiles() {
		t.Run(testnetbox.ProfileName(p), func(t *testing.T) {
			ctx := context.Background()
			var obsMu sync.Mutex
			var observed []string
			srv := testnetbox.New(t, testnetbox.WithProfile(p))
			c, err := netbox.New(netbox.Config{URL: srv.URL + "/api/", Token: secret.New(srv.Token), Timeout: time.Minute}, nil,
				netbox.WithObserver(func(method, path string, status int, d time.Duration) {
					obsMu.Lock()
					observed = append(observed, fmt.Sprintf("%s %s %d", method, path, status))
					obsMu.Unlock()
				}))
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.Status(ctx)
			if err != nil || st.Version != srv.Version() || st.Major != 4 || !strings.HasPrefix(st.Version, fmt.Sprintf("4.%d.", st.Minor)) {
				t.Fatalf("Status = %+v, %v", st, err)
			}
			if len(observed) != 1 || observed[0] != "GET /api/status/ 200" {
				t.Errorf("observer saw %v", observed)
			}

			// Bootstrap, twice: the second run writes nothing.
			tags := []netbox.TagSpec{{Name: "netbox-agent", Slug: "netbox-agent", Color: "2196f3", Description: "managed by netbox-agent"}}
			fields := []netbox.CustomFieldSpec{
				{Name: "netbox_agent_id", Label: "Agent identity", Type: "text", ObjectTypes: []string{"dcim.device"}},
				{Name: "last_seen", Type: "datetime", ObjectTypes: []string{"dcim.device", "virtualization.virtualmachine"}},
			}
			tagIDs, err := c.EnsureTags(ctx, tags)
			if err != nil || tagIDs["netbox-agent"] == 0 {
				t.Fatalf("EnsureTags = %v, %v", tagIDs, err)
			}
			if err := c.EnsureCustomFields(ctx, fields); err != nil {
				t.Fatalf("EnsureCustomFields: %v", err)
			}
			srv.ResetLog()
			again, err := c.EnsureTags(ctx, tags)
			if err != nil || again["netbox-agent"] != tagIDs["netbox-agent"] {
				t.Fatalf("EnsureTags again = %v, %v", again, err)
			}
			if err := c.EnsureCustomFields(ctx, fields); err != nil {
				t.Fatal(err)
			}
			for k, n := range counts(srv) {
				if !strings.HasPrefix(k, "GET ") {
					t.Errorf("second bootstrap wrote: %s x%d", k, n)
				}
			}
			// A field lacking an object type gets it added.
			fields[0].ObjectTypes = append(fields[0].ObjectTypes, "virtualization.virtualmachine")
			if err := c.EnsureCustomFields(ctx, fields); err != nil {
				t.Fatal(err)
			}
			cfs, err := c.List(ctx, netbox.CustomFields, url.Values{"name": {"netbox_agent_id"}})
			if err != nil || len(cfs) != 1 || fmt.Sprint(cfs[0]["object_types"]) != "[dcim.device virtualization.virtualmachine]" {
				t.Fatalf("custom field after adding an object type: %v, %v", cfs, err)
			}

			ids := base(t, c)
			var devs []netbox.Object
			for i := range 30 {
				d := device(ids, fmt.Sprintf("host%02d", i))
				d["tags"] = []any{map[string]any{"slug": "netbox-agent"}}
				d["custom_fields"] = map[string]any{"netbox_agent_id": fmt.Sprintf("agent:%d", i)}
				devs = append(devs, d)
			}
			res := c.Create(ctx, netbox.Devices, devs)
			var devIDs []int
			for i, r := range res {
				if r.Err != nil || r.Index != i || r.Object.String("name") != devs[i].String("name") {
					t.Fatalf("create %d: %+v", i, r)
				}
				devIDs = append(devIDs, r.Object.ID())
			}

			// List with a filter and fields; brief.
			owned, err := c.List(ctx, netbox.Devices, url.Values{"tag": {"netbox-agent"}, "fields": {"id,name,custom_fields"}})
			if err != nil || len(owned) != 30 {
				t.Fatalf("List owned: %d, %v", len(owned), err)
			}
			if owned[0].CustomField("netbox_agent_id") != "agent:0" || owned[0]["serial"] != nil {
				t.Errorf("fields= not honoured: %v", owned[0])
			}
			brief, err := c.List(ctx, netbox.Sites, url.Values{"brief": {"true"}})
			if err != nil || len(brief) != 2 || brief[0]["slug"] == nil || brief[0]["status"] != nil {
				t.Errorf("brief sites: %v, %v", brief, err)
			}
			byCF, err := c.List(ctx, netbox.Devices, url.Values{"cf_netbox_agent_id": {"agent:7"}})
			if err != nil || len(byCF) != 1 || byCF[0].String("name") != "host07" || byCF[0].RefID("site") != ids["site"] || byCF[0].String("status") != "active" {
				t.Errorf("List by custom field: %v, %v", byCF, err)
			}

			got, err := c.GetByIDs(ctx, netbox.Devices, []int{devIDs[5], devIDs[1], 999999}, "name")
			if err != nil || len(got) != 2 || got[0].ID() != devIDs[5] || got[1].String("name") != "host01" {
				t.Fatalf("GetByIDs = %v, %v", got, err)
			}

			snap, err := c.Snapshot(ctx, []netbox.ReadSpec{
				{Key: "owned", Endpoint: netbox.Devices, Query: url.Values{"tag": {"netbox-agent"}}},
				{Key: "by_name", Endpoint: netbox.Devices, Query: url.Values{"name": {"host03", "host04"}}},
				{Key: "sites", Endpoint: netbox.Sites},
				{Key: "vms", Endpoint: netbox.VirtualMachines},
			})
			if err != nil || len(snap["owned"]) != 30 || len(snap["by_name"]) != 2 || len(snap["sites"]) != 2 || len(snap["vms"]) != 0 {
				t.Fatalf("Snapshot: %d %d %d, %v", len(snap["owned"]), len(snap["by_name"]), len(snap["sites"]), err)
			}

			// Update sends id + changed fields only.
			upd := []netbox.Object{{"id": devIDs[0], "serial": "SN0"}, {"id": devIDs[1], "site": ids["site2"]}}
			for i, r := range c.Update(ctx, netbox.Devices, upd) {
				if r.Err != nil {
					t.Fatalf("update %d: %v", i, r.Err)
				}
			}
			if d := srv.Find(netbox.Devices, "host00"); d["serial"] != "SN0" {
				t.Errorf("serial not updated: %v", d["serial"])
			}

			for i, r := range c.Delete(ctx, netbox.Devices, devIDs[:10]) {
				if r.Err != nil {
					t.Fatalf("delete %d: %v", i, r.Err)
				}
			}
			if n := len(srv.Objects(netbox.Devices)); n != 20 {
				t.Errorf("%d devices after deleting 10 of 30", n)
			}
			var statuses []string
			obsMu.Lock()
			defer obsMu.Unlock()
			for _, o := range observed {
				if !strings.HasSuffix(o, " 200") && !strings.HasSuffix(o, " 201") && !strings.HasSuffix(o, " 204") {
					statuses = append(statuses, o)
				}
			}
			if len(statuses) > 0 {
				t.Errorf("observer saw failures: %v", statuses)
			}
		})
	}
}

func TestSimReadFiveThousandDevices(t *testing.T) {
	for _, p := range simProfiles {
		t.Run(p.String(), func(t *testing.T) {
			// Rendering and spec-checking 1000 full devices per page is slow under -race.
			srv, c := newSim(t, p, func(cfg *netbox.Config) { cfg.Timeout = time.Minute })
			ids := base(t, c)
			objs := make([]map[string]any, 5000)
			for i := range objs {
				objs[i] = map[string]any{"name": fmt.Sprintf("dev%05d", i), "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]}
			}
			srv.MustSeed(apiPath(netbox.Devices), objs...)
			srv.ResetLog()
			devs, err := c.List(context.Background(), netbox.Devices, nil)
			if err != nil || len(devs) != 5000 {
				t.Fatalf("List: %d devices, %v", len(devs), err)
			}
			seen := map[int]bool{}
			for _, d := range devs {
				seen[d.ID()] = true
			}
			if len(seen) != 5000 {
				t.Errorf("%d distinct devices", len(seen))
			}
			if n := len(srv.Requests()); n > 5 {
				t.Errorf("read 5000 devices in %d requests, want at most 5", n)
			}
			if p == netboxtest.Profile47 && !strings.Contains(srv.Requests()[0].Query, "start=") {
				t.Errorf("4.7 read does not use the cursor: %q", srv.Requests()[0].Query)
			}
		})
	}
}

// A batch with one invalid object: NetBox's message names that object, the first request
// writes nothing (bulk writes are atomic), and the valid rest is written by one more request.
func TestSimBulkCreateOneInvalid(t *testing.T) {
	for _, p := range testnetbox.Profiles() {
		t.Run(testnetbox.ProfileName(p), func(t *testing.T) {
			countAtSecondPOST := -1
			var srv *testnetbox.Target
			srv, c := newTarget(t, p, nil, testnetbox.WithFaults(func(r *http.Request, n int) netboxtest.Fault {
				if r.Method == http.MethodPost && r.URL.Path == apiPath(netbox.Devices) && n == 2 {
					if devs, err := srv.List(netbox.Devices, nil); err == nil {
						countAtSecondPOST = len(devs)
					}
				}
				return netboxtest.Fault{}
			}))
			ids := base(t, c)
			objs := []netbox.Object{device(ids, "a"), device(ids, "b"), device(ids, "c"), device(ids, "d")}
			objs[2]["status"] = "bogus"
			res := c.Create(context.Background(), netbox.Devices, objs)
			var ae *netbox.APIError
			// DRF quotes the value ("bogus") up to 3.16, not in 3.18 (the real NetBox here)
			if !errors.As(res[2].Err, &ae) || ae.Index != 2 || ae.StatusCode != 400 || !strings.Contains(strings.ReplaceAll(ae.Error(), `"`, ""), `status: bogus is not a valid choice.`) {
				t.Fatalf("object 2: %v", res[2].Err)
			}
			t.Logf("invalid object reported as: %v", ae)
			if !strings.Contains(ae.Error(), `object 2 ("c")`) {
				t.Errorf("message does not name the object: %v", ae)
			}
			for _, i := range []int{0, 1, 3} {
				if res[i].Err != nil || res[i].Object.ID() == 0 {
					t.Errorf("object %d: %+v", i, res[i])
				}
			}
			if countAtSecondPOST != 0 {
				t.Errorf("the rejected first request wrote %d devices", countAtSecondPOST)
			}
			if n := len(srv.Objects(netbox.Devices)); n != 3 {
				t.Errorf("%d devices stored, want 3", n)
			}

			// With the remainder retry off, the valid objects report ErrBatchRejected and
			// nothing of the batch is written.
			srv.Close() // a real NetBox serves one target at a time
			srv2, c2 := newTarget(t, p, func(cfg *netbox.Config) { cfg.DisableRemainderRetry = true })
			ids2 := base(t, c2)
			objs = []netbox.Object{device(ids2, "a"), {"name": "x", "role": ids2["role"], "site": ids2["site"]}}
			res = c2.Create(context.Background(), netbox.Devices, objs)
			// The simulator names the failing object; real NetBox 4.3.7 answers this bulk
			// create with the bad object's errors as one dict, no index, so the client
			// cannot tell which object was valid: it says so for each.
			if !errors.Is(res[0].Err, netbox.ErrBatchRejected) && (res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "without saying which object")) {
				t.Errorf("valid object: %v, want ErrBatchRejected or the batch's error", res[0].Err)
			}
			if !errors.As(res[1].Err, &ae) || !strings.Contains(ae.Error(), "device_type: This field is required.") {
				t.Errorf("missing device_type: %v", res[1].Err)
			}
			if n := len(srv2.Objects(netbox.Devices)); n != 0 {
				t.Errorf("%d devices written from a rejected batch", n)
			}
		})
	}
}

func TestSimUpdateAndDeleteRejections(t *testing.T) {
	for _, p := range simProfiles {
		t.Run(p.String(), func(t *testing.T) {
			srv, c := newSim(t, p, func(cfg *netbox.Config) { cfg.BatchSize = 8 })
			ctx := context.Background()
			ids := base(t, c)
			var objs []netbox.Object
			for i := range 8 {
				objs = append(objs, device(ids, fmt.Sprintf("h%d", i)))
			}
			res := c.Create(ctx, netbox.Devices, objs)
			upd := make([]netbox.Object, 8)
			for i, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				upd[i] = netbox.Object{"id": r.Object.ID(), "serial": fmt.Sprintf("S%d", i)}
			}
			upd[5]["status"] = "bogus"
			upd = append(upd, netbox.Object{"id": 777777, "serial": "none"})
			res = c.Update(ctx, netbox.Devices, upd)
			for i, r := range res[:8] {
				if (i == 5) != (r.Err != nil) {
					t.Errorf("update %d: %v", i, r.Err)
				}
			}
			var ae *netbox.APIError
			if !errors.As(res[5].Err, &ae) || ae.Index != 5 || !strings.Contains(ae.Error(), "bogus") {
				t.Errorf("update 5: %v", res[5].Err)
			}
			if !errors.Is(res[8].Err, netbox.ErrNotFound) {
				t.Errorf("unknown id: %v", res[8].Err)
			}
			if d := srv.Object(apiPath(netbox.Devices), res[7].Object.ID()); d["serial"] != "S7" {
				t.Errorf("device 7 serial = %v", d["serial"])
			}

			// Deleting the sites: the one with devices is protected (409), the other goes.
			dres := c.Delete(ctx, netbox.Sites, []int{ids["site"], ids["site2"]})
			if dres[1].Err != nil || !errors.As(dres[0].Err, &ae) || ae.StatusCode != 409 || !strings.Contains(ae.Error(), "dependent objects") {
				t.Errorf("delete sites: %v / %v", dres[0].Err, dres[1].Err)
			}
			if n := srv.Count(apiPath(netbox.Sites)); n != 1 {
				t.Errorf("%d sites left, want 1", n)
			}
		})
	}
}

func TestSimBadToken(t *testing.T) {
	for _, p := range simProfiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := netboxtest.NewTestServer(t, netboxtest.WithProfile(p))
			wrong := "0123456789abcdef0123456789abcdef01234567"
			if p == netboxtest.Profile47 {
				wrong = "nbt_abcdef123456.secretvalue0123456789"
			}
			c, err := netbox.New(netbox.Config{URL: srv.URL, Token: secret.New(wrong)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Status(context.Background())
			if !errors.Is(err, netbox.ErrForbidden) || !strings.Contains(err.Error(), "refused the token") {
				t.Fatalf("err = %v, want a clear ErrForbidden", err)
			}
			t.Logf("bad token reported as: %v", err)
			if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), "secretvalue") || strings.Contains(err.Error(), srv.Token()) {
				t.Errorf("error leaks a token: %v", err)
			}
			if _, err := c.List(context.Background(), netbox.Devices, nil); !errors.Is(err, netbox.ErrForbidden) {
				t.Errorf("List with a bad token: %v", err)
			}
		})
	}
}

func TestSimTokenSchemesAndPermissions(t *testing.T) {
	v1 := "0123456789abcdef0123456789abcdef01234567"
	v2 := "nbt_abcdef123456.secretvalue0123456789"
	tests := []struct {
		name    string
		profile netboxtest.Profile
		token   netboxtest.Token
		wantErr string // from a Create of one tag; "" for success
	}{
		{"4.3 v1 token", netboxtest.Profile43, netboxtest.Token{Value: v1}, ""},
		{"4.7 v1 token (Token scheme)", netboxtest.Profile47, netboxtest.Token{Value: v1}, ""},
		{"4.7 v2 token (Bearer scheme)", netboxtest.Profile47, netboxtest.Token{Value: v2}, ""},
		{"4.7 expired token", netboxtest.Profile47, netboxtest.Token{Value: v2, Expired: true}, "refused the token"},
		{"4.3 read-only token writing", netboxtest.Profile43, netboxtest.Token{Value: v1, ReadOnly: true}, "lacks permission"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := netboxtest.NewTestServer(t, netboxtest.WithProfile(tt.profile), netboxtest.WithTokens(tt.token))
			c, err := netbox.New(netbox.Config{URL: srv.URL, Token: secret.New(tt.token.Value)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res := c.Create(context.Background(), netbox.Tags, []netbox.Object{{"name": "x", "slug": "x"}})
			err = res[0].Err
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				return
			}
			if !errors.Is(err, netbox.ErrForbidden) || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "secretvalue") || strings.Contains(err.Error(), v1) {
				t.Fatalf("err = %v, want ErrForbidden saying %q without the token", err, tt.wantErr)
			}
		})
	}
}

func TestSimNotFound(t *testing.T) {
	_, c := newSim(t, netboxtest.Profile43, nil)
	_, err := c.List(context.Background(), "dcim/no-such-things", nil)
	if !errors.Is(err, netbox.ErrNotFound) || !strings.Contains(err.Error(), "/api/dcim/no-such-things/: 404") {
		t.Fatalf("err = %v, want ErrNotFound naming the path", err)
	}
	if _, err := c.List(context.Background(), "/dcim/devices/", nil); err == nil || !strings.Contains(err.Error(), "not an API path") {
		t.Fatalf("malformed endpoint: %v", err)
	}
}

func TestSimFaults(t *testing.T) {
	devicesPath := apiPath(netbox.Devices)
	tests := []struct {
		name    string
		fault   netboxtest.Fault
		retries int
		wantErr string // "" when the fault is recovered
		minWait time.Duration
	}{
		{"429 with Retry-After", netboxtest.Fault{Kind: netboxtest.FaultRateLimit, RetryAfter: time.Second}, 2, "", time.Second},
		{"500 reported", netboxtest.Fault{Kind: netboxtest.FaultServerError}, 2, "500 Internal Server Error", 0},
		{"502 recovered", netboxtest.Fault{Kind: netboxtest.FaultBadGateway}, 2, "", 0},
		{"503 recovered", netboxtest.Fault{Kind: netboxtest.FaultUnavailable}, 2, "", 0},
		{"dropped connection recovered", netboxtest.Fault{Kind: netboxtest.FaultDrop}, 2, "", 0},
		{"slow answer within the timeout", netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: 200 * time.Millisecond}, 2, "", 200 * time.Millisecond},
		{"answer slower than the timeout is retried", netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: 3 * time.Second}, 2, "", 0},
		{"answer slower than the timeout, no retries left", netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: 3 * time.Second}, -1, "timeout", 0},
	}
	for _, p := range simProfiles {
		for _, tt := range tests {
			t.Run(p.String()+"/"+tt.name, func(t *testing.T) {
				srv, c := newSim(t, p, func(cfg *netbox.Config) { cfg.Timeout = 500 * time.Millisecond; cfg.Retries = tt.retries },
					netboxtest.WithFaultFunc(netboxtest.FailNth(http.MethodGet, devicesPath, 1, tt.fault)))
				ids := base(t, c)
				srv.MustSeed(devicesPath, map[string]any{"name": "d1", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]})
				start := time.Now()
				devs, err := c.List(context.Background(), netbox.Devices, nil)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), devicesPath) {
						t.Fatalf("err = %v, want one naming %s and %q", err, devicesPath, tt.wantErr)
					}
					return
				}
				if err != nil || len(devs) != 1 {
					t.Fatalf("List: %v, %v", devs, err)
				}
				if d := time.Since(start); d < tt.minWait {
					t.Errorf("answered after %s, want at least %s", d, tt.minWait)
				}
			})
		}
	}
}

// A bulk POST whose answer is lost after NetBox wrote the batch is not resent blindly: the
// client finds the created objects by the identity it stored and creates only the rest.
func TestSimLostCreateAnswerNoDuplicates(t *testing.T) {
	devicesPath := apiPath(netbox.Devices)
	tests := []struct {
		name   string
		fault  netboxtest.Fault
		lookup func(netbox.Object) url.Values
		posts  int
	}{
		{"dropped after write, default name+site key", netboxtest.Fault{Kind: netboxtest.FaultDrop, AfterApply: true}, nil, 1},
		{"503 after write, default name+site key", netboxtest.Fault{Kind: netboxtest.FaultUnavailable, AfterApply: true}, nil, 1},
		{"dropped before write", netboxtest.Fault{Kind: netboxtest.FaultDrop}, nil, 2},
		{"502 before write", netboxtest.Fault{Kind: netboxtest.FaultBadGateway}, nil, 2},
	}
	for _, p := range testnetbox.Profiles() {
		for _, tt := range tests {
			t.Run(testnetbox.ProfileName(p)+"/"+tt.name, func(t *testing.T) {
				srv, c := newTarget(t, p, func(cfg *netbox.Config) { cfg.BatchSize = 10 },
					testnetbox.WithFaults(netboxtest.FailNth(http.MethodPost, devicesPath, 1, tt.fault)))
				ctx := context.Background()
				if err := c.EnsureCustomFields(ctx, []netbox.CustomFieldSpec{{Name: "netbox_agent_id", Type: "text", ObjectTypes: []string{"dcim.device"}}}); err != nil {
					t.Fatal(err)
				}
				ids := base(t, c)
				var objs []netbox.Object
				for i := range 25 {
					d := device(ids, fmt.Sprintf("vm%02d", i))
					d["custom_fields"] = map[string]any{"netbox_agent_id": fmt.Sprintf("agent:%d", i)}
					objs = append(objs, d)
				}
				res := c.CreateWith(ctx, netbox.Devices, objs, netbox.CreateOptions{LookupKey: tt.lookup})
				for i, r := range res {
					if r.Err != nil || r.Object.String("name") != objs[i].String("name") {
						t.Errorf("result %d: %+v", i, r)
					}
				}
				if n := len(srv.Objects(netbox.Devices)); n != 25 {
					t.Errorf("%d devices stored, want 25 (no duplicates)", n)
				}
				if n := counts(srv)["POST "+devicesPath]; n != 3+tt.posts-1 {
					t.Errorf("%d POSTs, want %d", n, 3+tt.posts-1)
				}
				// The 10 objects of the lost batch are looked up with one grouped request.
				if n := counts(srv)["GET "+devicesPath]; n != 1 {
					t.Errorf("%d lookup requests, want 1", n)
				}
			})
		}
	}
}

// IP addresses have no unique key in NetBox; the default lookup (address on its interface)
// still lets a lost create answer be recovered without duplicates.
func TestSimLostCreateAnswerIPAddresses(t *testing.T) {
	for _, p := range testnetbox.Profiles() {
		t.Run(testnetbox.ProfileName(p), func(t *testing.T) {
			ipPath := apiPath(netbox.IPAddresses)
			srv, c := newTarget(t, p, nil, testnetbox.WithFaults(netboxtest.FailNth(http.MethodPost, ipPath, 1,
				netboxtest.Fault{Kind: netboxtest.FaultDrop, AfterApply: true})))
			ctx := context.Background()
			ids := base(t, c)
			dev := c.Create(ctx, netbox.Devices, []netbox.Object{device(ids, "h1")})[0]
			if dev.Err != nil {
				t.Fatal(dev.Err)
			}
			ifs := c.Create(ctx, netbox.Interfaces, []netbox.Object{
				{"device": dev.Object.ID(), "name": "eth0", "type": "1000base-t"},
				{"device": dev.Object.ID(), "name": "eth1", "type": "1000base-t"},
			})
			var ips []netbox.Object
			for i, r := range ifs {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				ips = append(ips, netbox.Object{"address": fmt.Sprintf("192.0.2.%d/24", i+1), "assigned_object_type": "dcim.interface", "assigned_object_id": r.Object.ID()})
			}
			ips = append(ips, netbox.Object{"address": "192.0.2.99/24"}) // unassigned
			res := c.Create(ctx, netbox.IPAddresses, ips)
			for i, r := range res {
				if r.Err != nil || r.Object.String("address") != ips[i].String("address") {
					t.Errorf("result %d: %+v", i, r)
				}
			}
			if n := len(srv.Objects(netbox.IPAddresses)); n != 3 {
				t.Errorf("%d IP addresses stored, want 3", n)
			}
			var posts, drops int
			for _, r := range srv.Requests() {
				if r.Method == http.MethodPost && r.Path == ipPath {
					posts++
					if r.Fault == netboxtest.FaultDrop {
						drops++
					}
				}
			}
			if posts != 1 || drops != 1 {
				t.Errorf("%d POSTs (%d dropped), want the one dropped POST and no resend", posts, drops)
			}
		})
	}
}

// A run through random faults of every recoverable kind (seeded, so repeatable) ends with
// exactly the objects asked for: nothing lost, nothing duplicated.
func TestSimRandomFaultsSoak(t *testing.T) {
	faults := []netboxtest.Fault{
		{Kind: netboxtest.FaultBadGateway},
		{Kind: netboxtest.FaultDrop, AfterApply: true},
		{Kind: netboxtest.FaultUnavailable},
		{Kind: netboxtest.FaultDrop},
		{Kind: netboxtest.FaultUnavailable, AfterApply: true},
		{Kind: netboxtest.FaultSlow, Delay: 50 * time.Millisecond},
		// 429 is left to TestSimFaults: the simulator's Retry-After is at least 1 s.
	}
	for _, p := range simProfiles {
		t.Run(p.String(), func(t *testing.T) {
			srv, c := newSim(t, p, func(cfg *netbox.Config) { cfg.BatchSize = 25; cfg.Retries = 6 },
				netboxtest.WithRandomFaults(42, 0.25, faults...))
			ctx := context.Background()
			ids := base(t, c)
			var objs []netbox.Object
			for i := range 200 {
				objs = append(objs, device(ids, fmt.Sprintf("soak%03d", i)))
			}
			created := c.Create(ctx, netbox.Devices, objs)
			var devIDs []int
			for i, r := range created {
				if r.Err != nil {
					t.Fatalf("create %d: %v", i, r.Err)
				}
				devIDs = append(devIDs, r.Object.ID())
			}
			var upd []netbox.Object
			for _, id := range devIDs {
				upd = append(upd, netbox.Object{"id": id, "serial": fmt.Sprintf("SN%d", id)})
			}
			for i, r := range c.Update(ctx, netbox.Devices, upd) {
				if r.Err != nil {
					t.Fatalf("update %d: %v", i, r.Err)
				}
			}
			for i, r := range c.Delete(ctx, netbox.Devices, devIDs[:100]) {
				if r.Err != nil {
					t.Fatalf("delete %d: %v", i, r.Err)
				}
			}
			left, err := c.List(ctx, netbox.Devices, url.Values{"fields": {"id,name,serial"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 100 {
				t.Fatalf("%d devices left, want 100", len(left))
			}
			for _, d := range left {
				if d.String("serial") != fmt.Sprintf("SN%d", d.ID()) {
					t.Errorf("device %d serial %q", d.ID(), d.String("serial"))
				}
			}
			kinds := map[netboxtest.FaultKind]int{}
			var slowest time.Duration
			for _, r := range srv.Requests() {
				kinds[r.Fault]++
				slowest = max(slowest, r.Duration)
			}
			t.Logf("slowest request %s", slowest)
			t.Logf("requests by fault: %v", kinds)
			if len(kinds) < 4 {
				t.Errorf("only %d fault kinds were injected: %v", len(kinds)-1, kinds)
			}
		})
	}
}

// TestSimAnswerFields: with AnswerFields, results hold only the fields asked for (and the
// id), in input order, for creates and updates; without, the whole object.
func TestSimAnswerFields(t *testing.T) {
	for _, p := range simProfiles {
		t.Run(p.String(), func(t *testing.T) {
			_, c := newSim(t, p, nil)
			ids := base(t, c)
			ctx := context.Background()
			objs := []netbox.Object{device(ids, "a"), device(ids, "b"), device(ids, "c")}
			objs[1]["serial"] = "SN-B"
			res := c.CreateWith(ctx, netbox.Devices, objs, netbox.CreateOptions{AnswerFields: []string{"name", "serial", "no_such_field"}})
			seen := map[int]bool{}
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("create %d: %v", i, r.Err)
				}
				if r.Object.ID() == 0 || seen[r.Object.ID()] {
					t.Errorf("create %d: id %v", i, r.Object["id"])
				}
				seen[r.Object.ID()] = true
				if r.Object.String("name") != objs[i].String("name") {
					t.Errorf("create %d: answer %v is not object %q", i, r.Object, objs[i].String("name"))
				}
				if _, ok := r.Object["no_such_field"]; ok || len(r.Object) != 3 {
					t.Errorf("create %d: answer holds %v, want id, name, serial", i, r.Object)
				}
			}
			if res[1].Object["serial"] != "SN-B" || res[0].Object["serial"] != "" {
				t.Errorf("serials %q %q", res[0].Object["serial"], res[1].Object["serial"])
			}
			upd := []netbox.Object{{"id": res[2].Object.ID(), "serial": "SN-C"}, {"id": res[0].Object.ID(), "serial": "SN-A"}}
			ures := c.UpdateWith(ctx, netbox.Devices, upd, netbox.UpdateOptions{AnswerFields: []string{"serial"}})
			for i, r := range ures {
				if r.Err != nil || r.Object.ID() != upd[i].ID() || r.Object["serial"] != upd[i]["serial"] || len(r.Object) != 2 {
					t.Errorf("update %d: %+v", i, r)
				}
			}
			full := c.Update(ctx, netbox.Devices, []netbox.Object{{"id": res[1].Object.ID(), "serial": "SN-B2"}})
			if full[0].Err != nil || full[0].Object.String("name") != "b" || full[0].Object.RefID("site") != ids["site"] {
				t.Errorf("update without options: %+v", full[0])
			}
		})
	}
}

// A create slower than the client's timeout is still running in NetBox when the client gives
// up (gunicorn finishes a request whose client has gone): the client waits as long again
// before it looks, finds the object and does not create it a second time.
func TestSimCreateSlowerThanTheTimeoutIsNotDuplicated(t *testing.T) {
	ipPath := apiPath(netbox.IPAddresses) // NetBox does not enforce unique addresses
	sim, err := netboxtest.New()
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	done := make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == ipPath && posts.Add(1) == 1 {
			// Like NetBox: the work goes on whether or not the client still waits.
			defer close(done)
			time.Sleep(700 * time.Millisecond)
			sim.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c, err := netbox.New(netbox.Config{URL: front.URL, Token: secret.New(sim.Token()), Timeout: 400 * time.Millisecond, RequestsPerSecond: -1},
		nil, netbox.WithBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	res := c.Create(context.Background(), netbox.IPAddresses, []netbox.Object{{"address": "192.0.2.10/24"}})
	if res[0].Err != nil {
		t.Fatalf("create: %v", res[0].Err)
	}
	<-done
	if n := sim.Count(ipPath); n != 1 {
		t.Fatalf("%d IP addresses stored, want 1 (no duplicate)", n)
	}
}

// TestSimSnapshotTransform: a read's Transform sees every object of every page (pages read
// in parallel) and the snapshot holds what it returned.
func TestSimSnapshotTransform(t *testing.T) {
	_, c := newSim(t, netboxtest.Profile43, nil)
	ids := base(t, c)
	var objs []netbox.Object
	for i := range 250 {
		objs = append(objs, device(ids, fmt.Sprintf("d%03d", i)))
	}
	for _, r := range c.Create(context.Background(), netbox.Devices, objs) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	var mu sync.Mutex
	calls := 0
	got, err := c.Snapshot(context.Background(), []netbox.ReadSpec{{Key: "d", Endpoint: netbox.Devices,
		Query: url.Values{"limit": {"60"}, "fields": {"id,name"}},
		Transform: func(o netbox.Object) netbox.Object {
			mu.Lock()
			calls++
			mu.Unlock()
			return netbox.Object{"id": o["id"], "upper": strings.ToUpper(o.String("name"))}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 250 || len(got["d"]) != 250 {
		t.Fatalf("transform called %d times, %d objects, want 250", calls, len(got["d"]))
	}
	seen := map[int]bool{}
	for _, o := range got["d"] {
		if o.ID() == 0 || seen[o.ID()] || !strings.HasPrefix(o.String("upper"), "D") || len(o) != 2 {
			t.Errorf("object %v", o)
		}
		seen[o.ID()] = true
	}
}
