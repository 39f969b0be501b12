package server

import (
	"context"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// completer offers the values a person would otherwise copy by hand: the ids of the recent
// plans (resource templates, the explain_conflicts prompt) and the configured source names
// (the review_changes prompt).
type completer struct{ s *Server }

const maxCompletions = 100 // the protocol's limit per answer

func (c completer) CompletePromptArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	switch arg.Name {
	case "plan_id":
		return complete(c.s.planIDs(ctx), arg.Value), nil
	case "sources":
		// A comma-separated list: complete its last element.
		done, last := "", arg.Value
		if i := strings.LastIndex(arg.Value, ","); i >= 0 {
			done, last = arg.Value[:i+1]+" ", strings.TrimSpace(arg.Value[i+1:])
		}
		comp := complete(sourceNames(c.s.deps.AllSources), last)
		for i := range comp.Values {
			comp.Values[i] = done + comp.Values[i]
		}
		return comp, nil
	}
	return &mcp.Completion{Values: []string{}}, nil
}

func (c completer) CompleteResourceArgument(ctx context.Context, _ string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if arg.Name == "id" {
		return complete(c.s.planIDs(ctx), arg.Value), nil
	}
	return &mcp.Completion{Values: []string{}}, nil
}

func complete(all []string, prefix string) *mcp.Completion {
	out := &mcp.Completion{Values: []string{}}
	for _, v := range all {
		if strings.HasPrefix(v, prefix) {
			out.Values = append(out.Values, v)
		}
	}
	out.Total = len(out.Values)
	if len(out.Values) > maxCompletions {
		out.Values, out.HasMore = out.Values[:maxCompletions], true
	}
	return out
}

// planIDs are the ids of the plans this process knows, newest first (the latest stored one
// included after a restart).
func (s *Server) planIDs(ctx context.Context) []string {
	var ids []string
	if p, ok := s.findPlan(ctx, ""); ok {
		ids = append(ids, p.ID)
	}
	s.mu.Lock()
	for i := len(s.plans) - 1; i >= 0; i-- {
		if !slices.Contains(ids, s.plans[i].ID) {
			ids = append(ids, s.plans[i].ID)
		}
	}
	s.mu.Unlock()
	return ids
}
