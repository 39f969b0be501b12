package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// canonical turns a simulator snapshot into something two servers can be compared by:
// no ids, urls or timestamps (references shown by their display), the ownership record
// without last_seen and without its written ids.
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
				case k == "id", k == "url", k == "display_url", strings.HasSuffix(k, "_id"), k == "last_seen", k == "written":
					continue
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

func TestFaultInTheMiddleThenCleanRunEqualsCleanRun(t *testing.T) {
	for _, prof := range testnetbox.Profiles() {
		t.Run(testnetbox.ProfileName(prof), func(t *testing.T) { testFaultThenCleanRun(t, prof) })
	}
}

func testFaultThenCleanRun(t *testing.T, prof netboxtest.Profile) {
	clean := newLab(t, Config{}, testnetbox.WithProfile(prof))
	clean.sync(homelab(), nil)
	want := canonical(clean.srv.Snapshot())
	if len(want["ipam/ip-addresses"]) != 5 || !strings.Contains(strings.Join(want["ipam/ip-addresses"], ""), "192.168.1.101/24") {
		t.Fatalf("canonical snapshot lacks the IPs: %v", want["ipam/ip-addresses"])
	}
	clean.close()

	cases := []struct {
		name  string
		fault func(cancel func()) netboxtest.FaultFunc
	}{
		{"500 on IP create", func(func()) netboxtest.FaultFunc {
			return netboxtest.FailNth("POST", "/api/ipam/ip-addresses/", 1, netboxtest.Fault{Kind: netboxtest.FaultServerError})
		}},
		{"connection dropped after the VMs were written", func(func()) netboxtest.FaultFunc {
			return netboxtest.FailNth("POST", "/api/virtualization/virtual-machines/", 1, netboxtest.Fault{Kind: netboxtest.FaultDrop, AfterApply: true})
		}},
		{"connection dropped after the MACs were written", func(func()) netboxtest.FaultFunc {
			return netboxtest.FailNth("POST", "/api/dcim/mac-addresses/", 1, netboxtest.Fault{Kind: netboxtest.FaultDrop, AfterApply: true})
		}},
		{"process killed while writing interfaces", func(cancel func()) netboxtest.FaultFunc {
			return func(r *http.Request, n int) netboxtest.Fault {
				if r.Method == "POST" && strings.Contains(r.URL.Path, "interfaces") {
					cancel()
				}
				return netboxtest.Fault{}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var on atomic.Bool
			on.Store(true)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ff := tc.fault(cancel)
			l := newLab(t, Config{}, testnetbox.WithProfile(prof), testnetbox.WithFaults(func(r *http.Request, n int) netboxtest.Fault {
				if !on.Load() {
					return netboxtest.Fault{}
				}
				return ff(r, n)
			}))
			p := l.plan(homelab(), nil)
			rep, err := l.eng.Apply(ctx, p, nil)
			// NetBox finishes what an agent that gave up had sent; the next run starts after it
			if err := l.srv.WaitIdle(time.Minute); err != nil {
				t.Fatal(err)
			}
			injected := ctx.Err() != nil
			for _, r := range l.srv.Requests() {
				injected = injected || r.Fault != netboxtest.FaultNone
			}
			if !injected {
				t.Fatal("no fault was injected")
			}
			if err == nil {
				t.Logf("faulted apply: %+v", rep.Summary) // the client may recover by itself
			}
			if strings.Contains(tc.name, "killed") {
				// a killed agent leaves its lock behind: held by a process of this host that is gone
				l.client().Delete(context.Background(), epTags, lockIDs(l))
				l.client().Create(context.Background(), epTags, []Object{{"name": "netbox-agent-lock", "slug": "netbox-agent-lock",
					"description": fmt.Sprintf("netbox-agent apply lock: held by %s:%d until 2999-01-01T00:00:00Z", hostname(), 999999)}})
			}
			on.Store(false)
			l.sync(homelab(), nil)
			got := canonical(l.srv.Snapshot())
			if !reflect.DeepEqual(got, want) {
				for ep := range want {
					if !reflect.DeepEqual(got[ep], want[ep]) {
						t.Errorf("%s differs from a clean run:\n got  %d %v\n want %d %v", ep, len(got[ep]), got[ep], len(want[ep]), want[ep])
					}
				}
				for ep := range got {
					if _, ok := want[ep]; !ok {
						t.Errorf("%s: extra objects %v", ep, got[ep])
					}
				}
			}
			if p := l.plan(homelab(), nil); !p.Empty() {
				t.Errorf("not converged after the clean run:\n%s", planText(p))
			}
		})
	}
}

func lockIDs(l *lab) []int {
	var ids []int
	for _, o := range l.objects("extras/tags") {
		if o["slug"] == "netbox-agent-lock" {
			ids = append(ids, toInt(o["id"]))
		}
	}
	return ids
}

func hostname() string { h, _ := os.Hostname(); return h }
