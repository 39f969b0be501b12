package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/lab"
	"github.com/netbox-agent/netbox-agent/internal/testnetbox"
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
	runOnce := func(label string) time.Duration {
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
		fmt.Printf("lab vms=%d %s %s: %.2f s, %d requests %v, %d writes\n", vms, nb.Name(), label, d.Seconds(), len(reqs), byMethod, nb.Writes())
		return d
	}
	b.ResetTimer()
	first := runOnce("first sync")
	second := runOnce("re-sync")
	b.StopTimer()
	if w := nb.Writes(); w != 0 {
		b.Errorf("no-change re-sync made %d writes", w)
	}
	b.ReportMetric(first.Seconds(), "first-s")
	b.ReportMetric(second.Seconds(), "resync-s")
	b.ReportMetric(0, "ns/op")
}
