package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// canonical turns a NetBox snapshot into what two servers are compared by: no ids, urls or
// timestamps (a reference is its display text), the agent's record without last_seen and
// without the ids it wrote. Equal canonical snapshots are the same objects, once each.
func canonical(snap map[string][]map[string]any) map[string][]string {
	var strip func(v any, top bool) any
	strip = func(v any, top bool) any {
		switch x := v.(type) {
		case map[string]any:
			if !top {
				if d, ok := x["display"]; ok {
					return d
				}
			}
			out := map[string]any{}
			for k, e := range x {
				switch {
				case k == "id", k == "url", k == "display_url", strings.HasSuffix(k, "_id"), k == "created",
					k == "last_updated", k == "last_seen", k == "written", k == "stale_since":
				case k == "custom_fields":
					out[k] = strip(e, true)
				default:
					out[k] = strip(e, top && k == "netbox_agent")
				}
			}
			return out
		case []any:
			l := make([]string, len(x))
			for i, e := range x {
				b, _ := json.Marshal(strip(e, false))
				l[i] = string(b)
			}
			slices.Sort(l)
			return l
		}
		return v
	}
	out := map[string][]string{}
	for ep, objs := range snap {
		for _, o := range objs {
			b, _ := json.Marshal(strip(o, true))
			out[ep] = append(out[ep], string(b))
		}
		slices.Sort(out[ep])
	}
	return out
}

// diffCanonical says how got differs from want, briefly ("" when equal).
func diffCanonical(got, want map[string][]string) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	var d []string
	eps := map[string]bool{}
	for ep := range got {
		eps[ep] = true
	}
	for ep := range want {
		eps[ep] = true
	}
	for _, ep := range slices.Sorted(func(yield func(string) bool) {
		for ep := range eps {
			if !yield(ep) {
				return
			}
		}
	}) {
		if !reflect.DeepEqual(got[ep], want[ep]) {
			extra, missing := setDiff(got[ep], want[ep]), setDiff(want[ep], got[ep])
			line := fmt.Sprintf("%s: %d objects, want %d", ep, len(got[ep]), len(want[ep]))
			if len(extra) > 0 {
				line += "; unexpected " + shorten(extra[0], 300)
			}
			if len(missing) > 0 {
				line += "; missing " + shorten(missing[0], 300)
			}
			d = append(d, line)
		}
	}
	return strings.Join(d, "; ")
}

func objectCount(c map[string][]string) int {
	n := 0
	for _, l := range c {
		n += len(l)
	}
	return n
}

// duplicates counts objects that share their identity with another of the same endpoint:
// name, address, MAC or slug together with what they belong to (device, VM, interface,
// cluster type and scope, parent of a service).
func duplicates(snap map[string][]map[string]any) int {
	idFields := []string{"name", "slug", "address", "mac_address", "device", "virtual_machine", "assigned_object",
		"type", "scope", "parent_object_type", "parent_object_id", "protocol"}
	n := 0
	for ep, objs := range snap {
		seen := map[string]bool{}
		for _, o := range objs {
			var key []string
			for _, f := range idFields {
				v := o[f]
				if ref, ok := v.(map[string]any); ok {
					v = ref["display"]
					if ref["id"] != nil {
						v = fmt.Sprint(ref["display"], "#", ref["id"])
					}
				}
				key = append(key, fmt.Sprint(v))
			}
			k := ep + "|" + strings.Join(key, "|")
			if seen[k] {
				n++
			}
			seen[k] = true
		}
	}
	return n
}

// netboxFaultCase is one row of the NetBox fault group.
type netboxFaultCase struct {
	name  string
	rate  float64
	fault netboxtest.Fault
	lock  bool // fault the apply lock's writes instead of the data writes
	// match, when set, picks the requests to fault (given the row's index, for a seed)
	match func(i int) func(r *http.Request, n int) bool
	// reachesNetBox: NetBox itself works on the faulted request (the fault is on the way
	// back, or only a delay), so the row says something about NetBox and runs against a real
	// one too; the other rows are answered by the proxy alone and prove the agent only.
	reachesNetBox bool
}

// netboxFaultCases are the rows for a client timeout (2 s on the simulator); the delays are
// fractions of it.
func netboxFaultCases(timeout time.Duration) []netboxFaultCase {
	slow, slower := timeout*3/4, timeout*3/2
	firstCluster := func(int) func(r *http.Request, n int) bool {
		return func(r *http.Request, n int) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/api/virtualization/clusters/" && n == 1
		}
	}
	patches := func(i int) func(r *http.Request, n int) bool {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		return func(r *http.Request, _ int) bool { return r.Method == http.MethodPatch && rng.Float64() < 0.3 }
	}
	f := func(kind netboxtest.FaultKind) netboxtest.Fault { return netboxtest.Fault{Kind: kind} }
	committed := func(kind netboxtest.FaultKind) netboxtest.Fault {
		return netboxtest.Fault{Kind: kind, AfterApply: true}
	}
	return []netboxFaultCase{
		{name: "429 with Retry-After: 1 on 30% of data writes", rate: 0.3, fault: netboxtest.Fault{Kind: netboxtest.FaultRateLimit, RetryAfter: time.Second}},
		{name: "500 on 30% of data writes", rate: 0.3, fault: f(netboxtest.FaultServerError)},
		{name: "500 after the write committed, 30%", rate: 0.3, fault: committed(netboxtest.FaultServerError), reachesNetBox: true},
		{name: "503 on 30% of data writes", rate: 0.3, fault: f(netboxtest.FaultUnavailable)},
		{name: "502 on 30% of data writes", rate: 0.3, fault: f(netboxtest.FaultBadGateway)},
		{name: "connection dropped before the write, 30%", rate: 0.3, fault: f(netboxtest.FaultDrop)},
		{name: "connection dropped after the write committed, 30%", rate: 0.3, fault: committed(netboxtest.FaultDrop), reachesNetBox: true},
		{name: fmt.Sprintf("slow answers (%s, client timeout %s), 30%%", slow, timeout), rate: 0.3,
			fault: netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: slow}},
		{name: fmt.Sprintf("answers slower than the client timeout (%s > %s) on 30%% of PATCHes", slower, timeout), rate: 0.3,
			fault: netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: slower}, match: patches},
		{name: fmt.Sprintf("the write committed, answered after the client timeout (%s > %s), 30%%", slower, timeout), rate: 0.3,
			fault: netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: slower, AfterApply: true}, reachesNetBox: true},
		{name: fmt.Sprintf("the first cluster create answered after the client timeout (%s > %s)", slower, timeout), rate: 1,
			fault: netboxtest.Fault{Kind: netboxtest.FaultSlow, Delay: slower}, match: firstCluster},
		{name: "every data write fails with 500", rate: 1, fault: f(netboxtest.FaultServerError)},
		{name: "the apply lock's create fails with 500", rate: 1, fault: f(netboxtest.FaultServerError), lock: true},
		{name: "the apply lock's create answered 500 after it committed", rate: 1, fault: committed(netboxtest.FaultServerError), lock: true, reachesNetBox: true},
		{name: "the apply lock's create: connection dropped after it committed", rate: 1, fault: committed(netboxtest.FaultDrop), lock: true, reachesNetBox: true},
	}
}

// netboxFaultRows is the matrix's group: every row, against rigs of their own simulator.
func netboxFaultRows(t *testing.T, m *matrix) {
	const timeout = 2 * time.Second
	runNetBoxFaultRows(t, m, netboxFaultCases(timeout), timeout, func(t *testing.T) *rig { return newRig(t, rigOptions{}) })
}

// TestNetBoxFaultRows runs the rows in which NetBox itself works on the faulted request
// against the test's NetBox target: the simulator behind testnetbox's proxy in make test, a
// real NetBox behind the same proxy in make test-netbox (with a client timeout that fits a
// real server's write times, and the delays scaled to it).
func TestNetBoxFaultRows(t *testing.T) {
	timeout := 2 * time.Second
	if testnetbox.Real() {
		timeout = 10 * time.Second
	}
	var cases []netboxFaultCase
	for _, c := range netboxFaultCases(timeout) {
		if c.reachesNetBox {
			cases = append(cases, c)
		}
	}
	m := &matrix{}
	runNetBoxFaultRows(t, m, cases, timeout, func(t *testing.T) *rig {
		fs := &faultSwitch{}
		nb := testnetbox.New(t, testnetbox.WithFaults(fs.decide))
		return newRig(t, rigOptions{target: nb, faults: fs, timeout: timeout})
	})
	t.Logf("NetBox fault rows:\n%s", m.table())
}

// runNetBoxFaultRows injects each case's fault into NetBox's answers during a first apply,
// then runs clean; NetBox must end equal to a fault-free run.
func runNetBoxFaultRows(t *testing.T, m *matrix, cases []netboxFaultCase, timeout time.Duration, newRigFor func(t *testing.T) *rig) {
	const group = "NetBox faults during apply"
	base := newRigFor(t)
	base.cleanSync()
	want := canonical(base.snapshot())
	if n := duplicates(base.snapshot()); n != 0 {
		t.Fatalf("the duplicate check finds %d duplicates in a fault-free run: its identity key is too coarse", n)
	}
	if objectCount(want) < 50 {
		t.Fatalf("fault-free run wrote only %d objects", objectCount(want))
	}
	if base.target != nil {
		m.figure("fault-free first sync of the lab against %s: %d NetBox objects", base.target.Name(), objectCount(want))
		base.target.Close() // the rows take their turn on the same NetBox
	} else {
		m.figure("fault-free first sync of the lab: %d NetBox objects", objectCount(want))
	}

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigFor(t)
			r.faults.onlyTags = tc.lock
			if tc.match != nil {
				r.faults.match = tc.match(i)
			}
			r.faults.set(uint64(100+i), tc.rate, tc.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 45*timeout)
			defer cancel()
			_, rep, err := r.sync(ctx)
			r.faults.on.Store(false)
			// requests the client gave up on may still be running in NetBox: the next run comes
			// after them, as a scheduled run would
			if r.target != nil {
				if err := r.target.WaitIdle(tc.fault.Delay + 10*timeout); err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(tc.fault.Delay + 200*time.Millisecond)
			}
			first := fmt.Sprintf("%d faults injected; faulted apply: %d of %d objects not done", r.faults.injected.Load(), failedResults(rep), resultCount(rep))
			if err != nil {
				first += " (" + firstLine(err.Error()) + ")"
			}
			_, rep2, err2 := r.sync(context.Background())
			raw := r.snapshot()
			got := canonical(raw)
			dups := duplicates(raw)
			diff := diffCanonical(got, want)
			plan3, err3 := r.syncer.Preview(context.Background(), serverPreviewAll, nil)
			converged := err3 == nil && len(plan3.Actions) == 0
			happened := fmt.Sprintf("%s; clean run: %d failed; NetBox %d objects, %d duplicates; ", first, failedResults(rep2), objectCount(got), dups)
			switch {
			case err2 != nil:
				happened += "clean run error: " + firstLine(err2.Error())
			case diff != "":
				happened += "differs from fault-free run: " + diff
			case !converged:
				happened += fmt.Sprintf("equal to fault-free run, but a further run plans %d actions", actionCount(plan3))
			default:
				happened += "equal to fault-free run, next run plans nothing"
			}
			pass := r.faults.injected.Load() > 0 && err2 == nil && failedResults(rep2) == 0 && diff == "" && dups == 0 && converged
			m.check(t, group, tc.name+", then a clean run", "NetBox equals a fault-free run: nothing lost, no duplicates; converged", happened, pass)
		})
	}
}

// setDiff is a minus b as multisets.
func setDiff(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	var out []string
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
