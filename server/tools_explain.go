package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// EntityFinder is optionally implemented by a Syncer that keeps the merged machines of its
// recent previews: find_host explains one of them.
type EntityFinder interface {
	// FindEntities returns the merged machines of the plan's preview whose name contains
	// query (case-insensitive) or that have query as an IP or MAC address, at most limit.
	FindEntities(ctx context.Context, planID, query string, limit int) ([]EntityView, error)
}

// EntityView is one merged machine: what each source saw, and the keys that joined them.
type EntityView struct {
	ID      string      `json:"id"`
	Kind    string      `json:"kind"`
	Name    string      `json:"name"`
	Sources []SourceRef `json:"sources"`
	// JoinedBy are the identity keys the observations share (strong: native id, UUID,
	// serial, a universal MAC; weak: name, IP, a local MAC) and which observations have each.
	JoinedBy []JoinKey `json:"joined_by,omitempty"`
	// Fields are the merged values with the source each came from ("vcpus": "4 (pve)").
	Fields map[string]string `json:"fields,omitempty"`
	MACs   []string          `json:"macs,omitempty"`
	IPs    []string          `json:"ips,omitempty"`
}

// JoinKey is one identity key of an entity.
type JoinKey struct {
	Key     string      `json:"key"`
	Strong  bool        `json:"strong"`
	Sources []SourceRef `json:"sources"`
}

// FindHostInput is what find_host takes.
type FindHostInput struct {
	Query  string `json:"query" jsonschema_description:"A machine's name (or part of it), an IP address or a MAC address."`
	PlanID string `json:"plan_id,omitempty" jsonschema_description:"Plan whose preview to look in; default: the latest."`
}

// HostExplained is one machine found: the entity, its NetBox match and the plan's actions on it.
type HostExplained struct {
	Entity EntityView `json:"entity"`
	// NetBox says how the machine stands in NetBox: matched (with its id), to be created, or
	// in step.
	NetBox  string       `json:"netbox"`
	Actions []PlanAction `json:"actions"`
}

// FindHostOutput is what find_host returns.
type FindHostOutput struct {
	PlanID string          `json:"plan_id"`
	Query  string          `json:"query"`
	Hosts  []HostExplained `json:"hosts"`
	More   bool            `json:"more,omitempty"`
}

const maxHostsFound = 5

func (s *Server) registerExplainTools() {
	if _, ok := s.deps.Sync.(EntityFinder); !ok {
		return
	}
	addTool(s, toolSpec{"find_host", "Find and explain one machine", "Find a machine of the latest preview by name, IP or MAC and explain it: what each source saw, which keys joined them, its NetBox match and what the next apply changes on it."}, s.findHost, readOnly(false))
}

func (s *Server) findHost(ctx context.Context, _ mcp.CallToolRequest, in FindHostInput) (FindHostOutput, error) {
	q := strings.TrimSpace(in.Query)
	if q == "" {
		return FindHostOutput{}, errors.New("query: empty: give a name, an IP or a MAC address")
	}
	plan, ok := s.findPlan(ctx, in.PlanID)
	if !ok {
		return FindHostOutput{}, errors.New("no plan yet: run preview_sync first")
	}
	finder := s.deps.Sync.(EntityFinder)
	found, err := finder.FindEntities(ctx, plan.ID, q, maxHostsFound+1)
	if err != nil {
		return FindHostOutput{}, err
	}
	out := FindHostOutput{PlanID: plan.ID, Query: q, Hosts: []HostExplained{}}
	if len(found) > maxHostsFound {
		found, out.More = found[:maxHostsFound], true
	}
	for _, en := range found {
		h := HostExplained{Entity: en, Actions: []PlanAction{}}
		for _, a := range orderedActions(plan.Actions) {
			if a.Entity != en.ID {
				continue
			}
			h.Actions = append(h.Actions, a)
		}
		h.Actions = withoutBookkeeping(h.Actions)
		h.NetBox = netboxStanding(h.Actions)
		out.Hosts = append(out.Hosts, h)
	}
	return out, nil
}

// netboxStanding says how a machine stands in NetBox from the plan's action on the machine.
func netboxStanding(actions []PlanAction) string {
	for _, a := range actions {
		if !machineTypes[a.ObjectType] || isFollowUp(a) {
			continue
		}
		switch a.Op {
		case OpCreate:
			return "no NetBox object matches: the next apply creates " + a.ObjectType + " " + a.Name
		case OpUpdate:
			return fmt.Sprintf("matched NetBox %s #%d; the next apply changes %d fields", a.ObjectType, a.NetBoxID, len(a.Changes))
		case OpStale, OpDelete:
			return fmt.Sprintf("NetBox %s #%d: %s (%s)", a.ObjectType, a.NetBoxID, a.Op, a.Reason)
		}
	}
	if len(actions) > 0 {
		return "matched in NetBox; the machine itself is in step, its parts change"
	}
	return "in step with NetBox: the next apply changes nothing on it"
}

func (o FindHostOutput) summary() string {
	if len(o.Hosts) == 0 {
		return fmt.Sprintf("No machine of plan %s matches %s (by name, IP or MAC).", o.PlanID, quoteArg(o.Query))
	}
	var b strings.Builder
	for i, h := range o.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		srcs := make([]string, len(h.Entity.Sources))
		for j, r := range h.Entity.Sources {
			srcs[j] = r.Source + ":" + r.NativeID
		}
		fmt.Fprintf(&b, "%s %s, seen by %s.", h.Entity.Kind, h.Entity.Name, strings.Join(srcs, ", "))
		var keys []string
		for _, k := range h.Entity.JoinedBy {
			if len(k.Sources) > 1 {
				keys = append(keys, k.Key)
			}
		}
		if len(keys) > 0 {
			b.WriteString(" Joined by " + strings.Join(keys[:min(4, len(keys))], ", ") + ".")
		}
		b.WriteString(" NetBox: " + h.NetBox + ".")
		for _, a := range h.Actions[:min(5, len(h.Actions))] {
			b.WriteString("\n  " + actionLine(a))
		}
		if len(h.Actions) > 5 {
			fmt.Fprintf(&b, "\n  ... %d more actions", len(h.Actions)-5)
		}
	}
	if o.More {
		b.WriteString("\nMore machines match: narrow the query.")
	}
	return b.String()
}
