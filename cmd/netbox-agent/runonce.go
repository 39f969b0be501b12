package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	gosync "sync"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/logging"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sync"
	"github.com/netbox-agent/netbox-agent/sync/planview"
)

// runReport is what a headless run did, printed as JSON with --output json.
type runReport struct {
	Mode      string         `json:"mode"` // "run-once", "dry-run", "apply-plan"
	Started   time.Time      `json:"started"`
	Duration  string         `json:"duration"`
	Sources   []sourceReport `json:"sources,omitempty"`
	Entities  int            `json:"entities"`
	Conflicts int            `json:"conflicts"`
	Plan      *planReport    `json:"plan,omitempty"`
	Apply     *applyReport   `json:"apply,omitempty"`
	Error     string         `json:"error,omitempty"`
	ExitCode  int            `json:"exit_code"`
}

// planReport is the plan's view in the report (sync/planview).
type planReport = planview.Report

type sourceReport struct {
	Name         string            `json:"name"`
	Adapter      string            `json:"adapter"`
	Status       string            `json:"status"` // "ok" or "failed"
	Observations int               `json:"observations"`
	Warnings     []sources.Warning `json:"warnings,omitempty"`
	// Skipped counts the inputs the source left out, per reason (each item at debug level).
	Skipped  []sources.Skip `json:"skipped,omitempty"`
	Error    string         `json:"error,omitempty"`
	Duration string         `json:"duration"`
}

type applyReport struct {
	Summary  sync.ReportSummary  `json:"summary"`
	Problems []sync.ActionResult `json:"problems,omitempty"` // failed, refused or skipped objects
	Duration string              `json:"duration"`
}

// maxReportedWarnings keeps a source with thousands of per-item warnings from drowning the report.
const maxReportedWarnings = 50

// discoverAll runs every source at once, each under its own timeout. A source that fails or
// times out fails alone; the others go on.
func discoverAll(ctx context.Context, srcs []sources.Source, timeout time.Duration, prog *progressPrinter, log *slog.Logger) ([]sourceReport, []sources.Observation, map[string]bool) {
	reports := make([]sourceReport, len(srcs))
	results := make([]sources.Result, len(srcs))
	var wg gosync.WaitGroup
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			res, err := src.Discover(sctx, prog.lines("discover "+src.Name()))
			r := sourceReport{Name: src.Name(), Adapter: src.Adapter(), Status: "ok", Duration: time.Since(start).Round(time.Millisecond).String()}
			if err != nil {
				if errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
					err = fmt.Errorf("timed out after %s (run.source_timeout): %w", timeout, err)
				}
				r.Status, r.Error = "failed", err.Error()
				log.Warn("source failed; it orphans nothing this run", "source", src.Name(), "error", err)
				res = sources.Result{}
			} else {
				r.Observations = len(res.Observations)
				r.Warnings = res.Warnings
				if len(r.Warnings) > maxReportedWarnings {
					r.Warnings = append(r.Warnings[:maxReportedWarnings:maxReportedWarnings],
						sources.Warning{Item: "...", Message: fmt.Sprintf("%d more warnings", len(res.Warnings)-maxReportedWarnings)})
				}
				// Per-item warnings (a guest agent not running) are routine in a homelab: one
				// line says how many; each is in the report and at debug level.
				for _, w := range res.Warnings {
					log.Debug("discovery warning", "source", src.Name(), "item", w.Item, "warning", w.Message)
				}
				if n := len(res.Warnings); n > 0 {
					log.Warn("source reported per-item warnings", "source", src.Name(), "warnings", n, "first", res.Warnings[0].Item+": "+res.Warnings[0].Message)
				}
				// one line per reason: "12 expired leases" says why a lease file gave nothing
				r.Skipped = res.Skipped
				for _, sk := range res.Skipped {
					log.Info("source skipped inputs", "source", src.Name(), "reason", sk.Reason, "count", sk.Count)
				}
			}
			line := fmt.Sprintf("%s: %s, %d observations, %d warnings in %s", src.Name(), r.Status, r.Observations, len(res.Warnings), r.Duration)
			for _, sk := range res.Skipped {
				line += fmt.Sprintf("; skipped %d (%s)", sk.Count, sk.Reason)
			}
			prog.done(line)
			reports[i], results[i] = r, res
		}()
	}
	wg.Wait()
	var obs []sources.Observation
	ran := map[string]bool{}
	for i, r := range reports {
		if r.Status == "ok" {
			ran[r.Name] = true
			obs = append(obs, results[i].Observations...)
		}
	}
	return reports, obs, ran
}

// runOnce is --run-once: discover, merge, plan, print, apply (not with --dry-run).
func runOnce(ctx context.Context, o options, a *agent, stdout, stderr io.Writer) int {
	rep := &runReport{Mode: "run-once", Started: time.Now()}
	if o.dryRun {
		rep.Mode = "dry-run"
	}
	prog := newProgressPrinter(stderr)
	finish := finisher(o, a, rep, stdout)
	if len(a.all) == 0 {
		return finish(exitFailure, errors.New("no sources configured: add at least one under sources: in the config"))
	}

	var obs []sources.Observation
	var ran map[string]bool
	rep.Sources, obs, ran = discoverAll(ctx, a.all, a.cfg.Run.SourceTimeout, prog, a.log)
	if ctx.Err() != nil {
		return finish(exitFailure, fmt.Errorf("interrupted during discovery: %w", ctx.Err()))
	}
	if len(ran) == 0 {
		return finish(exitFailure, errors.New("every source failed: nothing to sync"))
	}
	partial := len(ran) < len(a.all)

	merged := sync.Merge(obs, a.cfg.Merge)
	rep.Entities, rep.Conflicts = len(merged.Entities), len(merged.Conflicts)
	prog.done(fmt.Sprintf("merged %d observations into %d entities, %d conflicts", len(obs), len(merged.Entities), len(merged.Conflicts)))

	plan, err := a.engine.Plan(ctx, merged.Entities, merged.Findings(), ran)
	if err != nil {
		return finish(exitFailure, fmt.Errorf("plan: %w", err))
	}
	rep.Plan = planview.NewReport(plan)
	if n := len(plan.NotWritten); n > 0 {
		byFact := map[string]int{}
		for _, nw := range plan.NotWritten {
			byFact[nw.Fact]++
		}
		a.log.Info("plan leaves facts out (listed under not written with the reason)", "not_written", n,
			"macs", byFact[sync.FactMAC], "ips", byFact[sync.FactIP], "services", byFact[sync.FactService], "disks", byFact[sync.FactDisk])
	}
	if o.planOut != "" {
		if err := sync.SavePlan(o.planOut, plan, version); err != nil {
			return finish(exitFailure, fmt.Errorf("--plan-out: %w", err))
		}
		rep.Plan.SavedTo = o.planOut
	}
	if o.output == "table" {
		fmt.Fprint(stdout, planview.Table(plan))
		if o.planOut != "" {
			fmt.Fprintf(stdout, "Plan saved to %s; apply it with: netbox-agent --config ... --apply-plan %s\n", o.planOut, o.planOut)
		}
	}
	if o.dryRun {
		return finish(exitCode(partial, nil), nil)
	}
	if plan.Empty() {
		if o.output == "table" {
			fmt.Fprintln(stdout, "Nothing to do: NetBox already matches what the sources see.")
		}
		rep.Apply = &applyReport{Duration: "0s"}
		return finish(exitCode(partial, nil), nil)
	}
	return applyPlan(ctx, o, a, plan, rep, prog, stdout, partial, finish)
}

// applyPlan writes a plan and fills the report's apply part.
func applyPlan(ctx context.Context, o options, a *agent, plan *sync.Plan, rep *runReport, prog *progressPrinter, stdout io.Writer, partial bool, finish func(int, error) int) int {
	res, err := a.engine.Apply(ctx, plan, prog.bar("apply"))
	if err != nil {
		return finish(exitFailure, fmt.Errorf("apply: %w", err))
	}
	rep.Apply = &applyReport{Summary: res.Summary, Duration: res.Duration.Round(time.Millisecond).String()}
	for _, r := range res.Results {
		if r.Status != sync.StatusDone {
			rep.Apply.Problems = append(rep.Apply.Problems, r)
		}
	}
	if o.output == "table" {
		s := res.Summary
		fmt.Fprintf(stdout, "Applied plan %s in %s: %d created, %d updated, %d marked stale, %d deleted, %d failed, %d refused (changed since the plan), %d skipped.\n",
			plan.ID, rep.Apply.Duration, s.Created, s.Updated, s.Stale, s.Deleted, s.Failed, s.Refused, s.Skipped)
		for _, p := range rep.Apply.Problems {
			fmt.Fprintf(stdout, "  ! %s %s %q: %s %s\n", p.Op, p.Type, p.Name, p.Status, p.Error)
		}
	}
	return finish(exitCode(partial, res), nil)
}

func exitCode(partial bool, res *sync.Report) int {
	if partial || (res != nil && !res.OK()) {
		return exitPartial
	}
	return exitOK
}

// runApplyPlan is --apply-plan FILE: apply a saved plan (verified against its id) and exit.
func runApplyPlan(ctx context.Context, o options, a *agent, stdout, stderr io.Writer) int {
	rep := &runReport{Mode: "apply-plan", Started: time.Now()}
	prog := newProgressPrinter(stderr)
	finish := finisher(o, a, rep, stdout)
	plan, err := sync.LoadPlan(o.applyPlan)
	if err != nil {
		return finish(exitFailure, fmt.Errorf("--apply-plan: %w", err))
	}
	rep.Plan = planview.SummaryReport(plan)
	if o.output == "table" {
		fmt.Fprint(stdout, planview.Table(plan))
	}
	return applyPlan(ctx, o, a, plan, rep, prog, stdout, false, finish)
}

// finisher ends a headless run: the error logged and in the report, the report printed, the
// exit code returned.
func finisher(o options, a *agent, rep *runReport, stdout io.Writer) func(code int, err error) int {
	return func(code int, err error) int {
		if err != nil {
			rep.Error = err.Error()
			a.log.Error(rep.Mode+" failed", "error", err)
		}
		rep.ExitCode = code
		rep.Duration = time.Since(rep.Started).Round(time.Millisecond).String()
		printReport(o, rep, stdout)
		return code
	}
}

func printReport(o options, rep *runReport, stdout io.Writer) {
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	var failed []string
	for _, s := range rep.Sources {
		if s.Status != "ok" {
			failed = append(failed, fmt.Sprintf("%s (%s)", s.Name, s.Error))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "Sources that failed (they mark nothing stale): %s\n", strings.Join(failed, "; "))
	}
	if rep.Error != "" {
		fmt.Fprintf(stdout, "%s failed: %s\n", rep.Mode, rep.Error)
	}
}

// progressPrinter shows long steps on stderr: a bar on a terminal, plain throttled lines
// otherwise (logs and CI output stay readable).
type progressPrinter struct {
	w   io.Writer
	tty bool
	mu  gosync.Mutex
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, tty: logging.IsTerminal(w)}
}

func (p *progressPrinter) done(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, msg)
}

// lines reports one step as plain lines, at most one every two seconds.
func (p *progressPrinter) lines(step string) sources.Progress {
	var last time.Time
	var mu gosync.Mutex
	return func(done, total int, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 2*time.Second {
			return
		}
		last = time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		if total > 0 {
			fmt.Fprintf(p.w, "%s: %d/%d %s\n", step, done, total, msg)
		} else {
			fmt.Fprintf(p.w, "%s: %s\n", step, msg)
		}
	}
}

// bar reports one step as a progress bar on a terminal, else as lines.
func (p *progressPrinter) bar(step string) func(done, total int, msg string) {
	if !p.tty {
		return p.lines(step)
	}
	return func(done, total int, msg string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		const width = 30
		filled := 0
		if total > 0 {
			filled = done * width / total
		}
		if len(msg) > 40 {
			msg = msg[:40]
		}
		fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %d/%d %s", step, strings.Repeat("#", filled), strings.Repeat("-", width-filled), done, total, msg)
		if done >= total {
			fmt.Fprintln(p.w)
		}
	}
}
