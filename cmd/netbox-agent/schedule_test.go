package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The HTTP mode's schedule against the lab: a run at start applies the homelab; a change to
// the inventory file triggers a run that brings the new host in; /readyz stays ready.
func TestHTTPModeScheduleAndInventoryTrigger(t *testing.T) {
	l := startLab(t)
	data, err := os.ReadFile(l.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.Contains(text, "    - name: \"inventory\"\n") {
		t.Fatalf("the lab config changed shape; adjust this test:\n%s", text)
	}
	text = strings.Replace(text, "    - name: \"inventory\"\n", "    - name: \"inventory\"\n      watch: true\n      debounce: 100ms\n", 1)
	text += "\nschedule:\n  enabled: true\n  interval: 1h\n  run_at_start: true\n  apply: true\n  debounce: 100ms\n"
	cfg := writeFile(t, "agent.yaml", text)

	addr := closedPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb watchWriter
	errb.seen = make(chan struct{})
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--http", addr}, strings.NewReader(""), io.Discard, &errb, nil)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("server did not stop")
		}
	}()
	nb := l.NetBox()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, errb.bytes())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	exp := l.Expected()
	waitFor("the start run to apply the homelab", func() bool { return nb.Count("/api/dcim/devices/") >= len(exp.Devices) })

	f, err := os.OpenFile(l.InventoryPath(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("backup-nas,192.0.2.77,3C:EC:EF:5A:00:77,BKP0077,Homelab,nas,Synology,DS920+,device\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitFor("the inventory change to bring backup-nas in", func() bool {
		return slices.Contains(names(nb.Objects("/api/dcim/devices/")), "backup-nas")
	})
	if !strings.Contains(string(errb.bytes()), "inventory changed") {
		t.Errorf("the run was not reported as triggered by the inventory change:\n%s", errb.bytes())
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	// Exactly one object of that name: the trigger's run and any other never duplicate.
	n := 0
	for _, d := range names(nb.Objects("/api/dcim/devices/")) {
		if d == "backup-nas" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d devices named backup-nas", n)
	}
}
