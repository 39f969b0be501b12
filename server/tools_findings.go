package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// ConflictsInput is what list_conflicts takes.
type ConflictsInput struct {
	PlanID string `json:"plan_id,omitempty" jsonschema_description:"Plan id; default: the latest plan."`
	Show   string `json:"show,omitempty" jsonschema:"enum=conflicts,enum=warnings,enum=notes" jsonschema_description:"conflicts (default): what needs a person's decision; warnings: per-item source problems; notes: what the plan deliberately does not do."`
	PageInput
}

// ConflictsOutput is one page of a plan's conflicts, warnings or notes.
type ConflictsOutput struct {
	PlanID    string          `json:"plan_id"`
	Show      string          `json:"show"`
	Conflicts []Conflict      `json:"conflicts,omitempty"`
	Warnings  []SourceWarning `json:"warnings,omitempty"`
	Notes     []Note          `json:"notes,omitempty"`
	Page      Page            `json:"page"`
}

func (s *Server) listConflicts(ctx context.Context, _ mcp.CallToolRequest, in ConflictsInput) (ConflictsOutput, error) {
	plan, err := s.planArg(ctx, in.PlanID)
	if err != nil {
		return ConflictsOutput{}, err
	}
	out := ConflictsOutput{PlanID: plan.ID, Show: in.Show}
	if out.Show == "" {
		out.Show = "conflicts"
	}
	var n int
	switch out.Show {
	case "conflicts":
		n = len(plan.Conflicts)
	case "warnings":
		n = len(plan.Warnings)
	case "notes":
		n = len(plan.Notes)
	default:
		return out, fmt.Errorf("show: %s is not one of conflicts, warnings, notes", quoteArg(in.Show))
	}
	page, lo, hi, err := in.page(n)
	if err != nil {
		return out, err
	}
	switch out.Show {
	case "conflicts":
		hi = lo + fitPage(plan.Conflicts[lo:hi], pageBytes)
		out.Conflicts = plan.Conflicts[lo:hi]
	case "warnings":
		out.Warnings = plan.Warnings[lo:hi]
	case "notes":
		out.Notes = plan.Notes[lo:hi]
	}
	if hi < n {
		page.HasMore, page.NextOffset = true, hi
	}
	out.Page = page
	return out, nil
}

func (o ConflictsOutput) summary() string {
	var b strings.Builder
	shown := len(o.Conflicts) + len(o.Warnings) + len(o.Notes)
	fmt.Fprintf(&b, "Plan %s: %d %s", o.PlanID, o.Page.Total, o.Show)
	if shown > 0 {
		fmt.Fprintf(&b, ", %d-%d shown", o.Page.Offset+1, o.Page.Offset+shown)
	}
	if o.Page.HasMore {
		fmt.Fprintf(&b, " (next: offset %d)", o.Page.NextOffset)
	}
	b.WriteString(".")
	for i, c := range o.Conflicts {
		if i == summaryNames {
			break
		}
		fmt.Fprintf(&b, "\n- %s %s: %s", c.Kind, c.Key, c.Reason)
	}
	for i, w := range o.Warnings {
		if i == summaryNames {
			break
		}
		fmt.Fprintf(&b, "\n- %s %s: %s", w.Source, w.Item, w.Message)
	}
	for i, n := range o.Notes {
		if i == summaryNames {
			break
		}
		fmt.Fprintf(&b, "\n- %s %s: %s", n.Object, n.Field, n.Reason)
	}
	return b.String()
}
