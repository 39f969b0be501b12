package planview

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sync"
)

// Table renders the plan for people: actions grouped by object type (+ create, ~ update,
// ~ stale, - delete) with per-field before -> after, source and reason; then conflicts, notes
// and a summary line.
func Table(p *sync.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan %s (NetBox %s)\n", p.ID, p.NetBoxVersion)
	byType := map[string][]sync.Action{}
	var order []string
	for _, a := range p.Actions {
		if _, ok := byType[a.Type]; !ok {
			order = append(order, a.Type)
		}
		byType[a.Type] = append(byType[a.Type], a)
	}
	for _, t := range order {
		fmt.Fprintf(&b, "\n%s (%d)\n", t, len(byType[t]))
		for _, a := range byType[t] {
			sym := map[sync.Op]string{sync.OpCreate: "+", sync.OpUpdate: "~", sync.OpStale: "~", sync.OpDelete: "-"}[a.Op]
			id := ""
			if a.ID != 0 {
				id = fmt.Sprintf(" #%d", a.ID)
			}
			extra := ""
			if a.Op == sync.OpStale {
				extra = " (stale)"
			}
			fmt.Fprintf(&b, "  %s %s%s%s", sym, a.Name, id, extra)
			if a.Reason != "" && a.Op != sync.OpCreate {
				fmt.Fprintf(&b, "  [%s]", a.Reason)
			}
			b.WriteByte('\n')
			switch a.Op {
			case sync.OpCreate:
				for _, k := range slices.Sorted(maps.Keys(a.Body)) {
					if k == "custom_fields" || k == "tags" {
						continue
					}
					fmt.Fprintf(&b, "      %s: %s\n", k, show(a.Body[k]))
				}
			default:
				for _, c := range a.Changes {
					src := ""
					if c.Source != "" {
						src = " (" + c.Source + ")"
					}
					why := ""
					if c.Reason != "" {
						why = ": " + c.Reason
					}
					fmt.Fprintf(&b, "      %s: %s -> %s%s%s\n", c.Field, show(c.Before), show(c.After), src, why)
				}
			}
		}
	}
	if len(p.Conflicts) > 0 {
		fmt.Fprintf(&b, "\nconflicts (%d): not written, the agent does not guess\n", len(p.Conflicts))
		for _, c := range p.Conflicts {
			fmt.Fprintf(&b, "  ! %s %s: %s\n", c.Kind, c.Key, c.Reason)
		}
	}
	if len(p.PossibleMatches) > 0 {
		fmt.Fprintf(&b, "\npossible matches (%d): kept apart, a person decides\n", len(p.PossibleMatches))
		for _, c := range p.PossibleMatches {
			fmt.Fprintf(&b, "  ? %s: %s\n", c.Key, c.Reason)
			for _, s := range c.Evidence {
				fmt.Fprintf(&b, "      %s %q:", s.Values["entity"], s.Name)
				for _, k := range slices.Sorted(maps.Keys(s.Values)) {
					if k != "entity" {
						fmt.Fprintf(&b, " %s=%s;", k, s.Values[k])
					}
				}
				b.WriteByte('\n')
			}
		}
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(&b, "\nnotes (%d)\n", len(p.Notes))
		for _, n := range p.Notes {
			obj := n.Object
			if n.Field != "" {
				obj += " " + n.Field
			}
			if obj != "" {
				obj += ": "
			}
			fmt.Fprintf(&b, "  * %s%s\n", obj, n.Reason)
		}
	}
	if len(p.NotWritten) > 0 {
		fmt.Fprintf(&b, "\nnot written (%d): facts sources reported that this plan leaves out\n", len(p.NotWritten))
		for _, n := range p.NotWritten {
			obj := n.Object
			if obj == "" {
				obj = n.Entity
			}
			fmt.Fprintf(&b, "  - %s %s %s: %s\n", obj, n.Fact, n.Value, n.Reason)
		}
	}
	s := p.Summary
	fmt.Fprintf(&b, "\n%d to create, %d to update, %d to mark stale, %d to delete, %d conflicts, %d unchanged",
		s.Create, s.Update, s.Stale, s.Delete, s.Conflicts, s.Unchanged)
	if s.PossibleMatches > 0 {
		fmt.Fprintf(&b, ", %d possible matches", s.PossibleMatches)
	}
	if s.NotWritten > 0 {
		fmt.Fprintf(&b, ", %d facts not written", s.NotWritten)
	}
	b.WriteByte('\n')
	return b.String()
}

// show is a value of a body or a change as the table prints it.
func show(v any) string {
	if k, ok := sync.PlannedRef(v); ok {
		return "(new " + k + ")"
	}
	switch x := v.(type) {
	case nil:
		return "(empty)"
	case string:
		if x == "" {
			return "(empty)"
		}
		return x
	case map[string]any:
		return fmt.Sprint(sync.DisplayValue(x))
	}
	return fmt.Sprint(v)
}
