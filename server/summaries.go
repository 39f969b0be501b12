package server

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A tool result has two parts: structuredContent carries the detail, and the text part is a
// short summary a model (and a person reading along) takes in at a glance: the counts, the
// machines that change, what needs a decision, and what to call next. The text is not a JSON
// copy of the structured part: that doubled every result.

// summarizer is implemented by tool outputs that have a text summary.
type summarizer interface{ summary() string }

const summaryNames = 8 // machines, conflicts or failures named in a summary

func (o PreviewOutput) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan %s: %s.", o.PlanID, countsText(o.Summary))
	if o.Summary.Total == 0 {
		b.WriteString(" NetBox is in step with the sources.")
	}
	if o.Machines != "" {
		b.WriteString("\nMachines: " + o.Machines + ".")
	}
	if o.Summary.Conflicts > 0 {
		fmt.Fprintf(&b, "\n%d conflicts need a person's decision (list_conflicts):", o.Summary.Conflicts)
		for _, c := range o.Conflicts[:min(3, len(o.Conflicts))] {
			fmt.Fprintf(&b, "\n- %s: %s", c.Key, c.Reason)
		}
	}
	for _, se := range o.SourceErrors {
		fmt.Fprintf(&b, "\nSource %s failed (it changes and orphans nothing): %s", se.Source, se.Error)
	}
	if o.Summary.Warnings > 0 {
		fmt.Fprintf(&b, "\n%d source warnings (list_conflicts show=warnings).", o.Summary.Warnings)
	}
	b.WriteString("\n" + o.Next)
	return b.String()
}

func countsText(s PlanSummary) string {
	t := fmt.Sprintf("%d create, %d update, %d delete, %d stale", s.Create, s.Update, s.Delete, s.Stale)
	if s.FollowUp > 0 {
		t += fmt.Sprintf(" (+%d follow-up writes to objects it creates)", s.FollowUp)
	}
	if s.Conflicts > 0 {
		t += fmt.Sprintf(", %d conflicts", s.Conflicts)
	}
	return t
}

func (o GetPlanOutput) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan %s: %s.", o.PlanID, countsText(o.Summary))
	if len(o.Actions) == 0 {
		b.WriteString(" No action matches.")
		return b.String()
	}
	fmt.Fprintf(&b, " Actions %d-%d of %d", o.Page.Offset+1, o.Page.Offset+len(o.Actions), o.Page.Total)
	if o.Page.HasMore {
		fmt.Fprintf(&b, " (next: offset %d)", o.Page.NextOffset)
	}
	b.WriteString(":")
	for _, a := range o.Actions[:min(summaryNames*2, len(o.Actions))] {
		b.WriteString("\n" + actionLine(a))
	}
	if len(o.Actions) > summaryNames*2 {
		fmt.Fprintf(&b, "\n... %d more on this page in the structured result.", len(o.Actions)-summaryNames*2)
	}
	return b.String()
}

// actionLine is one action in a line: "~ device pve1: vcpus 2 -> 4, memory 4096 -> 8192".
func actionLine(a PlanAction) string {
	line := fmt.Sprintf("%s %s %s", strings.TrimSpace(opSign(a.Op)), a.ObjectType, a.Name)
	if a.Op != OpUpdate || len(a.Changes) == 0 {
		return line
	}
	var parts []string
	for _, c := range a.Changes[:min(4, len(a.Changes))] {
		parts = append(parts, fmt.Sprintf("%s %s -> %s", c.Field, short(c.Before), short(c.After)))
	}
	if len(a.Changes) > 4 {
		parts = append(parts, fmt.Sprintf("%d more fields", len(a.Changes)-4))
	}
	return line + ": " + strings.Join(parts, ", ")
}

func short(v string) string {
	if v == "" {
		return `""`
	}
	if len(v) > 40 {
		return v[:37] + "..."
	}
	return v
}

func (o ApplyOutput) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan %s: %s. %d ok, %d failed, %d skipped, %d changed in NetBox since the plan (refused).",
		o.PlanID, o.Status, o.Summary.OK, o.Summary.Failed, o.Summary.Skipped, o.Summary.Changed)
	n := 0
	for _, r := range o.Results {
		if r.Status == ResultOK || n == summaryNames {
			continue
		}
		n++
		fmt.Fprintf(&b, "\n- %s %s %s: %s", r.Status, r.ObjectType, r.Name, r.Error)
	}
	if o.Summary.Failed+o.Summary.Changed > 0 {
		b.WriteString("\nPreview again to see what is left; the full report is netbox-agent://runs/last.")
	}
	return b.String()
}

func (o DiscoverOutput) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d observations", o.Total)
	if len(o.ByKind) > 0 {
		kinds := slices.Sorted(maps.Keys(o.ByKind))
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%d %s", o.ByKind[k], k)
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	for _, sr := range o.Sources {
		if sr.Error != "" {
			fmt.Fprintf(&b, "; source %s failed: %s", sr.Source, sr.Error)
		}
	}
	if len(o.Items) > 0 {
		fmt.Fprintf(&b, "; items %d-%d", o.Page.Offset+1, o.Page.Offset+len(o.Items))
		if o.Page.HasMore {
			fmt.Fprintf(&b, " (next: offset %d)", o.Page.NextOffset)
		}
		names := make([]string, 0, summaryNames)
		for _, it := range o.Items[:min(summaryNames, len(o.Items))] {
			names = append(names, it.Name)
		}
		b.WriteString(": " + strings.Join(names, ", "))
		if len(o.Items) > summaryNames {
			b.WriteString(", ...")
		}
	}
	if o.WarningsTotal > 0 {
		fmt.Fprintf(&b, "; %d warnings", o.WarningsTotal)
	}
	b.WriteString(".")
	if o.Detail != nil {
		fmt.Fprintf(&b, " Detail of %s (%s) in the structured result.", o.Detail.NativeID, o.Detail.Name)
	}
	return b.String()
}

func (o StatusOutput) summary() string {
	var b strings.Builder
	if o.Ready {
		b.WriteString("Ready.")
	} else {
		b.WriteString("Not ready: " + o.ReadyError + ".")
	}
	if o.WritesEnabled {
		b.WriteString(" MCP writes are on.")
	} else {
		b.WriteString(" MCP writes are off.")
	}
	if o.LastPlanID != "" {
		fmt.Fprintf(&b, " Latest plan %s with %d open conflicts.", o.LastPlanID, o.OpenConflicts)
	}
	for _, r := range o.LastRuns[:min(3, len(o.LastRuns))] {
		fmt.Fprintf(&b, "\n- %s %s %s: %s", r.FinishedAt.UTC().Format("2006-01-02 15:04"), r.Kind, r.Status, r.Summary)
	}
	for _, sh := range o.Sources {
		if sh.Checked && !sh.OK {
			fmt.Fprintf(&b, "\nSource %s is unreachable: %s", sh.Source, sh.Error)
		}
	}
	return b.String()
}

func (o PoolsOutput) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pools, %d unhealthy.", o.TotalPools, o.Unhealthy)
	for _, in := range o.Instances {
		if in.Error != "" {
			fmt.Fprintf(&b, "\n%s: %s", in.Source, in.Error)
			continue
		}
		for _, p := range in.Pools {
			if !p.Healthy {
				fmt.Fprintf(&b, "\n%s: pool %s is %s", in.Source, p.Name, p.Status)
			}
		}
	}
	return b.String()
}

// isBookkeeping reports the fields the agent writes for itself (its tag and its ownership
// custom field): noise in a diff a person reads, shown only when asked.
func isBookkeeping(field string) bool {
	return field == "tags" || field == "custom_fields" || strings.HasPrefix(field, "custom_fields.")
}

// withoutBookkeeping returns the actions with the bookkeeping fields left out of their
// changes (copying only the actions that had any).
func withoutBookkeeping(actions []PlanAction) []PlanAction {
	out := make([]PlanAction, len(actions))
	for i, a := range actions {
		if slices.ContainsFunc(a.Changes, func(c FieldChange) bool { return isBookkeeping(c.Field) }) {
			a.Changes = slices.DeleteFunc(slices.Clone(a.Changes), func(c FieldChange) bool { return isBookkeeping(c.Field) })
		}
		out[i] = a
	}
	return out
}

// briefCreates leaves a create's fields out of a page of actions (they are all "after"
// values, a dozen per object, and a page of 50 creates was 26 KB): get_plan ref=... shows
// them. Updates keep their diffs: those are what a person reviews.
func briefCreates(actions []PlanAction) []PlanAction {
	out := make([]PlanAction, len(actions))
	for i, a := range actions {
		if a.Op == OpCreate {
			a.Changes = nil
		}
		out[i] = a
	}
	return out
}
