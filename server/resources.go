package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Resource URIs.
const (
	ResourceConfig   = "netbox-agent://config"
	ResourceLastPlan = "netbox-agent://plans/last"
	ResourceLastRun  = "netbox-agent://runs/last"
	resourcePlanTmpl = "netbox-agent://plans/{id}"
	planURIPrefix    = "netbox-agent://plans/"
	// Pages beyond the first: a plan of 2,000 VMs is 13 MB, a client drops a session on a
	// message over 10 MiB, and a model cannot read that much anyway.
	resourcePlanPageTmpl = "netbox-agent://plan-actions/{id}/{offset}"
	planPageURIPrefix    = "netbox-agent://plan-actions/"
	resourceRunPageTmpl  = "netbox-agent://run-results/{offset}"
	runPageURIPrefix     = "netbox-agent://run-results/"
)

// maxResultBytes bounds every tool result and resource read; pageBytes is what one page of
// items may take of it (the rest is the envelope: summary, a few conflicts, notes);
// maxErrorText bounds the text of a tool error.
const (
	maxResultBytes = 256 << 10
	pageBytes      = 160 << 10
	maxErrorText   = 16 << 10
)

// fitPage returns how many items from items[0:] fit in budget bytes of JSON (at least one,
// so paging always moves on).
func fitPage[T any](items []T, budget int) int {
	used := 0
	for i := range items {
		b, err := json.Marshal(items[i])
		if err != nil {
			return max(i, 1)
		}
		used += len(b) + 1
		if used > budget && i > 0 {
			return i
		}
	}
	return len(items)
}

// PlanPage is a plan resource: the summary, the first conflicts and notes, and one page of
// actions in the order a person should read them.
type PlanPage struct {
	ID string `json:"id"`
	PlanHead
	Conflicts     []Conflict    `json:"conflicts,omitempty"`
	Notes         []Note        `json:"notes,omitempty"`
	SourceErrors  []SourceError `json:"source_errors,omitempty"`
	Actions       []PlanAction  `json:"actions"`
	Offset        int           `json:"offset"`
	Total         int           `json:"total"`
	NextURI       string        `json:"next_uri,omitempty"`
	MoreConflicts string        `json:"more_conflicts,omitempty"`
}

func planPage(p *Plan, offset int) PlanPage {
	ordered := orderedActions(p.Actions)
	lo := min(offset, len(ordered))
	n := fitPage(ordered[lo:], pageBytes)
	out := PlanPage{ID: p.ID, PlanHead: headOf(p),
		SourceErrors: p.SourceErrors, Actions: ordered[lo : lo+n], Offset: offset, Total: len(ordered)}
	if offset == 0 {
		out.Conflicts = p.Conflicts[:min(maxConflictsShown, len(p.Conflicts))]
		out.Notes = p.Notes[:min(maxNotesShown, len(p.Notes))]
		if len(p.Conflicts) > maxConflictsShown || len(p.Notes) > maxNotesShown {
			out.MoreConflicts = "list_conflicts pages every conflict, warning and note"
		}
	}
	if lo+n < len(ordered) {
		out.NextURI = fmt.Sprintf("%s%s/%d", planPageURIPrefix, p.ID, lo+n)
	}
	return out
}

// RunPage is the last apply report: the counts and one page of per-object results, failures
// first.
type RunPage struct {
	PlanID     string         `json:"plan_id"`
	Status     string         `json:"status"`
	Summary    ApplySummary   `json:"summary"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Results    []ObjectResult `json:"results"`
	Offset     int            `json:"offset"`
	Total      int            `json:"total"`
	NextURI    string         `json:"next_uri,omitempty"`
}

func runPage(r *ApplyReport, offset int) RunPage {
	out := applyOutput(r)
	sorted := failuresFirst(r.Results)
	lo := min(offset, len(sorted))
	n := fitPage(sorted[lo:], pageBytes)
	page := RunPage{PlanID: r.PlanID, Status: out.Status, Summary: out.Summary, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Results: sorted[lo : lo+n], Offset: offset, Total: len(sorted)}
	if lo+n < len(sorted) {
		page.NextURI = fmt.Sprintf("%s%d", runPageURIPrefix, lo+n)
	}
	return page
}

func parseOffset(uri, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: offset %q is not a non-negative integer", uri, s)
	}
	return n, nil
}

// resource is one MCP resource (a fixed URI) or resource template (a URI with {parts}): what
// it is and what a read of it returns, served as JSON by registerResources.
type resource struct {
	uri, name, title, desc string
	template               bool
	read                   func(ctx context.Context, uri string) (any, error)
}

func (s *Server) registerResources() {
	for _, r := range s.resources() {
		read := func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			v, err := r.read(ctx, req.Params.URI)
			if err != nil {
				return nil, err
			}
			return s.jsonResource(req.Params.URI, v)
		}
		if r.template {
			s.mcp.AddResourceTemplate(mcp.NewResourceTemplate(r.uri, r.name, mcp.WithTemplateTitle(r.title),
				mcp.WithTemplateDescription(r.desc), mcp.WithTemplateMIMEType("application/json")), read)
			continue
		}
		s.mcp.AddResource(mcp.NewResource(r.uri, r.name, mcp.WithResourceTitle(r.title),
			mcp.WithResourceDescription(r.desc), mcp.WithMIMEType("application/json")), read)
	}
}

// resources lists what this server's deps can serve.
func (s *Server) resources() []resource {
	var out []resource
	if s.deps.EffectiveConfig != nil {
		out = append(out, resource{uri: ResourceConfig, name: "config", title: "Effective configuration",
			desc: "The configuration the agent runs with, secrets redacted.",
			read: func(context.Context, string) (any, error) { return s.deps.EffectiveConfig(), nil }})
	}
	if s.deps.Sync == nil {
		return out
	}
	// plan reads a plan's page by id ("" is the latest).
	plan := func(ctx context.Context, uri, id string, offset int, missing string) (any, error) {
		p, ok := s.findPlan(ctx, id)
		if !ok {
			return nil, fmt.Errorf("%s: %s", uri, missing)
		}
		return planPage(p, offset), nil
	}
	// run reads a page of the last apply report.
	run := func(uri string, offset int) (any, error) {
		r := s.lastReport()
		if r == nil {
			return nil, fmt.Errorf("%s: nothing applied yet", uri)
		}
		return runPage(r, offset), nil
	}
	noSuchPlan := fmt.Sprintf("no such plan among the last %d", maxPlans)
	return append(out,
		resource{uri: ResourceLastPlan, name: "last-plan", title: "Last sync plan",
			desc: "The latest plan preview_sync (or the scheduler) made: summary, conflicts and the first page of actions (deletes, conflicts and updates first); next_uri pages on.",
			read: func(ctx context.Context, uri string) (any, error) {
				return plan(ctx, uri, "", 0, "no plan yet: run preview_sync")
			}},
		resource{uri: resourcePlanPageTmpl, name: "plan-actions", title: "A page of a plan's actions", template: true,
			desc: "The actions of a plan from offset on, as many as fit in 256 KB; next_uri pages on.",
			read: func(ctx context.Context, uri string) (any, error) {
				id, off, ok := strings.Cut(strings.TrimPrefix(uri, planPageURIPrefix), "/")
				if !ok {
					return nil, fmt.Errorf("%s: want %s", uri, resourcePlanPageTmpl)
				}
				offset, err := parseOffset(uri, off)
				if err != nil {
					return nil, err
				}
				return plan(ctx, uri, id, offset, noSuchPlan)
			}},
		resource{uri: resourcePlanTmpl, name: "plan", title: "Sync plan by id", template: true,
			desc: "One of the recent plans: summary, conflicts and the first page of actions; next_uri pages on.",
			read: func(ctx context.Context, uri string) (any, error) {
				id := strings.TrimPrefix(uri, planURIPrefix)
				if id == "last" {
					id = ""
				}
				return plan(ctx, uri, id, 0, noSuchPlan)
			}},
		resource{uri: ResourceLastRun, name: "last-run", title: "Last apply report",
			desc: "The latest apply: counts and the per-object results, failures first, one page; next_uri pages on.",
			read: func(_ context.Context, uri string) (any, error) { return run(uri, 0) }},
		resource{uri: resourceRunPageTmpl, name: "run-results", title: "A page of the last apply's results", template: true,
			desc: "Per-object results of the latest apply from offset on, failures first.",
			read: func(_ context.Context, uri string) (any, error) {
				offset, err := parseOffset(uri, strings.TrimPrefix(uri, runPageURIPrefix))
				if err != nil {
					return nil, err
				}
				return run(uri, offset)
			}},
	)
}

func (s *Server) jsonResource(uri string, v any) ([]mcp.ResourceContents, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding: %w", uri, err)
	}
	if len(b) > maxResultBytes {
		// The pages are sized to stay far below this; a bug must not cost the session.
		return nil, fmt.Errorf("%s: %d bytes is over the %d-byte limit of one read", uri, len(b), maxResultBytes)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: s.scrubber.Scrub(string(b))}}, nil
}

// prompt is one MCP prompt of one optional argument. Its message is text(subject, arg): the
// argument's trimmed value, and what it names ("plan " + arg), or all when it is not given
// ("the latest plan").
type prompt struct {
	name, title, desc string
	arg, argDesc      string
	all, one          string
	result            string // the result's description
	text              func(subject, arg string) string
}

func (s *Server) registerPrompts() {
	if s.deps.Sync == nil {
		return
	}
	for _, p := range prompts() {
		s.mcp.AddPrompt(mcp.NewPrompt(p.name, mcp.WithPromptTitle(p.title), mcp.WithPromptDescription(p.desc),
			mcp.WithArgument(p.arg, mcp.ArgumentDescription(p.argDesc)),
		), func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			arg := strings.TrimSpace(req.Params.Arguments[p.arg])
			subject := p.all
			if arg != "" {
				subject = p.one + arg
			}
			return mcp.NewGetPromptResult(p.result, []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(p.text(subject, arg))),
			}), nil
		})
	}
}

func prompts() []prompt {
	return []prompt{{
		name: "review_changes", title: "Review what changed since the last sync", result: "Review changes since the last sync",
		desc: "Preview a sync and walk the person through what would change in NetBox, conflicts first, before anything is applied.",
		arg:  "sources", argDesc: "Comma-separated source names to include (default: all).",
		all: "every configured source", one: "the sources ",
		text: func(scope, srcs string) string {
			return fmt.Sprintf(`Review what changed in the lab since the last sync, using %s.
1. Call sync_status to see the last runs and whether NetBox and the sources are healthy.
2. Call preview_sync%s. Do not apply anything yet.
3. Summarise the plan for me: how many objects would be created, updated, marked stale or deleted, grouped by object type.
4. List every conflict with its evidence and say what a person must decide.
5. Use get_plan to show the field-by-field diff of the updates and of anything deleted.
6. Ask me whether to apply. Only if I say yes, call apply_sync with the plan id.`, scope, previewArgs(srcs))
		},
	}, {
		name: "explain_conflicts", title: "Explain the open conflicts", result: "Explain conflicts",
		desc: "Explain each conflict of a plan (two serials, several NetBox candidates, ...) and suggest how to resolve it.",
		arg:  "plan_id", argDesc: "Plan id (default: the latest plan).",
		all: "the latest plan", one: "plan ",
		text: func(target, _ string) string {
			return fmt.Sprintf(`Look at the conflicts of %s (get_plan; run preview_sync first if there is no plan).
For each conflict, explain in plain words which sources disagree, on which key, and what evidence each side gives.
Suggest how to resolve it (fix the source data, set the value in NetBox, or configure which source wins) and what you would need from me. Do not call apply_sync.`, target)
		},
	}}
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
