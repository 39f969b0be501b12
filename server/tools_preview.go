package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

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
	PlanID string `json:"plan_id"`
	PlanHead
	Conflicts    []Conflict      `json:"conflicts,omitempty"`
	SourceErrors []SourceError   `json:"source_errors,omitempty"`
	Warnings     []SourceWarning `json:"warnings,omitempty"`
	// Notes are what the plan deliberately does not do, and why (a person's edit kept,
	// deletes refused by the guard); list_conflicts pages all of them.
	Notes   []Note       `json:"notes,omitempty"`
	Actions []PlanAction `json:"actions"`
	Page    Page         `json:"page"`
}

// PlanHead is what get_plan and the plan resource show of a plan after its id.
type PlanHead struct {
	CreatedAt time.Time   `json:"created_at"`
	Sources   []string    `json:"sources"`
	Scope     string      `json:"scope,omitempty"`
	Summary   PlanSummary `json:"summary"`
}

func headOf(p *Plan) PlanHead {
	return PlanHead{CreatedAt: p.CreatedAt, Sources: p.Sources, Scope: p.Scope, Summary: summarizePlan(p)}
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
	plan, err := s.planArg(ctx, in.PlanID)
	if err != nil {
		return GetPlanOutput{}, err
	}
	out := GetPlanOutput{
		PlanID: plan.ID, PlanHead: headOf(plan), Conflicts: plan.Conflicts, SourceErrors: plan.SourceErrors,
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
