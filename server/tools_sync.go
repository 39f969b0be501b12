package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/netbox-agent/netbox-agent/sources"
)

// PreviewInput is what preview_sync takes.
type PreviewInput struct {
	Sources []string `json:"sources,omitempty" jsonschema_description:"Source instance names to include; default: every configured source."`
	Scope   string   `json:"scope,omitempty" jsonschema:"enum=device,enum=virtual_machine,enum=host" jsonschema_description:"Plan only entities of this kind (nothing is then marked stale); default: everything."`
}

// PlanSummary counts a plan's actions.
type PlanSummary struct {
	Create int `json:"create"`
	Update int `json:"update"`
	// FollowUp are updates of objects the plan itself creates (primary IPs): part of those
	// creates, not changes to anything that exists.
	FollowUp     int            `json:"follow_up_writes,omitempty"`
	Delete       int            `json:"delete"`
	Stale        int            `json:"stale"`
	Total        int            `json:"total"`
	ByObjectType map[string]int `json:"by_object_type"`
	Conflicts    int            `json:"conflicts"`
	SourceErrors int            `json:"source_errors"`
	Warnings     int            `json:"warnings"`
}

// ActionBrief is one plan action without its field diff.
type ActionBrief struct {
	Ref        string `json:"ref"`
	Op         string `json:"op"`
	ObjectType string `json:"object_type"`
	Name       string `json:"name"`
	Changes    int    `json:"changes,omitempty"`
}

// PreviewOutput is what preview_sync returns: the plan id, the summary and what needs a look.
type PreviewOutput struct {
	PlanID       string        `json:"plan_id"`
	CreatedAt    time.Time     `json:"created_at"`
	Summary      PlanSummary   `json:"summary"`
	Conflicts    []Conflict    `json:"conflicts,omitempty"`
	SourceErrors []SourceError `json:"source_errors,omitempty"`
	// FirstActions are the first actions of the plan; get_plan pages through all of them.
	FirstActions []ActionBrief `json:"first_actions"`
	// Machines names the machines the plan creates, changes or removes (+ ~ -), first ones.
	Machines string `json:"machines,omitempty"`
	Next     string `json:"next"`
	WritesOn bool   `json:"writes_enabled"`
}

// GetPlanInput is what get_plan takes.
type GetPlanInput struct {
	PlanID     string `json:"plan_id,omitempty" jsonschema_description:"Plan id from preview_sync; default: the latest plan."`
	Ref        string `json:"ref,omitempty" jsonschema_description:"Show only this action (its field-by-field diff)."`
	Op         string `json:"op,omitempty" jsonschema:"enum=create,enum=update,enum=delete,enum=stale" jsonschema_description:"Only actions of this operation."`
	ObjectType string `json:"object_type,omitempty" jsonschema_description:"Only actions on this NetBox object type (e.g. dcim.device)."`
	Name       string `json:"name,omitempty" jsonschema_description:"Only actions whose object name contains this text (case-insensitive)."`
	Limit      int    `json:"limit,omitempty" jsonschema_description:"Page size (default 50, at most 200)."`
	Offset     int    `json:"offset,omitempty" jsonschema_description:"Actions to skip (use page.next_offset)."`
	// Bookkeeping: the agent's tag and ownership custom field, left out of diffs by default.
	Bookkeeping bool `json:"bookkeeping,omitempty" jsonschema_description:"Also show the agent's own tag and ownership custom field in diffs."`
}

// GetPlanOutput is one page of a plan's actions with their diffs.
type GetPlanOutput struct {
	PlanID       string          `json:"plan_id"`
	CreatedAt    time.Time       `json:"created_at"`
	Sources      []string        `json:"sources"`
	Scope        string          `json:"scope,omitempty"`
	Summary      PlanSummary     `json:"summary"`
	Conflicts    []Conflict      `json:"conflicts,omitempty"`
	SourceErrors []SourceError   `json:"source_errors,omitempty"`
	Warnings     []SourceWarning `json:"warnings,omitempty"`
	// Notes are what the plan deliberately does not do, and why (a person's edit kept,
	// deletes refused by the guard); list_conflicts pages all of them.
	Notes   []Note       `json:"notes,omitempty"`
	Actions []PlanAction `json:"actions"`
	Page    Page         `json:"page"`
}

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

// StatusInput is what sync_status takes.
type StatusInput struct {
	CheckSources bool `json:"check_sources,omitempty" jsonschema_description:"Also contact every source to check it is reachable (slower)."`
}

// SourceHealth is one configured source.
type SourceHealth struct {
	Source  string `json:"source"`
	Adapter string `json:"adapter"`
	Checked bool   `json:"checked"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

// StatusOutput is what sync_status returns.
type StatusOutput struct {
	Ready          bool           `json:"ready"`
	ReadyError     string         `json:"ready_error,omitempty"`
	WritesEnabled  bool           `json:"writes_enabled"`
	LastPlanID     string         `json:"last_plan_id,omitempty"`
	LastRuns       []RunRecord    `json:"last_runs"`
	Sources        []SourceHealth `json:"sources"`
	OpenConflicts  int            `json:"open_conflicts"`
	Conflicts      []Conflict     `json:"conflicts,omitempty"`
	AvailableTools []string       `json:"available_tools"`
}

const (
	maxConflictsShown = 20
	maxNotesShown     = 20
	firstActionsShown = 10
	maxResultsShown   = 50
	confirmKey        = "confirm"
	sourceCheckLimit  = 10 * time.Second
)

func (s *Server) registerSyncTools() {
	if s.deps.Sync == nil {
		return
	}
	addTool(s, mcp.NewTool("preview_sync",
		mcp.WithTitleAnnotation("Preview a sync to NetBox"),
		mcp.WithDescription("Discover from the sources, merge, match against NetBox and build a plan of every create, update, delete and stale mark, writing nothing. Returns a plan id, the summary, the conflicts and the first actions; review with get_plan, write with apply_sync."),
		mcp.WithInputSchema[PreviewInput](), mcp.WithOutputSchema[PreviewOutput](),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(true),
	), s.previewSync)
	addTool(s, mcp.NewTool("get_plan",
		mcp.WithTitleAnnotation("Show a sync plan"),
		mcp.WithDescription("Page through a plan's actions, most important first (deletes, stale marks, updates with their field diffs, then creates of machines, their parts, scaffolding). ref shows one action in full, a create's fields too. Filters: op, object_type, name."),
		mcp.WithInputSchema[GetPlanInput](), mcp.WithOutputSchema[GetPlanOutput](),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false),
	), s.getPlan)
	s.addRawTool(mcp.NewTool("apply_sync",
		mcp.WithTitleAnnotation("Apply a sync plan to NetBox"),
		mcp.WithDescription("Write exactly the plan with this id (from preview_sync) to NetBox. The person must confirm: the client is asked (elicitation) where it can, otherwise pass confirm: true only after the person agreed. Objects changed in NetBox since the plan are refused. Refused while MCP writes are off in the config. Returns per-object results; sends progress."),
		mcp.WithInputSchema[ApplyInput](), mcp.WithOutputSchema[ApplyOutput](),
		mcp.WithReadOnlyHintAnnotation(false), mcp.WithDestructiveHintAnnotation(true),
		mcp.WithIdempotentHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
	), s.applySync)
	addTool(s, mcp.NewTool("sync_status",
		mcp.WithTitleAnnotation("Sync status"),
		mcp.WithDescription("Last previews and applies, per-source health, NetBox readiness and the open conflicts of the latest plan."),
		mcp.WithInputSchema[StatusInput](), mcp.WithOutputSchema[StatusOutput](),
		mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(true),
	), s.syncStatus)
}

func (s *Server) registerTools() {
	s.registerDiscoveryTools()
	s.registerSyncTools()
	s.registerFindingTools()
	s.registerExplainTools()
}

func summarizePlan(p *Plan) PlanSummary {
	sum := PlanSummary{ByObjectType: map[string]int{}, Conflicts: len(p.Conflicts), SourceErrors: len(p.SourceErrors), Warnings: len(p.Warnings)}
	for _, a := range p.Actions {
		switch a.Op {
		case OpCreate:
			sum.Create++
		case OpUpdate:
			if isFollowUp(a) {
				sum.FollowUp++
			} else {
				sum.Update++
			}
		case OpDelete:
			sum.Delete++
		case OpStale:
			sum.Stale++
		}
		sum.ByObjectType[a.ObjectType]++
	}
	sum.Total = len(p.Actions)
	return sum
}

func (s *Server) previewSync(ctx context.Context, req mcp.CallToolRequest, in PreviewInput) (PreviewOutput, error) {
	if len(in.Sources) > maxToolTargets {
		return PreviewOutput{}, fmt.Errorf("sources: %d given, at most %d", len(in.Sources), maxToolTargets)
	}
	if len(s.deps.AllSources) > 0 {
		for i, name := range in.Sources {
			if !slices.ContainsFunc(s.deps.AllSources, func(src sources.Source) bool { return src.Name() == name }) {
				return PreviewOutput{}, fmt.Errorf("sources[%d]: %s is not a configured source (configured: %s)", i, quoteArg(name), strings.Join(sourceNames(s.deps.AllSources), ", "))
			}
		}
	}
	start := time.Now()
	plan, err := s.deps.Sync.Preview(ctx, PreviewRequest{Sources: in.Sources, Scope: in.Scope}, s.progress(ctx, req, "preview"))
	rec := RunRecord{Kind: "preview", StartedAt: start, FinishedAt: time.Now()}
	if err != nil {
		rec.Status, rec.Summary = "failed", s.scrubber.Scrub(err.Error())
		s.recordRun(rec)
		return PreviewOutput{}, fmt.Errorf("preview: %w", err)
	}
	if plan == nil || plan.ID == "" {
		return PreviewOutput{}, errors.New("preview: the sync engine returned no plan id")
	}
	s.keepPlan(plan)
	sum := summarizePlan(plan)
	rec.Status, rec.PlanID = "ok", plan.ID
	rec.Summary = fmt.Sprintf("%d create, %d update, %d delete, %d stale, %d conflicts", sum.Create, sum.Update, sum.Delete, sum.Stale, sum.Conflicts)
	s.recordRun(rec)
	s.clientLog(ctx, mcp.LoggingLevelInfo, "plan "+plan.ID+": "+rec.Summary)

	out := PreviewOutput{
		PlanID: plan.ID, CreatedAt: plan.CreatedAt, Summary: sum,
		Conflicts: plan.Conflicts, SourceErrors: plan.SourceErrors,
		FirstActions: []ActionBrief{}, WritesOn: s.cfg.WritesEnabled,
	}
	if len(out.Conflicts) > maxConflictsShown {
		out.Conflicts = out.Conflicts[:maxConflictsShown]
	}
	ordered := orderedActions(plan.Actions)
	for _, a := range ordered[:min(firstActionsShown, len(ordered))] {
		out.FirstActions = append(out.FirstActions, ActionBrief{Ref: a.Ref, Op: a.Op, ObjectType: a.ObjectType, Name: a.Name, Changes: len(a.Changes)})
	}
	out.Machines = machinesChanging(plan, summaryNames)
	switch {
	case sum.Total == 0:
		out.Next = "NetBox is in step with the sources: nothing to apply."
	case !s.cfg.WritesEnabled:
		out.Next = "Review with get_plan. MCP writes are off in the config (writes_enabled: false), so apply_sync will refuse."
	default:
		out.Next = fmt.Sprintf("Review with get_plan(plan_id=%q); after the person agrees, apply_sync(plan_id=%q).", plan.ID, plan.ID)
	}
	return out, nil
}

func (s *Server) getPlan(ctx context.Context, _ mcp.CallToolRequest, in GetPlanInput) (GetPlanOutput, error) {
	plan, ok := s.findPlan(ctx, in.PlanID)
	if !ok {
		if in.PlanID == "" {
			return GetPlanOutput{}, errors.New("no plan yet: run preview_sync first")
		}
		return GetPlanOutput{}, fmt.Errorf("plan_id: %s is unknown (plans are kept in memory for the last %d previews): run preview_sync", quoteArg(in.PlanID), maxPlans)
	}
	out := GetPlanOutput{
		PlanID: plan.ID, CreatedAt: plan.CreatedAt, Sources: plan.Sources, Scope: plan.Scope,
		Summary: summarizePlan(plan), Conflicts: plan.Conflicts, SourceErrors: plan.SourceErrors,
		Actions: []PlanAction{},
	}
	if out.Sources == nil {
		out.Sources = []string{}
	}
	if len(out.Conflicts) > maxConflictsShown {
		out.Conflicts = out.Conflicts[:maxConflictsShown]
	}
	out.Warnings = plan.Warnings
	if len(out.Warnings) > maxWarningsShown {
		out.Warnings = out.Warnings[:maxWarningsShown]
	}
	out.Notes = plan.Notes[:min(maxNotesShown, len(plan.Notes))]
	kept := orderedActions(plan.Actions)
	if in.Ref != "" || in.Op != "" || in.ObjectType != "" || in.Name != "" {
		all := kept
		kept = nil
		for _, a := range all {
			switch {
			case in.Ref != "" && a.Ref != in.Ref,
				in.Op != "" && a.Op != in.Op,
				in.ObjectType != "" && a.ObjectType != in.ObjectType,
				in.Name != "" && !strings.Contains(strings.ToLower(a.Name), strings.ToLower(in.Name)):
				continue
			}
			kept = append(kept, a)
		}
	}
	if in.Ref != "" && len(kept) == 0 {
		return GetPlanOutput{}, fmt.Errorf("ref: %s is not an action of plan %s", quoteArg(in.Ref), plan.ID)
	}
	page, lo, hi, err := pageOf(len(kept), in.Limit, in.Offset)
	if err != nil {
		return GetPlanOutput{}, err
	}
	// A page holds as many actions as fit in the result budget (diffs vary in size).
	if n := fitPage(briefCreates(withoutBookkeeping(kept[lo:hi])), pageBytes); lo+n < hi {
		hi = lo + n
		page.HasMore, page.NextOffset = true, hi
	}
	out.Page = page
	if in.Bookkeeping {
		out.Actions = append(out.Actions, kept[lo:hi]...)
	} else {
		out.Actions = withoutBookkeeping(kept[lo:hi])
	}
	if in.Ref == "" {
		out.Actions = briefCreates(out.Actions)
	}
	return out, nil
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

func (s *Server) syncStatus(ctx context.Context, _ mcp.CallToolRequest, in StatusInput) (StatusOutput, error) {
	out := StatusOutput{Ready: true, WritesEnabled: s.cfg.WritesEnabled, LastRuns: []RunRecord{}, Sources: []SourceHealth{}, AvailableTools: s.Tools()}
	if s.deps.Ready != nil {
		if err := s.deps.Ready(ctx); err != nil {
			out.Ready, out.ReadyError = false, err.Error()
		}
	}
	s.mu.Lock()
	out.LastRuns = append(out.LastRuns, s.runs...)
	s.mu.Unlock()
	last, _ := s.findPlan(ctx, "")
	slices.Reverse(out.LastRuns) // newest first
	if last != nil {
		out.LastPlanID = last.ID
		out.OpenConflicts = len(last.Conflicts)
		out.Conflicts = last.Conflicts[:min(maxConflictsShown, len(last.Conflicts))]
	}
	health := make([]SourceHealth, len(s.deps.AllSources))
	done := make(chan struct{}, len(s.deps.AllSources))
	for i, src := range s.deps.AllSources {
		health[i] = SourceHealth{Source: src.Name(), Adapter: src.Adapter()}
		if !in.CheckSources {
			done <- struct{}{}
			continue
		}
		go func() {
			defer func() { done <- struct{}{} }()
			cctx, cancel := context.WithTimeout(ctx, sourceCheckLimit)
			defer cancel()
			err := src.Check(cctx)
			health[i].Checked, health[i].OK = true, err == nil
			if err != nil {
				health[i].Error = err.Error()
			}
		}()
	}
	for range s.deps.AllSources {
		<-done
	}
	out.Sources = append(out.Sources, health...)
	return out, nil
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
