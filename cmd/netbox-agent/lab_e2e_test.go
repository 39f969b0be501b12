package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/test/lab"
)

func startLab(t *testing.T) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.Context(), lab.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func names(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		if n, ok := o["name"].(string); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// The README's main job end to end: the lab's homelab lands in NetBox, merged, and a second
// run writes nothing.
func TestRunOnceAgainstTheLab(t *testing.T) {
	l := startLab(t)
	exp := l.Expected()
	nb := l.NetBox()

	code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once")
	if code != exitOK {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	devices := nb.Objects("/api/dcim/devices/")
	gotDevices := names(devices)
	for _, want := range exp.Devices {
		if !slices.Contains(gotDevices, want) {
			t.Errorf("device %q missing; NetBox has %v", want, gotDevices)
		}
	}
	if len(gotDevices) != len(exp.Devices) {
		t.Errorf("%d devices, want %d (duplicates or extras): %v", len(gotDevices), len(exp.Devices), gotDevices)
	}
	gotVMs := names(nb.Objects("/api/virtualization/virtual-machines/"))
	if !slices.Equal(gotVMs, exp.VMs) {
		t.Errorf("virtual machines %v, want %v", gotVMs, exp.VMs)
	}
	// Machines several sources see are one object whose ownership record names every source.
	all := append(devices, nb.Objects("/api/virtualization/virtual-machines/")...)
	for name, srcs := range exp.Merged {
		i := slices.IndexFunc(all, func(o map[string]any) bool { return o["name"] == name })
		if i < 0 {
			t.Errorf("merged entity %q not in NetBox", name)
			continue
		}
		rec, _ := json.Marshal(all[i]["custom_fields"])
		for _, s := range srcs {
			if !strings.Contains(string(rec), `"`+s+`"`) {
				t.Errorf("%s: ownership record lacks source %q: %s", name, s, rec)
			}
		}
	}
	before := nb.Snapshot()

	nb.ResetLog()
	code, out, errOut = runCLI(t, nil, "--config", l.ConfigPath(), "--run-once")
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "Nothing to do") {
		t.Errorf("second run did not say there is nothing to do:\n%s", out)
	}
	if w := writes(nb); w != 0 {
		t.Fatalf("second run sent %d write requests", w)
	}
	if after := nb.Snapshot(); !equalJSON(before, after) {
		t.Fatal("second run changed NetBox")
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestRunOnceAgainstTheLabWithAFailingSource(t *testing.T) {
	l := startLab(t)
	if code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := l.FailSource(lab.HomeAssistantSource, true); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once", "--output", "json")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitPartial, out, errOut)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	failed := 0
	for _, s := range rep.Sources {
		if s.Status != "ok" {
			failed++
			if s.Name != lab.HomeAssistantSource {
				t.Errorf("source %s failed too: %s", s.Name, s.Error)
			}
		}
	}
	if failed != 1 || rep.ExitCode != exitPartial {
		t.Fatalf("report: %d failed sources, exit_code %d", failed, rep.ExitCode)
	}
	// What only Home Assistant saw is not marked stale: a failed source orphans nothing.
	if rep.Plan == nil || rep.Plan.Summary.Stale != 0 || rep.Plan.Summary.Delete != 0 {
		t.Fatalf("a failed source orphaned objects: %+v", rep.Plan)
	}
}

func TestRunOnceAgainstTheLabWithABadConfig(t *testing.T) {
	l := startLab(t)
	data, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	bad := writeFile(t, "agent.yaml", strings.Replace(string(data), "netbox:", "netbox:\n  batch_size: lots", 1))
	code, out, errOut := runCLI(t, nil, "--config", bad, "--run-once")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailure, out, errOut)
	}
	if !strings.Contains(errOut, "netbox.batch_size") || l.NetBox().Count("/api/dcim/devices/") != 0 {
		t.Fatalf("bad config not reported precisely, or something was written:\n%s", errOut)
	}
}

// TestLabKeyOnlyFactsLand: the lab's machines known only by keys (an offline Proxmox node,
// a TV Home Assistant knows by a MAC connection, a printer whose address is a hosts-file
// line) land with their MAC and address on the interface docs/facts.md names; the expired
// lease and the Zigbee sensor are counted per source and reason in the run report.
func TestLabKeyOnlyFactsLand(t *testing.T) {
	l := startLab(t)
	exp := l.Expected()
	code, out, errOut := runCLI(t, nil, "--config", l.ConfigPath(), "--run-once", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if errs := l.CheckNetBox(); len(errs) > 0 {
		for _, err := range errs {
			t.Error(err)
		}
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON report: %v\n%s", err, out)
	}
	got := map[string]int{}
	for _, s := range rep.Sources {
		for _, sk := range s.Skipped {
			got[s.Name+"/"+sk.Reason] = sk.Count
		}
	}
	for k, n := range exp.Skipped {
		if got[k] != n {
			t.Errorf("skipped %s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
