package netboxtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWorkersAndLatency: with 4 workers and 2 ms per request, 40 concurrent requests take at
// least 40/4 x 2 ms and never more than 4 are served at once.
func TestWorkersAndLatency(t *testing.T) {
	const workers, requests, perRequest = 4, 40, 2 * time.Millisecond
	srv := NewTestServer(t, WithWorkers(workers), WithLatency(perRequest, 0))
	start := time.Now()
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			if code, _ := call(t, srv, "GET", pathStatus, nil); code != 200 {
				t.Errorf("status = %d", code)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	lower := time.Duration(requests/workers) * perRequest
	if elapsed < lower {
		t.Errorf("%d requests took %v, below the %v the worker limit allows", requests, elapsed, lower)
	}
	if peak := srv.PeakInFlight(); peak > workers || peak < 2 {
		t.Errorf("peak in flight = %d, want 2..%d", peak, workers)
	}
	t.Logf("%d requests, %d workers, %v each: %v (lower bound %v), peak %d", requests, workers, perRequest, elapsed, lower, srv.PeakInFlight())
}

// TestPerObjectLatency: a bulk create of 50 objects at 1 ms per object takes >= 50 ms.
func TestPerObjectLatency(t *testing.T) {
	srv := NewTestServer(t, WithLatency(0, time.Millisecond))
	var batch []any
	for i := range 50 {
		batch = append(batch, map[string]any{"name": fmt.Sprintf("t%d", i), "slug": fmt.Sprintf("t%d", i)})
	}
	start := time.Now()
	if code, _ := call(t, srv, "POST", pathTags, batch); code != 201 {
		t.Fatalf("bulk create = %d", code)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("50 objects at 1 ms took %v", d)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Objects != 50 || reqs[0].Status != 201 {
		t.Errorf("log = %+v", reqs)
	}
	start = time.Now()
	if code, _ := call(t, srv, "GET", pathTags+"?limit=10", nil); code != 200 {
		t.Fatal("list")
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("10 returned objects at 1 ms took %v", d)
	}
}

func rawRequest(srv *Server, method, path string, body string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Authorization", srv.AuthHeader())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

// TestFaults injects each fault kind by script.
func TestFaults(t *testing.T) {
	tests := []struct {
		fault     Fault
		wantCode  int
		wantDrop  bool
		wantApply bool
		check     func(t *testing.T, resp *http.Response, elapsed time.Duration)
	}{
		{fault: Fault{Kind: FaultRateLimit, RetryAfter: 3 * time.Second}, wantCode: 429, check: func(t *testing.T, resp *http.Response, _ time.Duration) {
			if resp.Header.Get("Retry-After") != "3" {
				t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
			}
		}},
		{fault: Fault{Kind: FaultServerError}, wantCode: 500},
		{fault: Fault{Kind: FaultBadGateway}, wantCode: 502},
		{fault: Fault{Kind: FaultUnavailable}, wantCode: 503},
		{fault: Fault{Kind: FaultDrop}, wantDrop: true},
		{fault: Fault{Kind: FaultBadGateway, AfterApply: true}, wantCode: 502, wantApply: true},
		{fault: Fault{Kind: FaultDrop, AfterApply: true}, wantDrop: true, wantApply: true},
		{fault: Fault{Kind: FaultSlow, Delay: 60 * time.Millisecond}, wantCode: 201, wantApply: true,
			check: func(t *testing.T, _ *http.Response, elapsed time.Duration) {
				if elapsed < 60*time.Millisecond {
					t.Errorf("slow response took %v", elapsed)
				}
			}},
	}
	for _, tc := range tests {
		name := tc.fault.Kind.String()
		if tc.fault.AfterApply {
			name += " after apply"
		}
		t.Run(name, func(t *testing.T) {
			// The 3rd POST to /api/extras/tags/ fails.
			srv := NewTestServer(t, WithFaultFunc(FailNth("POST", pathTags, 3, tc.fault)))
			for i := range 2 {
				if code, _ := call(t, srv, "POST", pathTags, map[string]any{"name": fmt.Sprint(i), "slug": fmt.Sprint(i)}); code != 201 {
					t.Fatalf("POST %d = %d", i, code)
				}
			}
			start := time.Now()
			resp, _, err := rawRequest(srv, "POST", pathTags, `{"name": "third", "slug": "third"}`)
			elapsed := time.Since(start)
			switch {
			case tc.wantDrop:
				if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF")) {
					t.Fatalf("dropped connection: err = %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case resp.StatusCode != tc.wantCode:
				t.Fatalf("code = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if tc.check != nil {
				tc.check(t, resp, elapsed)
			}
			if applied := srv.Count(pathTags) == 3; applied != tc.wantApply {
				t.Errorf("write applied = %v, want %v", applied, tc.wantApply)
			}
			// The 4th POST goes through.
			if code, _ := call(t, srv, "POST", pathTags, map[string]any{"name": "fourth", "slug": "fourth"}); code != 201 {
				t.Errorf("4th POST = %d", code)
			}
			log := srv.Requests()
			if len(log) != 4 || log[2].Fault != tc.fault.Kind {
				t.Errorf("log = %+v", log)
			}
		})
	}
}

// TestRandomFaultsAreDeterministic: the same seed gives the same fault sequence.
func TestRandomFaultsAreDeterministic(t *testing.T) {
	run := func(seed uint64) []int {
		srv := NewTestServer(t, WithRandomFaults(seed, 0.3, Fault{Kind: FaultServerError}, Fault{Kind: FaultRateLimit}, Fault{Kind: FaultUnavailable}))
		var codes []int
		for range 60 {
			resp, _, err := rawRequest(srv, "GET", pathStatus, "")
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, resp.StatusCode)
		}
		return codes
	}
	a, b, c := run(7), run(7), run(8)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different sequences:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("different seeds, same sequence")
	}
	kinds := map[int]int{}
	for _, code := range a {
		kinds[code]++
	}
	if kinds[200] < 25 || kinds[200] > 55 || kinds[500] == 0 || kinds[429] == 0 || kinds[503] == 0 {
		t.Errorf("status mix for rate 0.3 = %v", kinds)
	}
}

func TestRequestLog(t *testing.T) {
	srv := NewTestServer(t)
	call(t, srv, "GET", pathSites, nil)
	call(t, srv, "GET", pathSites+"?limit=5", nil)
	call(t, srv, "POST", pathSites, map[string]any{"name": "a", "slug": "a"})
	call(t, srv, "GET", pathSites+"1/", nil)
	want := map[string]int{"GET /api/dcim/sites/": 2, "POST /api/dcim/sites/": 1, "GET /api/dcim/sites/1/": 1}
	if got := srv.Counts(); !reflect.DeepEqual(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	log := srv.Requests()
	if len(log) != 4 || log[1].Query != "limit=5" || log[2].Status != 201 || log[2].Objects != 1 {
		t.Errorf("log = %+v", log)
	}
	call(t, srv, "GET", pathSites+"?nmae=typo&name=a&limit=3", nil)
	if log := srv.Requests(); !reflect.DeepEqual(log[len(log)-1].Ignored, []string{"nmae"}) {
		t.Errorf("ignored filters = %v, want [nmae]", log[len(log)-1].Ignored)
	}
	srv.ResetLog()
	if len(srv.Requests()) != 0 || len(srv.Counts()) != 0 {
		t.Error("ResetLog kept entries")
	}
}

// TestSnapshotIsComparable: two servers given the same writes have equal snapshots.
func TestSnapshotIsComparable(t *testing.T) {
	a, b := NewTestServer(t), NewTestServer(t)
	seedLab(t, a)
	time.Sleep(2 * time.Millisecond)
	seedLab(t, b)
	if !reflect.DeepEqual(a.Snapshot(), b.Snapshot()) {
		t.Error("snapshots of identical states differ")
	}
	call(t, b, "PATCH", pathDevices+"1/", map[string]any{"serial": "changed"})
	if reflect.DeepEqual(a.Snapshot(), b.Snapshot()) {
		t.Error("snapshots of different states are equal")
	}
}

func TestBadJSON(t *testing.T) {
	srv := NewTestServer(t)
	resp, raw, err := rawRequest(srv, "POST", pathSites, `{"name": `)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || !bytes.Contains(raw, []byte(`"detail":"JSON parse error`)) {
		t.Errorf("bad JSON = %d %s", resp.StatusCode, raw)
	}
}

// TestETagIfMatch: 4.7 answers 412 to a write whose If-Match is stale; 4.3 has no ETags.
func TestETagIfMatch(t *testing.T) {
	for _, p := range profiles {
		srv := NewTestServer(t, WithProfile(p))
		srv.MustSeed(pathSites, map[string]any{"name": "a", "slug": "a"})
		resp, _, err := rawRequest(srv, "GET", pathSites+"1/", "")
		if err != nil {
			t.Fatal(err)
		}
		etag := resp.Header.Get("ETag")
		if (etag != "") != (p == Profile47) {
			t.Fatalf("%s: ETag = %q", p, etag)
		}
		if p == Profile43 {
			continue
		}
		patch := func(ifMatch string) int {
			req, _ := http.NewRequest("PATCH", srv.URL+pathSites+"1/", strings.NewReader(`{"description": "x"}`))
			req.Header.Set("Authorization", srv.AuthHeader())
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("If-Match", ifMatch)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := patch(etag); code != 200 {
			t.Errorf("PATCH with current ETag = %d", code)
		}
		if code := patch(etag); code != 412 {
			t.Errorf("PATCH with stale ETag = %d, want 412", code)
		}
	}
}

// TestConcurrentWritesAndReads runs writers and readers at once (for the race detector) and
// checks no write is lost.
func TestConcurrentWritesAndReads(t *testing.T) {
	srv := NewTestServer(t)
	seedBase(t, srv)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 10 {
				name := fmt.Sprintf("w%d-%d", w, i)
				code, body := call(t, srv, "POST", pathDevices, []any{map[string]any{"name": name, "device_type": 1, "role": 1, "site": map[string]any{"slug": "home"},
					"status": "active", "tags": []any{}}})
				if code != 201 {
					t.Errorf("create %s = %d %s", name, code, mustJSON(body))
				}
			}
		})
		wg.Go(func() {
			for range 10 {
				if code, _ := call(t, srv, "GET", pathDevices+"?limit=5&site_id=1", nil); code != 200 {
					t.Errorf("list = %d", code)
				}
			}
		})
	}
	wg.Wait()
	if n := srv.Count(pathDevices); n != 60 {
		t.Errorf("devices = %d, want 60", n)
	}
}
