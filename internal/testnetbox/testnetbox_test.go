package testnetbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// TestTargetRoundTrip runs in both tiers: create, read back, a person's edit, request
// counting, and an empty NetBox for the next test.
func TestTargetRoundTrip(t *testing.T) {
	nb := New(t)
	if nb.IsReal() != Real() || (nb.Sim == nil) != Real() {
		t.Fatalf("IsReal %v, Sim %v, environment real %v", nb.IsReal(), nb.Sim != nil, Real())
	}
	if nb.Version() == "" || !strings.HasPrefix(nb.Version(), "4.") {
		t.Fatalf("version %q", nb.Version())
	}
	if n := len(nb.Objects("dcim/sites")); n != 0 {
		t.Fatalf("a new target has %d sites, want an empty NetBox", n)
	}
	ids := nb.Create("dcim/sites", map[string]any{"name": "Attic", "slug": "attic"}, map[string]any{"name": "Cellar", "slug": "cellar"})
	if len(ids) != 2 || ids[0] == ids[1] || ids[0] == 0 {
		t.Fatalf("ids %v", ids)
	}
	got := nb.Update("dcim/sites", ids[1], map[string]any{"description": "damp"})
	if got["description"] != "damp" {
		t.Fatalf("update answered %v", got)
	}
	if c := nb.Find("dcim/sites", "CELLAR"); c == nil || c["description"] != "damp" || IntOf(c["id"]) != ids[1] {
		t.Fatalf("find cellar: %v", c)
	}
	if nb.Find("dcim/sites", "garage") != nil || nb.Count("dcim/sites", "attic") != 1 {
		t.Fatal("find/count of absent or present site wrong")
	}
	snap := nb.Snapshot()
	if len(snap["dcim/sites"]) != 2 || len(snap) != 1 {
		t.Fatalf("snapshot %v", snap)
	}
	// Reads and writes above went straight to NetBox, not through URL: nothing logged.
	if w := nb.Writes(); w != 0 {
		t.Fatalf("helper requests were logged as the agent's: %d writes", w)
	}
	// A request through URL is the agent's and is logged.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, nb.URL+"/api/dcim/sites/"+strconv.Itoa(ids[0])+"/", nil)
	req.Header.Set("Authorization", nb.AuthHeader())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE through URL: %s", resp.Status)
	}
	if rs := nb.Requests(); nb.Writes() != 1 || len(rs) != 1 || rs[0].Path != "/api/dcim/sites/"+strconv.Itoa(ids[0])+"/" || rs[0].Status != 204 {
		t.Fatalf("request log %+v", rs)
	}
	nb.ResetLog()
	if len(nb.Requests()) != 0 {
		t.Fatal("ResetLog kept requests")
	}
	nb.Delete("dcim/sites", ids[1])
	if n := len(nb.Objects("dcim/sites")); n != 0 {
		t.Fatalf("%d sites after deleting both", n)
	}
}

// TestEachTestStartsEmpty: the second target of a test (after Close) sees nothing of the
// first's objects: the simulator is new, the real NetBox was reset.
func TestEachTestStartsEmpty(t *testing.T) {
	a := New(t)
	a.Create("dcim/manufacturers", map[string]any{"name": "Acme", "slug": "acme"})
	a.Close()
	b := New(t)
	if n := len(b.Objects("dcim/manufacturers")); n != 0 {
		t.Fatalf("%s: %d manufacturers left from the previous target", b.Name(), n)
	}
}

func TestProxyFaults(t *testing.T) {
	// The proxy is tested against a simulator upstream, so it runs in every tier.
	sim := netboxtest.NewTestServer(t)
	var calls int
	p, err := startProxy(sim.URL, []netboxtest.FaultFunc{
		netboxtest.FailNth("POST", "/api/dcim/sites/", 1, netboxtest.Fault{Kind: netboxtest.FaultDrop, AfterApply: true}),
		netboxtest.FailNth("POST", "/api/dcim/sites/", 2, netboxtest.Fault{Kind: netboxtest.FaultUnavailable}),
		netboxtest.FailNth("POST", "/api/dcim/sites/", 3, netboxtest.Fault{Kind: netboxtest.FaultRateLimit, RetryAfter: 2 * time.Second}),
		func(r *http.Request, n int) netboxtest.Fault {
			if r.Method == "GET" {
				calls++
				return netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: 150 * time.Millisecond}
			}
			return netboxtest.Fault{}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	post := func(name string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", p.url+"/api/dcim/sites/", strings.NewReader(`{"name":"`+name+`","slug":"`+name+`"}`))
		req.Header.Set("Authorization", sim.AuthHeader())
		req.Header.Set("Content-Type", "application/json")
		return http.DefaultClient.Do(req)
	}
	if resp, err := post("a"); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %s", resp.Status)
	}
	if sim.Count("/api/dcim/sites/") != 1 {
		t.Fatalf("AfterApply drop: %d sites in NetBox, want 1 (written, answer lost)", sim.Count("/api/dcim/sites/"))
	}
	for _, want := range []struct {
		status int
		retry  string
	}{{503, ""}, {429, "2"}, {201, ""}} {
		resp, err := post("b")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want.status || resp.Header.Get("Retry-After") != want.retry {
			t.Fatalf("answer %s Retry-After %q, want %d %q", resp.Status, resp.Header.Get("Retry-After"), want.status, want.retry)
		}
	}
	if sim.Count("/api/dcim/sites/") != 2 {
		t.Fatalf("%d sites, want 2 (a, then b once)", sim.Count("/api/dcim/sites/"))
	}
	start := time.Now()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", p.url+"/api/dcim/sites/?limit=1", nil)
	req.Header.Set("Authorization", sim.AuthHeader())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d < 150*time.Millisecond || resp.StatusCode != 200 {
		t.Fatalf("slow GET took %s, answered %s", d, resp.Status)
	}
	kinds := []netboxtest.FaultKind{}
	for _, r := range p.requests() {
		kinds = append(kinds, r.Fault)
	}
	want := []netboxtest.FaultKind{netboxtest.FaultDrop, netboxtest.FaultUnavailable, netboxtest.FaultRateLimit, netboxtest.FaultNone, netboxtest.FaultSlow}
	if len(kinds) != len(want) {
		t.Fatalf("logged faults %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("logged faults %v, want %v", kinds, want)
		}
	}
}

func TestLockExcludesAndNamesTheHolder(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	u := "http://127.0.0.1:1"
	a, err := acquire("TestA", u, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Another test (of any process) waits, then gives up naming the holder. flock locks
	// belong to open files, so a second open in this process is excluded like another
	// process would be.
	start := time.Now()
	if _, err := acquire("TestB", u, 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "TestA") {
		t.Fatalf("second holder: %v", err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("did not wait before giving up")
	}
	// The holder itself (or its subtest) asking again fails at once instead of deadlocking.
	start = time.Now()
	if _, err := acquire("TestA/sub", u, time.Minute); err == nil || !strings.Contains(err.Error(), "one Target at a time") {
		t.Fatalf("same test again: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("same-test check waited")
	}
	release(a)
	b, err := acquire("TestB", u, time.Second)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release(b)
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8430", true}, {"https://localhost", true}, {"http://[::1]:8000/", true},
		{"http://127.9.9.9", true}, {"http://10.0.0.5:8000", false}, {"https://netbox.example.com", false},
		{"ftp://127.0.0.1", false}, {"::nonsense", false},
	} {
		err := checkLoopback(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.url, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), tc.url) {
			t.Errorf("%s: error does not name the value: %v", tc.url, err)
		}
	}
}

// A request whose client gave up is in flight until NetBox has answered it: NetBox finishes
// the work of a killed agent, and WaitIdle lets a test wait for that.
func TestProxyCountsAbandonedRequestsUntilAnswered(t *testing.T) {
	release := make(chan struct{})
	answered := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusCreated)
		close(answered)
	}))
	defer up.Close()
	p, err := startProxy(up.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/api/dcim/sites/", strings.NewReader(`{}`))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the client's request should have timed out")
	}
	if err := p.waitIdle(100 * time.Millisecond); err == nil {
		t.Fatal("waitIdle returned while NetBox was still working on the abandoned request")
	}
	close(release)
	if err := p.waitIdle(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-answered:
	default:
		t.Fatal("waitIdle returned before NetBox answered")
	}
}

// A reset that leaves objects behind (a template database made from a used one) is caught by
// the probe after it, and what it left is deleted.
func TestWipeLeftoversDeletesWhatAResetLeft(t *testing.T) {
	nb := New(t)
	nb.Create("dcim/sites", map[string]any{"name": "left-1", "slug": "left-1"})
	nb.Create("dcim/manufacturers", map[string]any{"name": "Left", "slug": "left"})
	if err := nb.wipeLeftovers(); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []string{"dcim/sites", "dcim/manufacturers"} {
		if n := len(nb.Objects(ep)); n != 0 {
			t.Errorf("%s: %d objects at %s after wipeLeftovers, want none", nb.Name(), n, ep)
		}
	}
}

func TestNetBoxTimeSumsAndUnionsIntervals(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	cases := []struct {
		name      string
		reqs      []Request
		sum, busy time.Duration
	}{
		{"none", nil, 0, 0},
		{"fault answered by the proxy counts nothing", []Request{{Status: 503}}, 0, 0},
		{"one", []Request{{Start: at(0), Took: ms(10)}}, ms(10), ms(10)},
		{"apart", []Request{{Start: at(50), Took: ms(10)}, {Start: at(0), Took: ms(10)}}, ms(20), ms(20)},
		{"overlapping", []Request{{Start: at(0), Took: ms(10)}, {Start: at(5), Took: ms(10)}}, ms(20), ms(15)},
		{"nested", []Request{{Start: at(0), Took: ms(30)}, {Start: at(5), Took: ms(10)}, {Start: at(40), Took: ms(1)}}, ms(41), ms(31)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sum, busy := netboxTime(c.reqs)
			if sum != c.sum || busy != c.busy {
				t.Errorf("netboxTime = sum %v, busy %v; want %v, %v", sum, busy, c.sum, c.busy)
			}
		})
	}
}

func TestProxyTimesForwardedRequests(t *testing.T) {
	nb := New(t)
	nb.ResetLog()
	req, err := http.NewRequest(http.MethodGet, nb.URL+"/api/dcim/sites/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", nb.AuthHeader())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := nb.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request logged")
	}
	for _, r := range reqs {
		if r.Start.IsZero() || r.Took <= 0 {
			t.Errorf("%s %s: Start %v, Took %v; want both set for a forwarded request", r.Method, r.Path, r.Start, r.Took)
		}
	}
	if sum, busy := nb.NetBoxTime(); sum <= 0 || busy <= 0 || busy > sum {
		t.Errorf("NetBoxTime = %v, %v; want 0 < busy <= sum", sum, busy)
	}
}

// TestSlowFaultCommitsOnlyAfterApply holds the simulator and the proxy to one meaning of a
// slow answer whose client gives up first: without AfterApply NetBox never got the request
// (nothing written); with AfterApply NetBox did the work and only the answer came late.
func TestSlowFaultCommitsOnlyAfterApply(t *testing.T) {
	for _, tc := range []struct {
		name       string
		afterApply bool
		want       int
	}{{"slow before NetBox", false, 0}, {"slow after NetBox committed", true, 1}} {
		for _, where := range []string{"simulator", "proxy"} {
			t.Run(where+"/"+tc.name, func(t *testing.T) {
				fault := netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: 400 * time.Millisecond, AfterApply: tc.afterApply}
				slowPOST := func(r *http.Request, _ int) netboxtest.Fault {
					if r.Method == http.MethodPost {
						return fault
					}
					return netboxtest.Fault{}
				}
				var sim *netboxtest.Server
				url := ""
				if where == "simulator" {
					sim = netboxtest.NewTestServer(t, netboxtest.WithFaultFunc(slowPOST))
					url = sim.URL
				} else {
					sim = netboxtest.NewTestServer(t)
					p, err := startProxy(sim.URL, []netboxtest.FaultFunc{slowPOST})
					if err != nil {
						t.Fatal(err)
					}
					defer p.close()
					url = p.url
				}
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/dcim/sites/", strings.NewReader(`{"name":"s","slug":"s"}`))
				req.Header.Set("Authorization", sim.AuthHeader())
				req.Header.Set("Content-Type", "application/json")
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					t.Fatalf("answered %s before the client's timeout; want the client to give up", resp.Status)
				}
				time.Sleep(600 * time.Millisecond)
				if n := sim.Count("/api/dcim/sites/"); n != tc.want {
					t.Errorf("%d sites in NetBox after the client gave up, want %d", n, tc.want)
				}
			})
		}
	}
}
