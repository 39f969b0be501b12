package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ApplyInput is what apply_sync takes.
type ApplyInput struct {
	PlanID  string `json:"plan_id" jsonschema_description:"The plan id preview_sync returned; exactly that plan is written."`
	Confirm bool   `json:"confirm,omitempty" jsonschema_description:"Set true only after the person explicitly agreed to this plan. Clients that can ask the person (elicitation) are asked instead."`
}

// ApplySummary counts an apply's per-object results.
type ApplySummary struct {
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Changed int `json:"changed_since_plan"`
	Total   int `json:"total"`
}

// ApplyOutput is what apply_sync returns.
type ApplyOutput struct {
	PlanID string `json:"plan_id"`
	// Status: applied, partial (some objects failed), failed, cancelled, declined (the person
	// said no: nothing was written), already_applied (nothing to do).
	Status     string         `json:"status"`
	Summary    ApplySummary   `json:"summary"`
	StartedAt  *time.Time     `json:"started_at,omitempty"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
	Results    []ObjectResult `json:"results"`
	// ResultsTotal is the number of per-object results; failures come first in Results and
	// the full report is the netbox-agent://runs/last resource.
	ResultsTotal int `json:"results_total"`
}

// clientCanElicit reports whether the client said it can ask the person (elicitation).
func clientCanElicit(ctx context.Context) bool {
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Elicitation != nil
	}
	if sess, ok := mcpserver.ClientSessionFromContext(ctx).(mcpserver.SessionWithClientInfo); ok {
		return sess.GetClientCapabilities().Elicitation != nil
	}
	return false
}

// confirmation is where an apply stands with the person's consent.
type confirmation int

const (
	confirmAsk confirmation = iota
	confirmYes
	confirmNo
	confirmCannotAsk
)

func (s *Server) confirmationOf(ctx context.Context, req mcp.CallToolRequest, in ApplyInput) confirmation {
	if resp := mcpserver.ElicitationResponse(req.Params.InputResponses, confirmKey); resp != nil {
		if resp.Action != mcp.ElicitationResponseActionAccept {
			return confirmNo
		}
		if content, ok := resp.Content.(map[string]any); ok {
			if yes, _ := content[confirmKey].(bool); yes {
				return confirmYes
			}
		}
		return confirmNo
	}
	// A client that can ask the person is always made to: the model's confirm: true alone
	// does not stand in for the person then.
	if clientCanElicit(ctx) {
		return confirmAsk
	}
	if in.Confirm {
		return confirmYes
	}
	return confirmCannotAsk
}

func (s *Server) applySync(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var in ApplyInput
	if err := req.BindArguments(&in); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("apply_sync: bad arguments: %v", err)), nil
	}
	fail := func(format string, args ...any) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultError("apply_sync: " + fmt.Sprintf(format, args...)), nil
	}
	if in.PlanID == "" {
		return fail("plan_id is required: run preview_sync and pass the plan id it returns")
	}
	if !s.cfg.WritesEnabled {
		return fail("refused: MCP writes are off in the config (writes_enabled: false); nothing was written")
	}
	plan, ok := s.findPlan(ctx, in.PlanID)
	if !ok {
		return fail("plan_id: %s is unknown (plans are kept in memory for the last %d previews): run preview_sync", quoteArg(in.PlanID), maxPlans)
	}
	sum := summarizePlan(plan)
	if at, done := s.planApplied(ctx, plan.ID); done {
		// NetBox already holds this plan: sending its creates again would only fail.
		out := ApplyOutput{PlanID: plan.ID, Status: "already_applied", Results: []ObjectResult{}}
		if !at.IsZero() {
			out.FinishedAt = &at
		}
		res := mcp.NewToolResultStructuredOnly(out)
		res.Content = []mcp.Content{mcp.NewTextContent(fmt.Sprintf("Plan %s: already applied; nothing to do%s. Run preview_sync to see what changed since.", plan.ID, appliedAt(at)))}
		return res, nil
	}
	switch s.confirmationOf(ctx, req, in) {
	case confirmAsk:
		return mcpserver.NewInputRequestBuilder(plan.ID).Elicit(confirmKey, mcp.ElicitationParams{
			Message: confirmQuestion(plan, sum),
			RequestedSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					confirmKey: map[string]any{"type": "boolean", "title": "Apply these changes to NetBox", "default": false},
				},
				"required": []string{confirmKey},
			},
		}).ToolResult(), nil
	case confirmNo:
		s.recordRun(RunRecord{Kind: "apply", PlanID: plan.ID, StartedAt: time.Now(), FinishedAt: time.Now(), Status: "declined", Summary: "the person declined; nothing written"})
		declined := ApplyOutput{PlanID: plan.ID, Status: "declined", Results: []ObjectResult{}}
		return mcp.NewToolResultStructured(declined, "The person declined plan "+plan.ID+": nothing was written."), nil
	case confirmCannotAsk:
		return fail("refused: not confirmed. This client cannot ask the person, so show them the plan (get_plan), and only after they agree call apply_sync with plan_id %q and confirm: true. Nothing was written.", plan.ID)
	}

	// One apply at a time; a shutdown waits for it, then cancels it after the grace period.
	if !s.applyMu.TryLock() {
		return fail("another apply is running; wait for it and preview again")
	}
	defer s.applyMu.Unlock()
	s.applying.Add(1)
	defer s.applying.Done()
	applyCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()

	s.clientLog(ctx, mcp.LoggingLevelNotice, "applying plan "+plan.ID)
	s.log.Info("applying plan", "plan", plan.ID, "actions", sum.Total)
	start := time.Now()
	report, err := s.deps.Sync.Apply(applyCtx, plan.ID, s.progress(ctx, req, "apply"))
	if report == nil {
		msg := "the sync engine returned no report"
		if err != nil {
			msg = err.Error()
		}
		s.recordRun(RunRecord{Kind: "apply", PlanID: plan.ID, StartedAt: start, FinishedAt: time.Now(), Status: "failed", Summary: s.scrubber.Scrub(msg)})
		s.metrics.applyRuns.WithLabelValues("failed").Inc()
		return fail("plan %s: %s", plan.ID, msg)
	}
	if err != nil && applyCtx.Err() != nil {
		report.Cancelled = true
	}
	s.keepReport(report)
	out := applyOutput(report)
	if err != nil && out.Status == "applied" {
		out.Status = "failed"
	}
	s.recordRun(RunRecord{Kind: "apply", PlanID: plan.ID, StartedAt: report.StartedAt, FinishedAt: report.FinishedAt, Status: out.Status,
		Summary: fmt.Sprintf("%d ok, %d failed, %d skipped, %d changed since plan", out.Summary.OK, out.Summary.Failed, out.Summary.Skipped, out.Summary.Changed)})
	s.log.Info("applied plan", "plan", plan.ID, "status", out.Status, "ok", out.Summary.OK, "failed", out.Summary.Failed)
	res := mcp.NewToolResultStructured(out, out.summary())
	if out.Status == "failed" && err != nil {
		res.Content = append(res.Content, mcp.NewTextContent("apply error: "+err.Error()))
	}
	return res, nil
}

func appliedAt(at time.Time) string {
	if at.IsZero() {
		return ""
	}
	return " (applied at " + at.UTC().Format(time.RFC3339) + ")"
}

func applyStatus(r *ApplyReport) string {
	var ok, bad int
	for _, res := range r.Results {
		if res.Status == ResultOK {
			ok++
		} else {
			bad++
		}
	}
	switch {
	case r.Cancelled:
		return "cancelled"
	case bad == 0:
		return "applied"
	case ok == 0:
		return "failed"
	default:
		return "partial"
	}
}

func applyOutput(r *ApplyReport) ApplyOutput {
	out := ApplyOutput{PlanID: r.PlanID, Status: applyStatus(r), Results: []ObjectResult{}, ResultsTotal: len(r.Results)}
	if !r.StartedAt.IsZero() {
		out.StartedAt = &r.StartedAt
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = &r.FinishedAt
	}
	for _, res := range r.Results {
		switch res.Status {
		case ResultOK:
			out.Summary.OK++
		case ResultFailed:
			out.Summary.Failed++
		case ResultChanged:
			out.Summary.Changed++
		default:
			out.Summary.Skipped++
		}
	}
	out.Summary.Total = len(r.Results)
	sorted := failuresFirst(r.Results)
	out.Results = append(out.Results, sorted[:min(maxResultsShown, len(sorted))]...)
	return out
}

// failuresFirst orders apply results for a person: failures, refusals (changed since the
// plan), skips, then what went well.
func failuresFirst(results []ObjectResult) []ObjectResult {
	sorted := slices.Clone(results)
	rank := func(st string) int {
		switch st {
		case ResultFailed:
			return 0
		case ResultChanged:
			return 1
		case ResultSkipped:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(sorted, func(a, b ObjectResult) int { return cmp.Compare(rank(a.Status), rank(b.Status)) })
	return sorted
}

// confirmQuestion is what the person is asked before an apply: the counts, with follow-up
// writes of objects the plan creates kept apart from updates of what exists, and the
// machines that change.
func confirmQuestion(plan *Plan, sum PlanSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Apply plan %s to NetBox? %d create, %d update, %d delete, %d stale marks", plan.ID, sum.Create, sum.Update, sum.Delete, sum.Stale)
	if sum.FollowUp > 0 {
		fmt.Fprintf(&b, " (plus %d follow-up writes to objects it creates)", sum.FollowUp)
	}
	b.WriteString(".")
	if m := machinesChanging(plan, 8); m != "" {
		b.WriteString(" Machines: " + m + ".")
	}
	if sum.Conflicts > 0 {
		fmt.Fprintf(&b, " %d conflicts are left alone.", sum.Conflicts)
	}
	return b.String()
}

// machinesChanging names up to n machines the plan creates, changes or removes, in reading
// order, and says how many more there are.
func machinesChanging(plan *Plan, n int) string {
	var names []string
	more := 0
	for _, a := range orderedActions(plan.Actions) {
		if !machineTypes[a.ObjectType] || isFollowUp(a) {
			continue
		}
		if len(names) == n {
			more++
			continue
		}
		names = append(names, opSign(a.Op)+a.Name)
	}
	s := strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

func opSign(op string) string {
	switch op {
	case OpCreate:
		return "+"
	case OpUpdate:
		return "~"
	case OpDelete:
		return "-"
	case OpStale:
		return "stale "
	}
	return ""
}
