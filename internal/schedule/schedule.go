package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Reasons a run starts, in Run.Reason. A trigger's reason is whatever the caller gave
// (ReasonInventoryChanged for an inventory file).
const (
	ReasonStart            = "start"
	ReasonFullSync         = "full sync"
	ReasonInterval         = "interval"
	ReasonInventoryChanged = "inventory changed"
	reasonTrigger          = "trigger" // a Trigger that gave no reason
)

// Run is one run the scheduler asks for.
type Run struct {
	// Sources: instance names, sorted.
	Sources []string
	// Reason: why it started; when several things fell due together, the first of: start,
	// full sync, the first pending trigger's reason, interval.
	Reason string
	// Full: the run covers every source (a full sync, the start run, or all fell due together).
	Full bool
}

// Outcome is what a run reports back.
type Outcome struct {
	// Failed: per source that failed, why. Sources not listed succeeded.
	Failed map[string]error
	// Err: the run as a whole failed (e.g. NetBox unreachable): every source in it counts as
	// failed, unless Failed gives a more precise error for it.
	Err error
}

// Runner does one run. It must return soon after ctx is cancelled.
type Runner func(ctx context.Context, r Run) Outcome

// SourceStatus is what the scheduler knows about one source, for sync_status, /readyz and
// metrics.
type SourceStatus struct {
	Source   string
	Interval time.Duration
	// Running: the source is part of the run in progress.
	Running bool
	// Pending: the reason of a trigger waiting for its debounce (or for the run in progress).
	Pending string
	// LastStart and LastEnd: the last run that included the source (zero: none yet; LastEnd
	// before LastStart: running now).
	LastStart, LastEnd time.Time
	// LastError: why the last run failed for this source; nil after a success.
	LastError error
	// ConsecutiveFailures: failed runs in a row, 0 after a success.
	ConsecutiveFailures int
	// Runs: runs that included the source and finished.
	Runs int
	// NextDue: when its interval next falls due (zero before Run started).
	NextDue time.Time
}

// Option changes how New builds a Scheduler.
type Option func(*Scheduler)

// WithClock runs the scheduler on c (a fake clock in tests).
func WithClock(c Clock) Option { return func(s *Scheduler) { s.clock = c } }

// WithRand draws the jitter from r (deterministic in tests). The scheduler serialises its use.
func WithRand(r *rand.Rand) Option { return func(s *Scheduler) { s.rnd = r } }

// withIdleHook: tests learn when the loop is about to wait, and until when.
func withIdleHook(f func(wake time.Time)) Option { return func(s *Scheduler) { s.idle = f } }

// Scheduler decides when runs happen and makes sure only one happens at a time.
type Scheduler struct {
	cfg    Config
	runner Runner
	logger *slog.Logger
	clock  Clock
	idle   func(wake time.Time)
	// wake tells the loop a trigger arrived; a buffer of one makes Trigger never block.
	wake chan struct{}

	mu      sync.Mutex
	rnd     *rand.Rand
	names   []string // sorted
	sources map[string]*sourceState
	looping bool // a Run call is active
	begun   bool // the schedule has been laid out (first Run)
	// startPending: RunAtStart's run has not happened yet.
	startPending bool
	fullNext     time.Time // zero: full sync off
	// The window of the pending triggers (zero when none are pending).
	triggerFirst, triggerLast time.Time
	triggerReason             string
}

type sourceState struct {
	interval           time.Duration
	next               time.Time
	running            bool
	trigger            string // pending trigger's reason, "" when none
	lastStart, lastEnd time.Time
	lastErr            error
	failures, runs     int
}

// New checks cfg (defaults filled) against the configured source instance names and returns a
// Scheduler that does nothing until Run.
func New(cfg Config, sourceNames []string, run Runner, logger *slog.Logger, opts ...Option) (*Scheduler, error) {
	if run == nil {
		return nil, errors.New("schedule: no runner")
	}
	cfg.SetDefaults()
	errs := cfg.Validate()
	names := slices.Clone(sourceNames)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range sortedKeys(cfg.Sources) {
		if _, found := slices.BinarySearch(names, name); !found {
			errs = append(errs, fmt.Errorf("sources.%s: no source named %q (configured: %s)", name, name, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		cfg:     cfg,
		runner:  run,
		logger:  logger,
		clock:   RealClock(),
		wake:    make(chan struct{}, 1),
		names:   names,
		sources: make(map[string]*sourceState, len(names)),
	}
	for _, name := range names {
		s.sources[name] = &sourceState{interval: cfg.intervalOf(name)}
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.rnd == nil {
		s.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return s, nil
}

// Trigger asks for a run of the named sources (all of them when none are named), once the
// triggers stop arriving for the debounce period. Unknown names are logged and ignored. Safe
// from any goroutine; never waits for a run. A no-op when the schedule is disabled.
func (s *Scheduler) Trigger(sources []string, reason string) {
	if !s.cfg.Enabled {
		return
	}
	if reason == "" {
		reason = reasonTrigger
	}
	if len(sources) == 0 {
		sources = s.names
	}
	now := s.clock.Now()
	var unknown []string
	queued := false
	s.mu.Lock()
	for _, name := range sources {
		st, ok := s.sources[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if st.trigger == "" {
			st.trigger = reason
		}
		queued = true
	}
	if queued {
		if s.triggerFirst.IsZero() {
			s.triggerFirst, s.triggerReason = now, reason
		}
		s.triggerLast = now
	}
	s.mu.Unlock()
	if len(unknown) > 0 {
		s.logger.Warn("schedule: trigger names unknown sources; ignored", "sources", unknown, "reason", reason)
	}
	if queued {
		select {
		case s.wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// Run runs the schedule until ctx ends, then returns nil once the run in progress (whose
// context is ctx) has returned. It returns at once when the schedule is disabled, and an error
// when another Run call is active.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.cfg.Enabled {
		return nil
	}
	s.mu.Lock()
	if s.looping {
		s.mu.Unlock()
		return errors.New("schedule: Run is already running")
	}
	s.looping = true
	if !s.begun {
		s.begin(s.clock.Now())
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.looping = false
		s.mu.Unlock()
	}()

	for ctx.Err() == nil {
		select { // the state read below covers any trigger signalled so far
		case <-s.wake:
		default:
		}
		now := s.clock.Now()
		s.mu.Lock()
		run, wakeAt := s.next(now)
		s.mu.Unlock()
		if run != nil {
			s.execute(ctx, *run, now)
			continue
		}
		var timer Timer
		var fired <-chan time.Time // nil (never fires) when nothing is scheduled
		if !wakeAt.IsZero() {
			timer = s.clock.NewTimer(wakeAt.Sub(now))
			fired = timer.C()
		}
		if s.idle != nil {
			s.idle(wakeAt)
		}
		select {
		case <-ctx.Done():
		case <-fired:
		case <-s.wake:
		}
		if timer != nil {
			timer.Stop()
		}
	}
	return nil
}

// begin lays out the schedule: each source one (jittered) interval from now, or now with
// RunAtStart. Called with s.mu held.
func (s *Scheduler) begin(now time.Time) {
	s.begun = true
	s.startPending = s.cfg.RunAtStart && len(s.names) > 0
	for _, st := range s.sources {
		st.next = now.Add(s.jittered(st.interval))
	}
	if s.cfg.FullSync > 0 && len(s.names) > 0 { // with no sources it would never be reset
		s.fullNext = now.Add(s.jittered(s.cfg.FullSync))
	}
}

// next returns the run due at now, or nil and when to look again (zero: nothing scheduled).
// A run it returns is marked as started. Called with s.mu held.
func (s *Scheduler) next(now time.Time) (*Run, time.Time) {
	due := map[string]bool{}
	reason := ""
	all := func(why string) {
		for _, name := range s.names {
			due[name] = true
		}
		if reason == "" {
			reason = why
		}
	}
	if s.startPending {
		all(ReasonStart)
	}
	if !s.fullNext.IsZero() && !s.fullNext.After(now) {
		all(ReasonFullSync)
	}
	if deadline := s.triggerDeadline(); !deadline.IsZero() && !deadline.After(now) {
		for name, st := range s.sources {
			if st.trigger != "" {
				due[name] = true
			}
		}
		if reason == "" {
			reason = s.triggerReason
		}
	}
	for name, st := range s.sources {
		if !st.next.After(now) {
			due[name] = true
		}
	}
	if len(due) == 0 {
		return nil, s.wakeAt()
	}
	if reason == "" {
		reason = ReasonInterval
	}
	// A source due soon joins now rather than making a run of its own right after: "soon"
	// is within its own jitter span (any time there is as good as its drawn one), or within
	// the debounce period.
	for name, st := range s.sources {
		window := max(s.cfg.Debounce, time.Duration(s.cfg.Jitter*float64(st.interval)))
		if !st.next.After(now.Add(window)) {
			due[name] = true
		}
	}
	run := &Run{Reason: reason, Full: len(due) == len(s.names)}
	for _, name := range s.names {
		if !due[name] {
			continue
		}
		run.Sources = append(run.Sources, name)
		st := s.sources[name]
		st.running = true
		st.lastStart = now
		st.trigger = "" // the run sees whatever changed before it started
	}
	s.startPending = false
	if !slices.ContainsFunc(s.names, func(n string) bool { return s.sources[n].trigger != "" }) {
		s.triggerFirst, s.triggerLast, s.triggerReason = time.Time{}, time.Time{}, ""
	}
	return run, time.Time{}
}

// triggerDeadline: the pending triggers fall due once quiet for the debounce period, but no
// later than ten debounce periods after the first (a file rewritten every second still gets
// synced). Zero when none are pending.
func (s *Scheduler) triggerDeadline() time.Time {
	if s.triggerFirst.IsZero() {
		return time.Time{}
	}
	quiet := s.triggerLast.Add(s.cfg.Debounce)
	latest := s.triggerFirst.Add(10 * s.cfg.Debounce)
	if latest.Before(quiet) {
		return latest
	}
	return quiet
}

// wakeAt: the earliest time something falls due. Called with s.mu held.
func (s *Scheduler) wakeAt() time.Time {
	earliest := s.triggerDeadline()
	consider := func(t time.Time) {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	consider(s.fullNext)
	for _, st := range s.sources {
		consider(st.next)
	}
	return earliest
}

// execute calls the runner and records its outcome. A panicking runner fails its run, not
// the server.
func (s *Scheduler) execute(ctx context.Context, r Run, start time.Time) {
	s.logger.Info("scheduled run starting", "sources", r.Sources, "reason", r.Reason, "full", r.Full)
	out := s.call(ctx, r)
	end := s.clock.Now()
	cancelled := ctx.Err() != nil

	s.mu.Lock()
	var failed []string
	for _, name := range r.Sources {
		st := s.sources[name]
		st.running = false
		st.lastEnd = end
		st.runs++
		st.next = s.nextAfter(start, end, st.interval)
		err := out.Failed[name]
		if err == nil {
			err = out.Err
		}
		switch {
		case err == nil:
			st.lastErr, st.failures = nil, 0
		case cancelled: // shutting down: not the source's failure
			st.lastErr = err
		default:
			st.lastErr = err
			st.failures++
			failed = append(failed, name)
		}
	}
	if r.Full && s.cfg.FullSync > 0 {
		s.fullNext = s.nextAfter(start, end, s.cfg.FullSync)
	}
	s.mu.Unlock()

	for name, err := range out.Failed {
		if _, ok := s.sources[name]; !ok || !slices.Contains(r.Sources, name) {
			s.logger.Warn("schedule: runner reported a source that was not in the run", "source", name, "error", err)
		}
	}
	attrs := []any{"sources", r.Sources, "reason", r.Reason, "duration", end.Sub(start)}
	switch {
	case cancelled:
		s.logger.Info("scheduled run cancelled", attrs...)
	case len(failed) > 0:
		for _, name := range failed {
			err := out.Failed[name]
			if err == nil {
				err = out.Err
			}
			s.logger.Warn("scheduled run: source failed", "source", name, "error", err)
		}
		s.logger.Warn("scheduled run finished with failures", append(attrs, "failed", failed)...)
	default:
		s.logger.Info("scheduled run finished", attrs...)
	}
}

func (s *Scheduler) call(ctx context.Context, r Run) (out Outcome) {
	defer func() {
		if p := recover(); p != nil {
			out = Outcome{Err: fmt.Errorf("run panicked: %v", p)}
		}
	}()
	return s.runner(ctx, r)
}

// nextAfter: one jittered interval after the run started, or after it ended when the run
// took longer than that (a slow source is not run back to back). Called with s.mu held.
func (s *Scheduler) nextAfter(start, end time.Time, interval time.Duration) time.Time {
	d := s.jittered(interval)
	if next := start.Add(d); next.After(end) {
		return next
	}
	return end.Add(d)
}

// jittered: d times a factor drawn uniformly from [1-Jitter, 1+Jitter]. Called with s.mu held
// (rand.Rand is not safe for concurrent use).
func (s *Scheduler) jittered(d time.Duration) time.Duration {
	if s.cfg.Jitter == 0 {
		return d
	}
	factor := 1 + s.cfg.Jitter*(2*s.rnd.Float64()-1)
	return time.Duration(float64(d) * factor)
}

// Status returns every source's state, sorted by name.
func (s *Scheduler) Status() []SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SourceStatus, 0, len(s.names))
	for _, name := range s.names {
		st := s.sources[name]
		out = append(out, SourceStatus{
			Source:              name,
			Interval:            st.interval,
			Running:             st.running,
			Pending:             st.trigger,
			LastStart:           st.lastStart,
			LastEnd:             st.lastEnd,
			LastError:           st.lastErr,
			ConsecutiveFailures: st.failures,
			Runs:                st.runs,
			NextDue:             st.next,
		})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
