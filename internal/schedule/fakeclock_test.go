package schedule

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock moves only when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *fakeClock
	when  time.Time
	ch    chan time.Time
	done  bool
}

var epoch = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, when: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.done = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// advanceTo moves the clock to to and fires every timer due by then.
func (c *fakeClock) advanceTo(to time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if to.After(c.now) {
		c.now = to
	}
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.when.After(c.now) {
			t.done = true
			t.ch <- t.when
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
	return true
}

// harness runs a Scheduler on a fake clock. Whoever waits on the clock (the scheduler's loop,
// or a runner sleeping with h.sleep) first reports on h.idle when it will wake; only one of
// them runs at a time (runs are synchronous), so each report means "everything is waiting",
// and the harness can move the clock straight to the next wake-up.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	s      *Scheduler
	idle   chan idleEvent
	stop   chan struct{}
	cancel context.CancelFunc
	done   chan error

	// pending: the last idle report, when runFor stopped before its wake-up (the waiter is
	// still waiting, and will not report again until something moves it).
	pending *idleEvent

	mu   sync.Mutex
	runs []recordedRun

	concurrent, maxConcurrent atomic.Int32
}

type idleEvent struct {
	wake     time.Time // zero: nothing scheduled
	inRunner bool
}

type recordedRun struct {
	Run
	at time.Time
}

// runnerFunc is the test's runner; it may call h.sleep.
type runnerFunc func(ctx context.Context, h *harness, r Run) Outcome

func newHarness(t *testing.T, cfg Config, names []string, runner runnerFunc) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), idle: make(chan idleEvent), stop: make(chan struct{})}
	run := func(ctx context.Context, r Run) Outcome {
		n := h.concurrent.Add(1)
		defer h.concurrent.Add(-1)
		for {
			m := h.maxConcurrent.Load()
			if n <= m || h.maxConcurrent.CompareAndSwap(m, n) {
				break
			}
		}
		h.mu.Lock()
		h.runs = append(h.runs, recordedRun{Run: r, at: h.clock.Now()})
		h.mu.Unlock()
		if runner == nil {
			return Outcome{}
		}
		return runner(ctx, h, r)
	}
	s, err := New(cfg, names, run, slog.New(slog.DiscardHandler),
		WithClock(h.clock), WithRand(rand.New(rand.NewPCG(1, 2))),
		withIdleHook(func(wake time.Time) { h.report(idleEvent{wake: wake}) }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.s = s
	return h
}

func (h *harness) report(ev idleEvent) {
	select {
	case h.idle <- ev:
	case <-h.stop:
	}
}

// start runs the scheduler in the background; the test's cleanup stops it.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.s.Run(ctx) }()
	h.t.Cleanup(func() {
		close(h.stop)
		cancel()
		select {
		case <-h.done:
		case <-time.After(5 * time.Second):
			h.t.Error("Run did not return after cancel")
		}
	})
	// Wait for the first report: from here on, every Trigger finds the loop waiting.
	ev := h.waitIdle()
	h.pending = &ev
}

// sleep is a runner's pause on the fake clock.
func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	timer := h.clock.NewTimer(d)
	defer timer.Stop()
	h.report(idleEvent{wake: h.clock.Now().Add(d), inRunner: true})
	select {
	case <-timer.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitIdle returns the next idle report, failing the test when none comes (a real-time bound:
// a scheduler that hangs fails instead of hanging the test).
func (h *harness) waitIdle() idleEvent {
	h.t.Helper()
	if ev := h.pending; ev != nil {
		h.pending = nil
		return *ev
	}
	select {
	case ev := <-h.idle:
		return ev
	case err := <-h.done:
		h.t.Fatalf("Run returned early: %v", err)
	case <-time.After(5 * time.Second):
		h.t.Fatal("the scheduler never became idle")
	}
	return idleEvent{}
}

// runFor drives the fake clock for d from now, jumping from wake-up to wake-up. onIdle (may be
// nil) sees each idle report first; it returns true when it woke the loop itself (a Trigger
// while the loop waits), so the clock must not move before the next report.
func (h *harness) runFor(d time.Duration, onIdle func(ev idleEvent) (wokeLoop bool)) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for steps := 0; ; steps++ {
		if steps > 100000 {
			h.t.Fatal("too many steps: the scheduler is spinning")
		}
		ev := h.waitIdle()
		if onIdle != nil && onIdle(ev) {
			continue
		}
		if ev.wake.IsZero() || ev.wake.After(end) {
			h.clock.advanceTo(end)
			h.pending = &ev
			return
		}
		h.clock.advanceTo(ev.wake)
	}
}

// trigger calls Trigger between runFor calls. A waiting loop wakes up and reports again, so
// its saved report is stale; a sleeping runner's is not.
func (h *harness) trigger(sources []string, reason string) {
	h.s.Trigger(sources, reason)
	if h.pending != nil && !h.pending.inRunner {
		h.pending = nil
	}
}

func (h *harness) recorded() []recordedRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.runs)
}

// runsOf: the times of the runs that included source.
func (h *harness) runsOf(source string) []time.Time {
	var out []time.Time
	for _, r := range h.recorded() {
		if slices.Contains(r.Sources, source) {
			out = append(out, r.at)
		}
	}
	return out
}

func (h *harness) status(source string) SourceStatus {
	h.t.Helper()
	for _, st := range h.s.Status() {
		if st.Source == source {
			return st
		}
	}
	h.t.Fatalf("no status for %s", source)
	return SourceStatus{}
}
