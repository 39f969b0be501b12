package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// closedPort returns a loopback address nothing listens on: a source there fails fast.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func inventoryConfig(t *testing.T, nb *testnetbox.Target, extra string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	csv, err := os.ReadFile("../../testdata/inventory/hosts.csv")
	if err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(dir, "hosts.csv")
	if err := os.WriteFile(inv, csv, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`log: {level: warn}
netbox:
  url: %s
state_dir: %s
sources:
  inventory:
    - name: inventory
      files: [{path: %s, format: csv}]
%s`, nb.URL, filepath.Join(dir, "state"), inv, extra)
	return writeFile(t, "agent.yaml", cfg), map[string]string{"NETBOX_TOKEN": nb.Token}
}

// writes counts the simulator's write requests (the lab's NetBox is always the simulator).
func writes(nb *netboxtest.Server) int {
	n := 0
	for _, r := range nb.Requests() {
		if r.Method != "GET" {
			n++
		}
	}
	return n
}

// devices counts NetBox's devices through the API, in both tiers (internal/testnetbox).
func devices(nb *testnetbox.Target) int { return len(nb.Objects("dcim/devices")) }

func TestRunOnceCreatesThenFindsNothingToDo(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")

	code, out, errOut := runCLI(t, env, "--config", cfg, "--run-once")
	if code != exitOK {
		t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "+ pve1") || !strings.Contains(out, "Applied plan") {
		t.Fatalf("first run did not show the creates:\n%s", out)
	}
	created := devices(nb)
	if created < 3 {
		t.Fatalf("%d devices created, want at least pve1, truenas, sw-core", created)
	}

	nb.ResetLog()
	code, out, errOut = runCLI(t, env, "--config", cfg, "--run-once", "--output", "json")
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--output json is not one JSON report: %v\n%s", err, out)
	}
	if rep.Plan == nil || rep.Plan.Summary.Create+rep.Plan.Summary.Update+rep.Plan.Summary.Delete != 0 {
		t.Fatalf("second run planned changes: %+v", rep.Plan)
	}
	if w := nb.Writes(); w != 0 {
		t.Fatalf("second run sent %d write requests, want 0", w)
	}
	if devices(nb) != created {
		t.Fatal("second run changed the device count")
	}
}

func TestRunOnceFailingSourceExitsTwoAndKeepsTheRest(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, fmt.Sprintf(`  proxmox:
    - name: pve-down
      url: https://%s
      token_id: agent@pve!sync
      token_secret: %s
`, closedPort(t), canary))
	code, out, errOut := runCLI(t, env, "--config", cfg, "--run-once")
	if code != exitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitPartial, out, errOut)
	}
	if !strings.Contains(out, "pve-down") {
		t.Errorf("the failed source is not named in the output:\n%s", out)
	}
	if devices(nb) < 3 {
		t.Error("the inventory's devices were not written although only proxmox failed")
	}
	if strings.Contains(out+errOut, canary) {
		t.Fatal("a secret appeared in the output")
	}
}

func TestRunOnceDryRunWritesNothingAndSavesThePlan(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	planFile := filepath.Join(t.TempDir(), "plan.json")
	code, out, errOut := runCLI(t, env, "--config", cfg, "--run-once", "--dry-run", "--plan-out", planFile)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if w := nb.Writes(); w != 0 {
		t.Fatalf("--dry-run sent %d writes", w)
	}
	code, out, errOut = runCLI(t, env, "--config", cfg, "--apply-plan", planFile)
	if code != exitOK {
		t.Fatalf("--apply-plan: exit %d\n%s\n%s", code, out, errOut)
	}
	if devices(nb) < 3 {
		t.Fatal("--apply-plan created nothing")
	}
	// The same plan again: every object it creates exists now; nothing is duplicated.
	before := devices(nb)
	code, _, _ = runCLI(t, env, "--config", cfg, "--apply-plan", planFile)
	if devices(nb) != before {
		t.Fatalf("applying a plan twice duplicated devices (exit %d)", code)
	}
}

func TestRunOnceNetBoxDownExitsOne(t *testing.T) {
	nb := testnetbox.New(t)
	cfg, env := inventoryConfig(t, nb, "")
	nb.Close()
	code, out, errOut := runCLI(t, env, "--config", cfg, "--run-once")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailure, out, errOut)
	}
	if !strings.Contains(out, "plan:") {
		t.Errorf("the failure is not explained:\n%s", out)
	}
}

// TestRunOnceReportsSkippedInputs: a lease file last written long ago gives no hosts, and
// the run report and the log say why, one line per source and reason.
func TestRunOnceReportsSkippedInputs(t *testing.T) {
	nb := netboxtest.NewTestServer(t)
	dir := t.TempDir()
	leases := filepath.Join(dir, "dnsmasq.leases")
	// expiry 1700000000 is November 2023: long gone
	if err := os.WriteFile(leases, []byte("1700000000 bc:24:11:2e:c5:4a 192.0.2.50 old-vm *\n1700000000 bc:24:11:2e:c5:4b 192.0.2.51 old-tv *\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "agent.yaml", fmt.Sprintf(`log: {level: info}
netbox:
  url: %s
state_dir: %s
sources:
  inventory:
    - name: leases
      files: [{path: %s, format: dnsmasq}]
`, nb.URL, filepath.Join(dir, "state"), leases))
	code, out, errOut := runCLI(t, map[string]string{"NETBOX_TOKEN": nb.Token()}, "--config", cfg, "--run-once", "--dry-run", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var rep runReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON report: %v\n%s", err, out)
	}
	if len(rep.Sources) != 1 || len(rep.Sources[0].Skipped) != 1 || rep.Sources[0].Skipped[0].Reason != "expired lease" || rep.Sources[0].Skipped[0].Count != 2 {
		t.Fatalf("sources = %+v, want 2 expired leases skipped", rep.Sources)
	}
	if !strings.Contains(errOut, "source skipped inputs") || !strings.Contains(errOut, "expired lease") {
		t.Errorf("the log has no summary line for the expired leases:\n%s", errOut)
	}
}
