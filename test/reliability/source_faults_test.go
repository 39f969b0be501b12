package reliability

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/sources/truenas/truenastest"
)

// sourceFault breaks one source of a rig; zero says the source then returns nothing at all
// (it answers, with empty lists).
type sourceFault struct {
	source, name string
	zero         bool
	apply        func(r *rig)
}

var truncatedCSV = inventoryCSV[:len(inventoryCSV)-25]

func sourceFaults() []sourceFault {
	return []sourceFault{
		{"pve", "down (connection refused)", false, func(r *rig) { r.pve.Close() }},
		{"pve", "slow: 3s per answer, timeout 1s", false, func(r *rig) { r.pve.AddFault(proxmoxtest.Fault{Delay: 3 * time.Second}) }},
		{"pve", "malformed JSON", false, func(r *rig) { r.pve.AddFault(proxmoxtest.Fault{Malformed: true}) }},
		{"pve", "truncated JSON", false, func(r *rig) { r.pve.AddFault(proxmoxtest.Fault{Truncated: true}) }},
		{"pve", "token loses every privilege (403)", false, func(r *rig) {
			r.pve.AddToken(proxmoxtest.Token{ID: proxmoxtest.DefaultTokenID, Secret: canaryProxmox, ACL: map[string][]string{}})
		}},
		{"pve", `/cluster/resources answers 200 {"data": null} (a broken answer, not an empty list)`, false, func(r *rig) {
			r.pve.AddFault(proxmoxtest.Fault{PathContains: "/cluster/resources", Status: 200})
		}},
		{"pve", "suddenly no guests (every VM and container gone from the cluster)", true, func(r *rig) {
			// the rig's lab: GenerateLab with the same spec gives the same guests
			for _, g := range proxmoxtest.GenerateLab(proxmoxtest.LabSpec{Nodes: 2, Guests: 12, Seed: 7}).Guests {
				r.pve.RemoveGuest(g.VMID)
			}
		}},
		{"pve", `per-node lists answer 200 {"data": null}`, true, func(r *rig) {
			r.pve.AddFault(proxmoxtest.Fault{PathContains: "/nodes", Status: 200})
		}},
		{"nas", "down (connection refused)", false, func(r *rig) { r.nas.Close() }},
		{"nas", "slow: 3s per answer, timeout 1s", false, func(r *rig) { r.nas.SetLatency(3 * time.Second) }},
		{"nas", "malformed JSON", false, func(r *rig) { r.nas.Fail("*", truenastest.Fault{Malformed: true}) }},
		{"nas", "truncated JSON", false, func(r *rig) { r.nas.Fail("*", truenastest.Fault{Truncate: true}) }},
		{"ha", "down (connection refused)", false, func(r *rig) { r.ha.Close() }},
		{"ha", "slow: 3s per answer, timeout 1s", false, func(r *rig) { r.ha.SetLatency(3 * time.Second) }},
		{"ha", "malformed JSON (device registry)", false, func(r *rig) {
			r.ha.SetFault("config/device_registry/list", homeassistanttest.Fault{Body: `{"id": 1, "type": "result", "success": tru`})
		}},
		{"ha", "truncated JSON (device registry)", false, func(r *rig) {
			r.ha.SetFault("config/device_registry/list", homeassistanttest.Fault{Truncate: true})
		}},
		{"ha", "suddenly nothing (empty registries and states)", true, func(r *rig) { r.ha.Load(homeassistanttest.Dataset{}) }},
		{"inv", "file gone", false, func(r *rig) { must(r.t, os.Remove(r.invFile)) }},
		{"inv", "binary junk instead of CSV", false, func(r *rig) { r.writeInventory("\x00\x01\xff\xfe garbage \x00\n\x89PNG\r\n") }},
		{"inv", "truncated CSV", false, func(r *rig) { r.writeInventory(truncatedCSV) }},
		{"inv", "suddenly nothing (header only)", true, func(r *rig) { r.writeInventory("name,ip,mac,serial,role\n") }},
	}
}

// sourceFaultRows: one source fails in some way while the others keep working; their new
// work must land, and the failed source must orphan nothing.
func sourceFaultRows(t *testing.T, m *matrix) {
	const group = "Source faults"
	t.Run("binary", func(t *testing.T) { sourceBinaryRows(t, m) })
	for _, f := range sourceFaults() {
		t.Run(f.source+" "+f.name, func(t *testing.T) {
			r := newRig(t, rigOptions{sourceTimeout: time.Second})
			r.cleanSync()
			// new work from another source, which must land despite the fault
			newVM, newHost := "", ""
			if f.source == "pve" {
				newHost = "192.168.1.77"
				r.writeInventory(inventoryCSV + "scanner," + newHost + ",00:1b:a9:00:00:77,SCN-0077,printer\n")
			} else {
				newVM = "reliability-new-vm"
				r.pve.AddGuest(proxmoxtest.Guest{Type: "qemu", VMID: 990, Node: "pve1", Name: newVM, Status: "running", Cores: 1, Sockets: 1, MemoryMB: 512})
			}
			f.apply(r)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			plan, rep, err := r.sync(ctx)
			took := time.Since(start).Round(100 * time.Millisecond)
			if err != nil {
				m.check(t, group, f.source+": "+f.name, "others' work lands; failed source orphans nothing", "sync failed: "+firstLine(err.Error()), false)
				return
			}
			orphaning := 0
			for _, a := range plan.Actions {
				if a.Op == server.OpStale || a.Op == server.OpDelete {
					orphaning++
				}
			}
			failed := slices.ContainsFunc(plan.SourceErrors, func(e server.SourceError) bool { return e.Source == f.source })
			suspicious := slices.ContainsFunc(plan.Notes, func(n server.Note) bool {
				return strings.Contains(n.Object, f.source) && strings.Contains(n.Reason, "suspicious")
			})
			landed := true
			if newVM != "" {
				landed = r.nb.Objects("/api/virtualization/virtual-machines/") != nil && hasNamed(r.nb.Objects("/api/virtualization/virtual-machines/"), newVM)
			} else {
				landed = hasAddress(r.nb.Objects("/api/ipam/ip-addresses/"), newHost)
			}
			var reported string
			switch {
			case failed:
				i := slices.IndexFunc(plan.SourceErrors, func(e server.SourceError) bool { return e.Source == f.source })
				reported = "source error: " + firstLine(plan.SourceErrors[i].Error)
			case suspicious:
				i := slices.IndexFunc(plan.Notes, func(n server.Note) bool {
					return strings.Contains(n.Object, f.source) && strings.Contains(n.Reason, "suspicious")
				})
				reported, _, _ = strings.Cut(plan.Notes[i].Reason, ";")
				reported = "plan note: " + reported
			default:
				reported = "not reported"
			}
			happened := fmt.Sprintf("%s; %d stale/delete actions; others' new work landed: %v; %d objects failed; took %s",
				reported, orphaning, landed, failedResults(rep), took)
			want := "reported as failed; orphans nothing; other sources' new work lands"
			ok := failed
			if f.zero {
				want = "reported as suspicious (not failed); orphans nothing; other sources' new work lands"
				ok = suspicious && !failed
			} else if f.name == "truncated CSV" {
				// the cut line is an item the source could not read: a warning naming file:line;
				// the intact rows sync. (The engine cannot tell a skipped row from a deleted one:
				// the cut row's object may be marked stale, never deleted.)
				cut := slices.ContainsFunc(plan.Warnings, func(w server.SourceWarning) bool { return strings.HasSuffix(w.Item, "hosts.csv:3") })
				deletes := 0
				for _, a := range plan.Actions {
					if a.Op == server.OpDelete {
						deletes++
					}
				}
				happened = fmt.Sprintf("warning for hosts.csv:3: %v; %d stale marks, %d deletes; others' new work landed: %v; %d objects failed",
					cut, orphaning, deletes, landed, failedResults(rep))
				m.check(t, group, f.source+": "+f.name, "the cut line reported with file:line, the intact rows sync, nothing deleted (at most the cut row marked stale)",
					happened, cut && deletes == 0 && orphaning <= 1 && landed && failedResults(rep) == 0 && hasAddress(r.nb.Objects("/api/ipam/ip-addresses/"), "192.168.1.30"))
				return
			} else if f.source == "inv" {
				// a file that parses to nothing is the sudden-zero case; both are fine
				want = "reported (failed, or suspicious when it parses to nothing); orphans nothing; others' work lands"
				ok = failed || suspicious
			}
			m.check(t, group, f.source+": "+f.name, want, happened, ok && orphaning == 0 && landed && failedResults(rep) == 0)
		})
	}
}

func hasNamed(objs []map[string]any, name string) bool {
	return slices.ContainsFunc(objs, func(o map[string]any) bool { return o["name"] == name })
}

func hasAddress(objs []map[string]any, ip string) bool {
	return slices.ContainsFunc(objs, func(o map[string]any) bool {
		a, _ := o["address"].(string)
		return strings.HasPrefix(a, ip+"/")
	})
}
