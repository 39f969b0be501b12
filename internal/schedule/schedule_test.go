package schedule

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func enabled(mod func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Enabled = true
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func at(d time.Duration) time.Time { return epoch.Add(d) }

func offsets(ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(epoch)
	}
	return out
}

// A slow runner and a storm of triggers from several goroutines, during runs and between them:
// never more than one run at a time, runs start only after the previous one ended, and the
// triggers are coalesced (a run per burst, not a run per trigger).
func TestNoOverlappingRuns(t *testing.T) {
	const runTime = 45 * time.Second
	cfg := enabled(func(c *Config) {
		c.Interval = time.Minute
		c.Sources = map[string]time.Duration{"pve": 90 * time.Second}
		c.FullSync = 5 * time.Minute
		c.RunAtStart = true
	})
	names := []string{"inventory", "pve", "truenas", "netscan"}
	h := newHarness(t, cfg, names, func(ctx context.Context, h *harness, r Run) Outcome {
		if err := h.sleep(ctx, runTime); err != nil {
			return Outcome{Err: err}
		}
		return Outcome{}
	})
	h.start()
	var triggers atomic.Int64
	burst := func() {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 10 {
					h.s.Trigger([]string{names[(g+i)%len(names)]}, ReasonInventoryChanged)
					triggers.Add(1)
				}
			})
		}
		wg.Wait()
	}
	idles := 0
	h.runFor(30*time.Minute, func(ev idleEvent) bool {
		idles++
		burst()
		return !ev.inRunner // a waiting loop wakes up and reports again
	})

	if got := h.maxConcurrent.Load(); got != 1 {
		t.Errorf("at most %d runs at once, want 1", got)
	}
	runs := h.recorded()
	for i := 1; i < len(runs); i++ {
		if gap := runs[i].at.Sub(runs[i-1].at); gap < runTime {
			t.Errorf("run %d started %s after run %d: it overlapped a %s run", i, gap, i-1, runTime)
		}
	}
	// 45s runs back to back from 0 to 30m: at most 41 (TestTriggersDuringRunCoalesced shows
	// that triggers during a run make one run, not one each).
	if len(runs) < 20 || len(runs) > 41 {
		t.Errorf("%d runs for %d triggers in 30m of 45s runs; want 20..41", len(runs), triggers.Load())
	}
	if triggers.Load() < 400 {
		t.Errorf("only %d triggers sent: the test did not exercise coalescing", triggers.Load())
	}
}

// Triggers that arrive while a run is in progress make exactly one run after it, at once
// (their debounce has passed by then).
func TestTriggersDuringRunCoalesced(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Hour
		c.Jitter = 0
		c.RunAtStart = true
	})
	h := newHarness(t, cfg, []string{"inventory", "pve"}, func(ctx context.Context, h *harness, r Run) Outcome {
		_ = h.sleep(ctx, 30*time.Second)
		return Outcome{}
	})
	h.start()
	first := true
	h.runFor(10*time.Minute, func(ev idleEvent) bool {
		if ev.inRunner && first {
			first = false
			for range 5 {
				h.s.Trigger([]string{"inventory"}, ReasonInventoryChanged)
			}
		}
		return false
	})
	runs := h.recorded()
	if len(runs) != 2 {
		t.Fatalf("runs: %+v; want the start run and one for the triggers", runs)
	}
	if r := runs[0]; r.Reason != ReasonStart || !r.Full || !slices.Equal(r.Sources, []string{"inventory", "pve"}) || !r.at.Equal(epoch) {
		t.Errorf("first run %+v; want start of every source at 0", r)
	}
	if r := runs[1]; r.Reason != ReasonInventoryChanged || r.Full || !slices.Equal(r.Sources, []string{"inventory"}) || !r.at.Equal(at(30*time.Second)) {
		t.Errorf("second run %+v at %s; want inventory changed, inventory only, at 30s", r, r.at.Sub(epoch))
	}
}

func TestPerSourceIntervals(t *testing.T) {
	tests := []struct {
		name           string
		jitter         float64
		minA, maxA     int
		minB, maxB     int
		exactA, exactB []time.Duration
	}{
		{name: "no jitter", jitter: 0, minA: 5, maxA: 5, minB: 2, maxB: 2,
			exactA: []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute},
			exactB: []time.Duration{2 * time.Minute, 4 * time.Minute}},
		{name: "10% jitter", jitter: 0.1, minA: 4, maxA: 5, minB: 2, maxB: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := enabled(func(c *Config) {
				c.Interval = time.Hour
				c.Sources = map[string]time.Duration{"a": time.Minute, "b": 2 * time.Minute}
				c.Jitter = tt.jitter
			})
			h := newHarness(t, cfg, []string{"a", "b", "c"}, nil)
			h.start()
			h.runFor(5*time.Minute, nil)
			a, b, c := h.runsOf("a"), h.runsOf("b"), h.runsOf("c")
			if len(a) < tt.minA || len(a) > tt.maxA {
				t.Errorf("a (1m) ran %d times at %v; want %d..%d", len(a), offsets(a), tt.minA, tt.maxA)
			}
			if len(b) < tt.minB || len(b) > tt.maxB {
				t.Errorf("b (2m) ran %d times at %v; want %d..%d", len(b), offsets(b), tt.minB, tt.maxB)
			}
			if len(c) != 0 {
				t.Errorf("c (1h) ran at %v within 5m", offsets(c))
			}
			if tt.exactA != nil && !slices.Equal(offsets(a), tt.exactA) {
				t.Errorf("a ran at %v; want %v", offsets(a), tt.exactA)
			}
			if tt.exactB != nil && !slices.Equal(offsets(b), tt.exactB) {
				t.Errorf("b ran at %v; want %v", offsets(b), tt.exactB)
			}
			for _, r := range h.recorded() {
				if r.Reason != ReasonInterval {
					t.Errorf("run %+v: reason %q, want interval", r.Run, r.Reason)
				}
			}
		})
	}
}

// The gaps between one source's runs stay within interval*(1±jitter), and do vary.
func TestJitterWithinBounds(t *testing.T) {
	const interval = time.Minute
	cfg := enabled(func(c *Config) {
		c.Interval = interval
		c.Jitter = 0.5
	})
	h := newHarness(t, cfg, []string{"a"}, nil)
	h.start()
	h.runFor(3*time.Hour, nil)
	runs := h.runsOf("a")
	if len(runs) < 150 {
		t.Fatalf("%d runs in 3h at 1m: want ~180", len(runs))
	}
	lo, hi := time.Duration(float64(interval)*0.5), time.Duration(float64(interval)*1.5)
	minGap, maxGap := time.Duration(1<<62), time.Duration(0)
	prev := epoch
	for _, r := range runs {
		gap := r.Sub(prev)
		prev = r
		if gap < lo || gap > hi {
			t.Errorf("gap %s outside [%s, %s]", gap, lo, hi)
		}
		minGap, maxGap = min(minGap, gap), max(maxGap, gap)
	}
	if minGap > 40*time.Second || maxGap < 80*time.Second {
		t.Errorf("gaps only between %s and %s: jitter 0.5 should spread them over 30s..90s", minGap, maxGap)
	}

	// And the draw itself, over many samples.
	s, err := New(enabled(func(c *Config) { c.Jitter = 0.1 }), nil, func(context.Context, Run) Outcome { return Outcome{} }, nil,
		WithRand(rand.New(rand.NewPCG(7, 7))))
	if err != nil {
		t.Fatal(err)
	}
	var below, above int
	for range 10000 {
		d := s.jittered(time.Hour)
		if d < 54*time.Minute || d > 66*time.Minute {
			t.Fatalf("jittered(1h) = %s, outside 54m..66m", d)
		}
		if d < 55*time.Minute {
			below++
		}
		if d > 65*time.Minute {
			above++
		}
	}
	if below < 500 || above < 500 {
		t.Errorf("%d draws below 55m and %d above 65m of 10000: not uniform over the range", below, above)
	}
}

// A failing source is tried again at its next interval, not sooner, and its status says why
// and how many times in a row; a success clears both.
func TestFailingSourceRetriedAtNextInterval(t *testing.T) {
	tests := []struct {
		name    string
		outcome func(r Run) Outcome
		okFails int // failures expected for the source that is fine
	}{
		{name: "per source", outcome: func(r Run) Outcome {
			return Outcome{Failed: map[string]error{"pve": errors.New("pve: dial tcp 127.0.0.1:8006: connection refused")}}
		}},
		{name: "whole run", okFails: 3, outcome: func(r Run) Outcome {
			return Outcome{Err: errors.New("netbox: dial tcp 127.0.0.1:8006: connection refused")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var healed atomic.Bool
			cfg := enabled(func(c *Config) {
				c.Interval = time.Minute
				c.Jitter = 0
			})
			h := newHarness(t, cfg, []string{"ok", "pve"}, func(ctx context.Context, h *harness, r Run) Outcome {
				if healed.Load() {
					return Outcome{}
				}
				return tt.outcome(r)
			})
			h.start()
			h.runFor(3*time.Minute+30*time.Second, nil)
			want := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}
			if got := offsets(h.runsOf("pve")); !slices.Equal(got, want) {
				t.Errorf("pve ran at %v; want %v (its interval, no quicker retries)", got, want)
			}
			st := h.status("pve")
			if st.ConsecutiveFailures != 3 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "connection refused") {
				t.Errorf("pve status %+v; want 3 failures and the error", st)
			}
			if !st.NextDue.Equal(at(4*time.Minute)) || !st.LastStart.Equal(at(3*time.Minute)) || st.Runs != 3 || st.Running {
				t.Errorf("pve status %+v; want last start 3m, next due 4m, 3 runs, not running", st)
			}
			if ok := h.status("ok"); ok.ConsecutiveFailures != tt.okFails || (tt.okFails == 0) != (ok.LastError == nil) {
				t.Errorf("ok status %+v; want %d failures", ok, tt.okFails)
			}

			healed.Store(true)
			h.runFor(time.Minute, nil)
			if st := h.status("pve"); st.ConsecutiveFailures != 0 || st.LastError != nil || st.Runs != 4 {
				t.Errorf("after a success: %+v; want no failures, no error, 4 runs", st)
			}
		})
	}
}

// Triggers close together make one run of the triggered source, once they have been quiet
// for the debounce period.
func TestTriggerDebounced(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Hour
		c.Debounce = 2 * time.Second
	})
	h := newHarness(t, cfg, []string{"inventory", "pve"}, nil)
	h.start()
	h.trigger([]string{"inventory"}, ReasonInventoryChanged)
	h.runFor(time.Second, nil)
	h.trigger([]string{"inventory"}, ReasonInventoryChanged)
	h.runFor(1500*time.Millisecond, nil)
	if runs := h.recorded(); len(runs) != 0 {
		t.Fatalf("ran before the triggers were quiet: %+v", runs)
	}
	h.trigger([]string{"inventory"}, ReasonInventoryChanged)
	h.runFor(10*time.Second, nil)
	runs := h.recorded()
	if len(runs) != 1 {
		t.Fatalf("runs %+v; want one", runs)
	}
	r := runs[0]
	if !slices.Equal(r.Sources, []string{"inventory"}) || r.Reason != ReasonInventoryChanged || r.Full {
		t.Errorf("run %+v; want inventory only, reason %q", r.Run, ReasonInventoryChanged)
	}
	if want := at(4500 * time.Millisecond); !r.at.Equal(want) {
		t.Errorf("run at %s; want 4.5s (last trigger at 2.5s + 2s debounce)", r.at.Sub(epoch))
	}
	if st := h.status("inventory"); st.Pending != "" || st.Runs != 1 {
		t.Errorf("inventory status %+v; want nothing pending, 1 run", st)
	}
}

// A file rewritten every second still gets synced: a run at most ten debounce periods after
// the first trigger.
func TestTriggerDebounceBounded(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Hour
		c.Debounce = 2 * time.Second
	})
	h := newHarness(t, cfg, []string{"inventory"}, nil)
	h.start()
	for range 31 {
		h.trigger(nil, ReasonInventoryChanged)
		h.runFor(time.Second, nil)
	}
	h.runFor(5*time.Second, nil)
	want := []time.Duration{20 * time.Second, 32 * time.Second}
	if got := offsets(h.runsOf("inventory")); !slices.Equal(got, want) {
		t.Errorf("runs at %v; want %v (capped at 10x debounce, then 2s after the last trigger)", got, want)
	}
}

func TestFullSyncRunsAll(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Hour
		c.Sources = map[string]time.Duration{"c": 4 * time.Minute}
		c.FullSync = 10 * time.Minute
		c.Jitter = 0
	})
	h := newHarness(t, cfg, []string{"a", "b", "c"}, nil)
	h.start()
	h.runFor(25*time.Minute, nil)
	type got struct {
		at      time.Duration
		sources string
		reason  string
		full    bool
	}
	var runs []got
	for _, r := range h.recorded() {
		runs = append(runs, got{r.at.Sub(epoch), strings.Join(r.Sources, ","), r.Reason, r.Full})
	}
	want := []got{
		{4 * time.Minute, "c", ReasonInterval, false},
		{8 * time.Minute, "c", ReasonInterval, false},
		{10 * time.Minute, "a,b,c", ReasonFullSync, true},
		{14 * time.Minute, "c", ReasonInterval, false},
		{18 * time.Minute, "c", ReasonInterval, false},
		{20 * time.Minute, "a,b,c", ReasonFullSync, true},
		{24 * time.Minute, "c", ReasonInterval, false},
	}
	if !slices.Equal(runs, want) {
		t.Errorf("runs:\n got %v\nwant %v", runs, want)
	}
}

func TestRunAtStart(t *testing.T) {
	cfg := enabled(func(c *Config) { c.RunAtStart = true })
	h := newHarness(t, cfg, []string{"b", "a"}, nil)
	h.start()
	h.runFor(time.Minute, nil)
	runs := h.recorded()
	if len(runs) != 1 || !runs[0].at.Equal(epoch) || runs[0].Reason != ReasonStart || !runs[0].Full ||
		!slices.Equal(runs[0].Sources, []string{"a", "b"}) {
		t.Errorf("runs %+v; want one start run of a and b at 0", runs)
	}
	// Without RunAtStart nothing runs before the first interval.
	h2 := newHarness(t, enabled(nil), []string{"a"}, nil)
	h2.start()
	h2.runFor(10*time.Minute, nil)
	if runs := h2.recorded(); len(runs) != 0 {
		t.Errorf("without run_at_start, runs in the first 10m: %+v", runs)
	}
}

// A runner that panics fails its run; the schedule goes on.
func TestRunnerPanicIsAFailure(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Minute
		c.Jitter = 0
	})
	h := newHarness(t, cfg, []string{"a"}, func(ctx context.Context, h *harness, r Run) Outcome { panic("boom") })
	h.start()
	h.runFor(2*time.Minute, nil)
	st := h.status("a")
	if st.Runs != 2 || st.ConsecutiveFailures != 2 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "panicked: boom") {
		t.Errorf("status %+v; want 2 failed runs with the panic", st)
	}
}

// Cancelling ctx cancels the run in progress through its context, and Run returns promptly,
// after the runner did.
func TestCancelStopsRun(t *testing.T) {
	entered := make(chan struct{})
	var runnerReturned atomic.Bool
	runner := func(ctx context.Context, r Run) Outcome {
		close(entered)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // cleaning up: Run must wait for this
		runnerReturned.Store(true)
		return Outcome{Err: ctx.Err()}
	}
	s, err := New(enabled(func(c *Config) { c.RunAtStart = true }), []string{"a"}, runner, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-entered:
	case <-time.After(2 * time.Second):
		t.Fatal("the start run never began")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v; want nil after cancel", err)
		}
		if !runnerReturned.Load() {
			t.Error("Run returned before the runner did")
		}
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of cancel")
	}
	if st := s.Status()[0]; st.ConsecutiveFailures != 0 || st.Running {
		t.Errorf("status after a cancelled run %+v; a shutdown is not the source's failure", st)
	}

	// Idle (waiting for a 15m interval): returns at once too.
	s2, _ := New(enabled(nil), []string{"a"}, runner, nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- s2.Run(ctx2) }()
	time.Sleep(20 * time.Millisecond)
	cancel2()
	select {
	case <-done2:
	case <-time.After(time.Second):
		t.Fatal("idle Run did not return within 1s of cancel")
	}
}

func TestRunTwiceAndDisabled(t *testing.T) {
	noop := func(context.Context, Run) Outcome { return Outcome{} }
	s, err := New(enabled(nil), []string{"a"}, noop, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.Lock()
		looping := s.looping
		s.mu.Unlock()
		if looping || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run: %v; want already running", err)
	}
	cancel()
	<-done

	// Disabled: Run returns at once, Trigger does nothing.
	var calls atomic.Int32
	off, err := New(DefaultConfig(), []string{"a"}, func(context.Context, Run) Outcome { calls.Add(1); return Outcome{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	off.Trigger(nil, "x")
	if err := off.Run(context.Background()); err != nil {
		t.Errorf("disabled Run: %v", err)
	}
	if calls.Load() != 0 || off.Status()[0].Pending != "" {
		t.Errorf("disabled scheduler ran %d times / queued a trigger", calls.Load())
	}
}

// The real clock, millisecond intervals: a smoke test of the timers themselves.
func TestRealClock(t *testing.T) {
	var concurrent, maxConcurrent atomic.Int32
	var mu sync.Mutex
	counts := map[string]int{}
	reasons := map[string]int{}
	runner := func(ctx context.Context, r Run) Outcome {
		n := concurrent.Add(1)
		defer concurrent.Add(-1)
		if n > maxConcurrent.Load() {
			maxConcurrent.Store(n)
		}
		mu.Lock()
		for _, s := range r.Sources {
			counts[s]++
		}
		reasons[r.Reason]++
		mu.Unlock()
		select {
		case <-time.After(3 * time.Millisecond):
		case <-ctx.Done():
		}
		return Outcome{}
	}
	cfg := enabled(func(c *Config) {
		c.Interval = time.Hour
		c.Sources = map[string]time.Duration{"a": 20 * time.Millisecond, "b": 50 * time.Millisecond}
		c.Debounce = 5 * time.Millisecond
	})
	s, err := New(cfg, []string{"a", "b", "inventory"}, runner, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	triggerDone := make(chan struct{})
	go func() {
		defer close(triggerDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.Trigger([]string{"inventory"}, ReasonInventoryChanged)
			}
		}
	}()
	start := time.Now()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	<-triggerDone
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("Run took %s to stop after a 400ms context", elapsed)
	}
	mu.Lock()
	defer mu.Unlock()
	if maxConcurrent.Load() != 1 {
		t.Errorf("max concurrent runs %d", maxConcurrent.Load())
	}
	// Generous floors: the machine is shared; the fake-clock tests check the exact counts.
	if counts["a"] < 5 || counts["b"] < 2 || counts["inventory"] < 2 || reasons[ReasonInventoryChanged] < 2 {
		t.Errorf("runs per source %v, reasons %v; want a>=5, b>=2, inventory>=2 (by trigger)", counts, reasons)
	}
	if counts["a"] < counts["b"] {
		t.Errorf("a (20ms) ran %d times, fewer than b (50ms) %d", counts["a"], counts["b"])
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{name: "defaults", mod: func(*Config) {}},
		{name: "negative source interval", mod: func(c *Config) { c.Sources = map[string]time.Duration{"pve": -5 * time.Minute} },
			want: []string{"sources.pve: -5m is not a positive interval"}},
		{name: "zero source interval", mod: func(c *Config) { c.Sources = map[string]time.Duration{"pve": 0} },
			want: []string{"sources.pve: 0s is not a positive interval"}},
		{name: "jitter too large", mod: func(c *Config) { c.Jitter = 0.9 }, want: []string{"jitter: 0.9 is not between 0 and 0.5"}},
		{name: "negative jitter", mod: func(c *Config) { c.Jitter = -0.1 }, want: []string{"jitter: -0.1 is not between 0 and 0.5"}},
		{name: "everything wrong", mod: func(c *Config) {
			c.Interval = -time.Hour
			c.FullSync = -90 * time.Minute
			c.Debounce = -time.Second
			c.Sources = map[string]time.Duration{"b": -time.Second, "a": -time.Second}
		}, want: []string{
			"interval: -1h is not a positive interval",
			"sources.a: -1s is not a positive interval",
			"sources.b: -1s is not a positive interval",
			"full_sync: -1h30m is negative (0 turns full syncs off)",
			"debounce: -1s is negative",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.mod(&cfg)
			var got []string
			for _, err := range cfg.Validate() {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}

	var zero Config
	zero.SetDefaults()
	if zero.Interval != DefaultInterval || zero.Debounce != DefaultDebounce || zero.Jitter != 0 || zero.Enabled {
		t.Errorf("SetDefaults on a zero Config: %+v", zero)
	}
	if errs := zero.Validate(); len(errs) != 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
}

func TestNewChecksSourceNames(t *testing.T) {
	noop := func(context.Context, Run) Outcome { return Outcome{} }
	cfg := enabled(func(c *Config) { c.Sources = map[string]time.Duration{"pve": time.Minute, "pbs": time.Minute} })
	_, err := New(cfg, []string{"pve", "inventory"}, noop, nil)
	if err == nil || err.Error() != `sources.pbs: no source named "pbs" (configured: inventory, pve)` {
		t.Errorf("New: %v", err)
	}
	cfg.Jitter = 2
	_, err = New(cfg, []string{"pve", "inventory"}, noop, nil)
	if err == nil || !strings.Contains(err.Error(), "jitter: 2 is not between") || !strings.Contains(err.Error(), "sources.pbs") {
		t.Errorf("New should report every problem: %v", err)
	}
	if _, err := New(enabled(nil), []string{"a"}, nil, nil); err == nil {
		t.Error("New without a runner: no error")
	}
	s, err := New(enabled(func(c *Config) { c.Sources = map[string]time.Duration{"pve": time.Minute} }),
		[]string{"pve", "inventory", "pve"}, noop, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if len(st) != 2 || st[0].Source != "inventory" || st[0].Interval != DefaultInterval || st[1].Source != "pve" || st[1].Interval != time.Minute {
		t.Errorf("status %+v; want inventory (15m) and pve (1m), once each", st)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Minute: "5m", -5 * time.Minute: "-5m", time.Hour: "1h", 90 * time.Minute: "1h30m",
		90 * time.Second: "1m30s", 0: "0s", 1500 * time.Millisecond: "1.5s", 2*time.Hour + 5*time.Second: "2h0m5s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%d) = %q; want %q", d, got, want)
		}
	}
}

// A run longer than the interval: the next one is an interval after it ended, not right away.
func TestSlowRunNotBackToBack(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.Interval = time.Minute
		c.Jitter = 0
		c.RunAtStart = true
	})
	h := newHarness(t, cfg, []string{"a"}, func(ctx context.Context, h *harness, r Run) Outcome {
		_ = h.sleep(ctx, 90*time.Second)
		return Outcome{}
	})
	h.start()
	h.runFor(6*time.Minute, nil)
	want := []time.Duration{0, 150 * time.Second, 300 * time.Second}
	if got := offsets(h.runsOf("a")); !slices.Equal(got, want) {
		t.Errorf("runs at %v; want %v", got, want)
	}
}

// No sources at all: nothing runs, nothing spins (a full sync with nothing to run must not
// stay due), triggers are ignored.
func TestNoSources(t *testing.T) {
	cfg := enabled(func(c *Config) {
		c.FullSync = time.Minute
		c.RunAtStart = true
	})
	h := newHarness(t, cfg, nil, nil)
	h.start()
	// These queue nothing, so the waiting loop is not woken (h.trigger would expect a report).
	h.s.Trigger(nil, ReasonInventoryChanged)
	h.s.Trigger([]string{"ghost"}, ReasonInventoryChanged)
	h.runFor(time.Hour, nil)
	if runs := h.recorded(); len(runs) != 0 {
		t.Errorf("runs with no sources: %+v", runs)
	}
}
