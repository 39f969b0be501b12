package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// BenchmarkLabSync runs the agent's first sync and no-change re-sync of the lab
// (cmd/netbox-lab's sources with BENCH_LAB_VMS extra guests, default "500,2000") against the
// test's NetBox: a real one under make test-netbox's variables (NETBOX_TEST_URL, ...), else the
// simulator. It prints wall times, request and write counts per run. BENCH_BATCH_SIZE and
// BENCH_MAX_IN_FLIGHT override the client's defaults, for tuning. Run with -benchtime=1x.
//
//	NETBOX_TEST_URL=http://127.0.0.1:8430 NETBOX_TEST_TOKEN=0123...4567 \
//	NETBOX_TEST_RESET="../shared/realnetbox/realnetbox.sh reset --version 4.3.7" \
//	BENCH_LAB_VMS=500 go test -run '^$' -bench BenchmarkLabSync -benchtime 1x ./cmd/netbox-agent/
func BenchmarkLabSync(b *testing.B) {
	sizes := []int{500, 2000}
	if s := os.Getenv("BENCH_LAB_VMS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 {
				b.Fatalf("BENCH_LAB_VMS: value %q is not a list of counts: %v", s, err)
			}
			sizes = append(sizes, n)
		}
	}
	var extra []string
	for _, kv := range [][2]string{{"BENCH_BATCH_SIZE", "batch_size"}, {"BENCH_MAX_IN_FLIGHT", "max_in_flight"}} {
		if v := os.Getenv(kv[0]); v != "" {
			if _, err := strconv.Atoi(v); err != nil {
				b.Fatalf("%s: value %q is not a number", kv[0], v)
			}
			extra = append(extra, fmt.Sprintf("  %s: %s", kv[1], v))
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("vms=%d", n), func(b *testing.B) {
			for range b.N {
				benchLabSync(b, n, extra)
			}
		})
	}
}

func benchLabSync(b *testing.B, vms int, extra []string) {
	nb := testnetbox.New(b)
	defer nb.Close()
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Options{Dir: b.TempDir(), VMs: vms, Logger: nil})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	raw, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		b.Fatal(err)
	}
	// The lab's sources, the test's NetBox: swap the netbox url and token lines.
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "  url: ") && strings.Contains(line, l.NetBoxURL()):
			out = append(out, "  url: "+strconv.Quote(nb.URL), "  timeout: 5m")
			out = append(out, extra...)
			continue
		case strings.HasPrefix(line, "  token: ") && strings.Contains(line, l.NetBoxToken()):
			continue // from NETBOX_TOKEN below
		}
		out = append(out, line)
	}
	cfg := l.ConfigPath() + ".bench.yaml"
	if err := os.WriteFile(cfg, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"NETBOX_TOKEN": nb.Token}
	runOnce := func(label string) (wall, netbox time.Duration) {
		nb.ResetLog()
		start := time.Now()
		code := run(ctx, []string{"--config", cfg, "--run-once", "--output", "json"}, strings.NewReader(""), io.Discard, io.Discard, env)
		d := time.Since(start)
		if code != exitOK {
			b.Fatalf("%s: exit %d against %s", label, code, nb.Name())
		}
		reqs := nb.Requests()
		byMethod := map[string]int{}
		for _, r := range reqs {
			byMethod[r.Method]++
		}
		sum, busy := nb.NetBoxTime()
		fmt.Printf("lab vms=%d %s %s: %.2f s, %d requests %v, %d writes; NetBox time %.2f s busy (%.2f s summed over requests)\n",
			vms, nb.Name(), label, d.Seconds(), len(reqs), byMethod, nb.Writes(), busy.Seconds(), sum.Seconds())
		return d, busy
	}
	b.ResetTimer()
	first, firstNB := runOnce("first sync")
	second, secondNB := runOnce("re-sync")
	b.StopTimer()
	if w := nb.Writes(); w != 0 {
		b.Errorf("no-change re-sync made %d writes", w)
	}
	b.ReportMetric(first.Seconds(), "first-s")
	b.ReportMetric(second.Seconds(), "resync-s")
	b.ReportMetric(firstNB.Seconds(), "first-netbox-s")
	b.ReportMetric(secondNB.Seconds(), "resync-netbox-s")

	// NetBox's floor for the same objects: read back what the first sync wrote, empty
	// NetBox, write it again with raw bulk requests (BENCH_FLOOR_BATCH objects a request,
	// BENCH_FLOOR_IN_FLIGHT requests at once; defaults 100 and 4).
	if os.Getenv("BENCH_FLOOR") == "off" {
		return
	}
	snap := nb.Snapshot()
	nb.Close()
	batch, inflight := envInt(b, "BENCH_FLOOR_BATCH", 100), envInt(b, "BENCH_FLOOR_IN_FLIGHT", 4)
	nb2 := testnetbox.New(b)
	defer nb2.Close()
	floor, reqs, objs := floorReplay(b, nb2, snap, batch, inflight)
	fmt.Printf("lab vms=%d %s floor (raw bulk writes, batch %d, %d in flight): %.2f s, %d write requests, %d objects; first sync / floor = %.2fx\n",
		vms, nb2.Name(), batch, inflight, floor.Seconds(), reqs, objs, first.Seconds()/floor.Seconds())
	for ep, objs := range snap {
		if n := len(nb2.Objects(ep)); n != len(objs) {
			b.Errorf("floor: %s: %d objects written, the agent wrote %d", ep, n, len(objs))
		}
	}
	b.ReportMetric(floor.Seconds(), "floor-s")
	b.ReportMetric(first.Seconds()/floor.Seconds(), "first/floor")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s: value %q is not a positive number", name, v)
	}
	return n
}

// floorReplay writes the objects of snap (what the agent's first sync left in NetBox, read
// back through the API) to nb, an emptied NetBox, with raw bulk POSTs of batch objects and
// inflight requests at once, dependency level by level, then sets the primary IPs and MACs
// with bulk PATCHes as the agent does. Its wall time is NetBox's floor for these objects: the
// least any client spends writing them at that batch size and concurrency.
func floorReplay(b *testing.B, nb *testnetbox.Target, snap map[string][]map[string]any, batch, inflight int) (time.Duration, int, int) {
	b.Helper()
	ctx := context.Background()
	hc := &http.Client{Timeout: 10 * time.Minute}
	newID := map[string]map[int]int{} // endpoint -> old id -> new id
	ctEP := map[string]string{"dcim.interface": "dcim/interfaces", "virtualization.vminterface": "virtualization/interfaces",
		"dcim.site": "dcim/sites", "dcim.device": "dcim/devices", "virtualization.virtualmachine": "virtualization/virtual-machines",
		"dcim.location": "dcim/locations", "virtualization.cluster": "virtualization/clusters"}
	deferred := map[string]bool{"primary_ip4": true, "primary_ip6": true, "primary_mac_address": true, "oob_ip": true}
	var conv func(v any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if val, ok := x["value"]; ok && len(x) == 2 && x["label"] != nil {
				return val // a choice field as NetBox renders it
			}
			if u, ok := x["url"].(string); ok && x["id"] != nil {
				if i := strings.Index(u, "/api/"); i >= 0 {
					ep := strings.Trim(u[i+5:], "/")
					ep = ep[:strings.LastIndex(ep, "/")]
					return newID[ep][testnetbox.IntOf(x["id"])]
				}
			}
			out := map[string]any{}
			for k, e := range x {
				out[k] = conv(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = conv(e)
			}
			return out
		}
		return v
	}
	send := func(method, ep string, bodies []map[string]any) ([]map[string]any, error) {
		raw, err := json.Marshal(bodies)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, nb.URL+"/api/"+ep+"/", bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", nb.AuthHeader())
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("%s %s: %s: %.400s", method, ep, resp.Status, body)
		}
		var out []map[string]any
		return out, json.Unmarshal(body, &out)
	}
	// runLevel sends the bodies of one endpoint in batches, inflight at a time. A VM's
	// virtual disks go in one batch, as the agent sends them: NetBox sums them into the VM's
	// disk in each request's transaction (see netbox.CreateOptions.Together).
	runLevel := func(method, ep string, bodies []map[string]any, olds []int) int {
		type chunk struct{ lo, hi int }
		var chunks []chunk
		for lo := 0; lo < len(bodies); {
			hi := min(lo+batch, len(bodies))
			if ep == "virtualization/virtual-disks" {
				for hi < len(bodies) && fmt.Sprint(bodies[hi]["virtual_machine"]) == fmt.Sprint(bodies[hi-1]["virtual_machine"]) {
					hi++
				}
			}
			chunks = append(chunks, chunk{lo, hi})
			lo = hi
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, inflight)
		for _, c := range chunks {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				out, err := send(method, ep, bodies[c.lo:c.hi])
				if err != nil {
					b.Errorf("floor: %v", err)
					return
				}
				if olds != nil {
					mu.Lock()
					for i, o := range out {
						newID[ep][olds[c.lo+i]] = testnetbox.IntOf(o["id"])
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return len(chunks)
	}
	start := time.Now()
	requests, objects := 0, 0
	type patch struct {
		ep   string
		body map[string]any
	}
	var patches []patch
	for _, ep := range testnetbox.WriteEndpoints {
		objs := snap[ep]
		if len(objs) == 0 {
			continue
		}
		if ep == "virtualization/virtual-disks" { // a VM's disks side by side, for runLevel
			vmOf := func(o map[string]any) int {
				m, _ := o["virtual_machine"].(map[string]any)
				return testnetbox.IntOf(m["id"])
			}
			slices.SortStableFunc(objs, func(a, b map[string]any) int { return vmOf(a) - vmOf(b) })
		}
		newID[ep] = map[int]int{}
		bodies := make([]map[string]any, 0, len(objs))
		olds := make([]int, 0, len(objs))
		for _, o := range objs {
			body := map[string]any{}
			late := map[string]any{}
			for k, v := range o {
				switch {
				case k == "id" || k == "url" || k == "display" || k == "display_url":
				case deferred[k]:
					if v != nil {
						late[k] = v
					}
				case v == "" || v == nil: // unset: NetBox renders "" or null, and some fields refuse those on input
				case strings.HasSuffix(k, "_id") && k != "assigned_object_id" && k != "scope_id" && k != "parent_object_id":
				case k == "assigned_object_id" || k == "scope_id" || k == "parent_object_id":
					if t, _ := o[strings.TrimSuffix(k, "_id")+"_type"].(string); t != "" && v != nil {
						body[k] = newID[ctEP[t]][testnetbox.IntOf(v)]
					}
				default:
					body[k] = conv(v)
				}
			}
			bodies = append(bodies, body)
			olds = append(olds, testnetbox.IntOf(o["id"]))
			if len(late) > 0 {
				late["__old"] = testnetbox.IntOf(o["id"])
				patches = append(patches, patch{ep, late})
			}
		}
		requests += runLevel(http.MethodPost, ep, bodies, olds)
		objects += len(bodies)
	}
	byEP := map[string][]map[string]any{}
	var order []string
	for _, p := range patches {
		body := map[string]any{"id": newID[p.ep][p.body["__old"].(int)]}
		for k, v := range p.body {
			if k != "__old" {
				body[k] = conv(v)
			}
		}
		if byEP[p.ep] == nil {
			order = append(order, p.ep)
		}
		byEP[p.ep] = append(byEP[p.ep], body)
	}
	for _, ep := range order {
		requests += runLevel(http.MethodPatch, ep, byEP[ep], nil)
		objects += len(byEP[ep])
	}
	return time.Since(start), requests, objects
}
