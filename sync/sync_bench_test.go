package sync

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
	"github.com/netbox-agent/netbox-agent/sources"
)

// Benchmark settings of the issue: 2 ms per request + 0.1 ms per object, 4 workers.
const (
	benchPerRequest = 2 * time.Millisecond
	benchPerObject  = 100 * time.Microsecond
	benchWorkers    = 4
)

// TestBenchSimulatorProcess is not a test: BenchmarkSync re-runs the test binary with
// SYNC_BENCH_SIMULATOR=1 to serve the NetBox simulator from a separate process, so that the
// agent's peak RSS is measured without the simulator's (its OpenAPI spec alone is ~170 MB).
func TestBenchSimulatorProcess(t *testing.T) {
	if os.Getenv("SYNC_BENCH_SIMULATOR") != "1" {
		return // only a helper process
	}
	srv, err := netboxtest.Start(netboxtest.WithLatency(benchPerRequest, benchPerObject), netboxtest.WithWorkers(benchWorkers))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if path := os.Getenv("SYNC_BENCH_SIM_CPUPROFILE"); path != "" { // profile the simulator's side
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
		}
	}
	fmt.Printf("READY %s %s\n", srv.URL, srv.Token())
	io.Copy(io.Discard, os.Stdin) // until the benchmark closes our stdin
	srv.Close()
	pprof.StopCPUProfile() // a no-op unless profiling
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		fmt.Fprintf(os.Stderr, "simulator process: CPU %.2f s, peak RSS %d MiB\n",
			time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds(), ru.Maxrss>>10)
	}
}

func startSimulatorProcess(b *testing.B) (url, token string, pid int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchSimulatorProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SYNC_BENCH_SIMULATOR=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
			return f[1], f[2], cmd.Process.Pid
		}
	}
	b.Fatal("simulator process did not start")
	return "", "", 0
}

// syntheticEstate is vms VMs and devices devices, each with 2 interfaces (one with a MAC),
// 2 IPs and (VMs) 1 virtual disk.
func syntheticEstate(vms, devices int) []sources.Observation {
	addr := func(n int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 8)
	}
	mac := func(prefix byte, n int) sources.MAC {
		return sources.MAC(fmt.Sprintf("00:25:%02X:%02X:%02X:%02X", prefix, byte(n>>16), byte(n>>8), byte(n)))
	}
	var out []sources.Observation
	n := 0
	for i := range devices {
		n += 2
		out = append(out, sources.Observation{Source: "bench", Adapter: "proxmox", NativeID: fmt.Sprintf("node/%d", i),
			Kind: sources.KindDevice, Name: fmt.Sprintf("node-%04d", i), Keys: sources.Keys{Serial: fmt.Sprintf("SN%06d", i)},
			Facts: sources.Facts{Manufacturer: "Supermicro", Model: "SYS-1", Role: "hypervisor", Status: "active"},
			Interfaces: []sources.Interface{
				{Name: "eth0", MAC: mac(0x90, i), IPs: []netip.Prefix{addr(n)}},
				{Name: "eth1", IPs: []netip.Prefix{addr(n + 1)}}}})
	}
	for i := range vms {
		n += 2
		out = append(out, sources.Observation{Source: "bench", Adapter: "proxmox", NativeID: fmt.Sprintf("qemu/%d", i),
			Kind: sources.KindVM, Name: fmt.Sprintf("vm-%05d", i),
			Facts:  sources.Facts{Status: "active", VCPUs: 2, MemoryMB: 4096},
			Parent: &sources.Parent{Cluster: "bench", ClusterType: "Proxmox VE", Node: fmt.Sprintf("node-%04d", i%max(devices, 1))},
			Interfaces: []sources.Interface{
				{Name: "net0", MAC: mac(0x91, i), IPs: []netip.Prefix{addr(n)}},
				{Name: "net1", IPs: []netip.Prefix{addr(n + 1)}}},
			Disks: []sources.Disk{{Name: "scsi0", SizeMB: 32768}}})
	}
	return out
}

// cpuSeconds is the user + system CPU a process has used so far (pid 0: this one).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ, 100 on Linux
}

func peakRSSMiB(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkSync is the estate: 5,000 VMs and 500 devices (~38,000 objects) synced
// into a simulator in another process at 2 ms/request + 0.1 ms/object with 4 workers:
// first sync (plan + apply) and a no-change re-sync.
//
// By default the agent side runs with Go's default GC settings. SYNC_BENCH_MEMLIMIT=shipped
// sets the soft memory limit cmd/netbox-agent sets (192 MiB, unless GOMEMLIMIT is set); the
// limit in force is reported as memory-limit-MiB (0: none).
func BenchmarkSync(b *testing.B) {
	if os.Getenv("SYNC_BENCH_MEMLIMIT") == "shipped" && os.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(192 << 20))
	}
	memLimit := 0.0
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		memLimit = float64(l >> 20)
	}
	obs := syntheticEstate(5000, 500)
	for b.Loop() {
		url, token, simPID := startSimulatorProcess(b)
		var reqs, writes atomic.Int64
		c, err := netbox.New(netbox.Config{URL: url, Token: secret.New(token), BatchSize: 1000, RequestsPerSecond: -1}, nil,
			netbox.WithObserver(func(method, path string, status int, d time.Duration) {
				reqs.Add(1)
				if method != "GET" {
					writes.Add(1)
				}
			}))
		if err != nil {
			b.Fatal(err)
		}
		var logger *slog.Logger
		if os.Getenv("SYNC_BENCH_DEBUG") != "" {
			logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		eng := NewEngine(FromClient(c), Config{}, logger)
		ran := map[string]bool{"bench": true}
		ctx := context.Background()

		if path := os.Getenv("SYNC_BENCH_FIRST_CPUPROFILE"); path != "" { // the first sync alone
			if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
				defer f.Close()
			}
		}
		agentCPU0, simCPU0 := cpuSeconds(0), cpuSeconds(simPID)
		start := time.Now()
		mr := Merge(obs, DefaultMergeConfig())
		p, err := eng.Plan(ctx, mr.Entities, mr.Conflicts, ran)
		if err != nil {
			b.Fatal(err)
		}
		if logger != nil {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			logger.Debug("after first plan", "heap_inuse_MiB", ms.HeapInuse>>20, "rss_hwm_MiB", peakRSSMiB(b))
		}
		if path := os.Getenv("SYNC_BENCH_PLAN_HEAPPROFILE"); path != "" { // what the plan holds
			if f, err := os.Create(path); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		// sample the heap while apply runs: the peak between GCs is what drives RSS
		stopSampling, sampled := make(chan struct{}), make(chan struct{})
		var maxInuse uint64
		go func() {
			defer close(sampled)
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if path := os.Getenv("SYNC_BENCH_APPLY_HEAPPROFILE"); path != "" && ms.HeapInuse > maxInuse {
					if f, err := os.Create(path); err == nil { // the heap as of the GC before the highest sample
						_ = pprof.WriteHeapProfile(f)
						f.Close()
					}
				}
				maxInuse = max(maxInuse, ms.HeapInuse)
				select {
				case <-stopSampling:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		rep, err := eng.Apply(ctx, p, nil)
		close(stopSampling)
		<-sampled
		if err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		firstAgentCPU, firstSimCPU := cpuSeconds(0)-agentCPU0, cpuSeconds(simPID)-simCPU0
		if os.Getenv("SYNC_BENCH_FIRST_CPUPROFILE") != "" {
			pprof.StopCPUProfile()
		}
		if !rep.OK() {
			for _, r := range rep.Results {
				if r.Status != StatusDone {
					b.Fatalf("first sync: %s %s: %s %s", r.Op, r.Key, r.Status, r.Error)
				}
			}
		}
		firstReqs, firstWrites := reqs.Load(), writes.Load()
		firstRSS := peakRSSMiB(b)
		written := 0
		for _, a := range p.Actions {
			if a.Op == OpCreate {
				written++
			}
		}
		updates := len(p.Actions) - written
		p, rep, mr = nil, nil, MergeResult{} // a re-sync is a new run (--run-once) or a new preview
		runtime.GC()

		reqs.Store(0)
		writes.Store(0)
		start = time.Now()
		mr = Merge(obs, DefaultMergeConfig())
		p2, err := eng.Plan(ctx, mr.Entities, mr.Conflicts, ran)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Apply(ctx, p2, nil); err != nil {
			b.Fatal(err)
		}
		again := time.Since(start)
		if !p2.Empty() {
			b.Errorf("no-change re-sync planned %d actions", len(p2.Actions))
		}
		runtime.GC()
		objs := float64(written + updates)
		lower := time.Duration(objs * float64(benchPerObject) / benchWorkers)
		b.ReportMetric(first.Seconds(), "first-sync-s")
		b.ReportMetric(float64(firstReqs), "first-sync-requests")
		b.ReportMetric(float64(firstWrites), "first-sync-write-requests")
		b.ReportMetric(float64(written), "objects-created")
		b.ReportMetric(float64(updates), "objects-updated")
		b.ReportMetric(first.Seconds()/lower.Seconds(), "x-lower-bound")
		b.ReportMetric(objs/first.Seconds(), "objects/s")
		b.ReportMetric(again.Seconds(), "resync-s")
		b.ReportMetric(float64(reqs.Load()), "resync-requests")
		b.ReportMetric(float64(writes.Load()), "resync-writes")
		b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
		b.ReportMetric(firstRSS, "first-sync-peak-RSS-MiB")
		b.ReportMetric(float64(maxInuse>>20), "apply-max-heap-inuse-MiB")
		b.ReportMetric(memLimit, "memory-limit-MiB")
		// CPU the first sync took on each side: on a 2-core machine their sum over 2 is a floor
		// for its wall time whatever the simulator's modelled latency.
		b.ReportMetric(firstAgentCPU, "first-sync-agent-cpu-s")
		b.ReportMetric(firstSimCPU, "first-sync-simulator-cpu-s")
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			b.ReportMetric(cpu.Seconds(), "agent-cpu-s")
		}
		b.Logf("first sync %s (%d requests, %d writes; %d created + %d updated; lower bound %s), re-sync %s (%d requests, %d writes), peak RSS %.0f MiB",
			first.Round(time.Millisecond), firstReqs, firstWrites, written, updates, lower.Round(time.Millisecond),
			again.Round(time.Millisecond), reqs.Load(), writes.Load(), peakRSSMiB(b))
	}
}
