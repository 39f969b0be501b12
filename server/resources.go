package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// Resource URIs.
const (
	ResourceConfig   = "netbox-agent://config"
	ResourceLastPlan = "netbox-agent://plans/last"
	ResourceLastRun  = "netbox-agent://runs/last"
	resourcePlanTmpl = "netbox-agent://plans/{id}"
	planURIPrefix    = "netbox-agent://plans/"
)

func (s *Server) registerResources() {
	if s.deps.EffectiveConfig != nil {
		s.mcp.AddResource(mcp.NewResource(ResourceConfig, "config",
			mcp.WithResourceTitle("Effective configuration"),
			mcp.WithResourceDescription("The configuration the agent runs with, secrets redacted."),
			mcp.WithMIMEType("application/json"),
		), func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return s.jsonResource(req.Params.URI, s.deps.EffectiveConfig())
		})
	}
	if s.deps.Sync == nil {
		return
	}
	s.mcp.AddResource(mcp.NewResource(ResourceLastPlan, "last-plan",
		mcp.WithResourceTitle("Last sync plan"),
		mcp.WithResourceDescription("The latest plan preview_sync (or the scheduler) made, in full, as JSON."),
		mcp.WithMIMEType("application/json"),
	), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		plan, ok := s.findPlan(ctx, "")
		if !ok {
			return nil, fmt.Errorf("%s: no plan yet: run preview_sync", req.Params.URI)
		}
		return s.jsonResource(req.Params.URI, plan)
	})
	s.mcp.AddResourceTemplate(mcp.NewResourceTemplate(resourcePlanTmpl, "plan",
		mcp.WithTemplateTitle("Sync plan by id"),
		mcp.WithTemplateDescription("One of the recent plans, in full, as JSON."),
		mcp.WithTemplateMIMEType("application/json"),
	), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		id := strings.TrimPrefix(req.Params.URI, planURIPrefix)
		if id == "last" {
			id = ""
		}
		plan, ok := s.findPlan(ctx, id)
		if !ok {
			return nil, fmt.Errorf("%s: no such plan among the last %d", req.Params.URI, maxPlans)
		}
		return s.jsonResource(req.Params.URI, plan)
	})
	s.mcp.AddResource(mcp.NewResource(ResourceLastRun, "last-run",
		mcp.WithResourceTitle("Last apply report"),
		mcp.WithResourceDescription("The per-object report of the latest apply, as JSON."),
		mcp.WithMIMEType("application/json"),
	), func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		r := s.lastReport()
		if r == nil {
			return nil, fmt.Errorf("%s: nothing applied yet", req.Params.URI)
		}
		return s.jsonResource(req.Params.URI, r)
	})
}

func (s *Server) jsonResource(uri string, v any) ([]mcp.ResourceContents, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: encoding: %w", uri, err)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: s.scrubber.Scrub(string(b))}}, nil
}

func (s *Server) registerPrompts() {
	if s.deps.Sync == nil {
		return
	}
	s.mcp.AddPrompt(mcp.NewPrompt("review_changes",
		mcp.WithPromptTitle("Review what changed since the last sync"),
		mcp.WithPromptDescription("Preview a sync and walk the person through what would change in NetBox, conflicts first, before anything is applied."),
		mcp.WithArgument("sources", mcp.ArgumentDescription("Comma-separated source names to include (default: all).")),
	), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		srcs := strings.TrimSpace(req.Params.Arguments["sources"])
		scope := "every configured source"
		if srcs != "" {
			scope = "the sources " + srcs
		}
		text := fmt.Sprintf(`Review what changed in the lab since the last sync, using %s.
1. Call sync_status to see the last runs and whether NetBox and the sources are healthy.
2. Call preview_sync%s. Do not apply anything yet.
3. Summarise the plan for me: how many objects would be created, updated, marked stale or deleted, grouped by object type.
4. List every conflict with its evidence and say what a person must decide.
5. Use get_plan to show the field-by-field diff of the updates and of anything deleted.
6. Ask me whether to apply. Only if I say yes, call apply_sync with the plan id.`, scope, previewArgs(srcs))
		return mcp.NewGetPromptResult("Review changes since the last sync", []mcp.PromptMessage{
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text)),
		}), nil
	})
	s.mcp.AddPrompt(mcp.NewPrompt("explain_conflicts",
		mcp.WithPromptTitle("Explain the open conflicts"),
		mcp.WithPromptDescription("Explain each conflict of a plan (two serials, several NetBox candidates, ...) and suggest how to resolve it."),
		mcp.WithArgument("plan_id", mcp.ArgumentDescription("Plan id (default: the latest plan).")),
	), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		id := strings.TrimSpace(req.Params.Arguments["plan_id"])
		target := "the latest plan"
		if id != "" {
			target = "plan " + id
		}
		text := fmt.Sprintf(`Look at the conflicts of %s (get_plan; run preview_sync first if there is no plan).
For each conflict, explain in plain words which sources disagree, on which key, and what evidence each side gives.
Suggest how to resolve it (fix the source data, set the value in NetBox, or configure which source wins) and what you would need from me. Do not call apply_sync.`, target)
		return mcp.NewGetPromptResult("Explain conflicts", []mcp.PromptMessage{
			mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text)),
		}), nil
	})
}

func previewArgs(srcs string) string {
	if srcs == "" {
		return ""
	}
	parts := strings.Split(srcs, ",")
	for i := range parts {
		parts[i] = fmt.Sprintf("%q", strings.TrimSpace(parts[i]))
	}
	return " with sources [" + strings.Join(parts, ", ") + "]"
}
