package server

import (
	"context"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

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
