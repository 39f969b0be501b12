package server

import (
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// The sync tools (preview_sync and get_plan in tools_preview.go, apply_sync in tools_apply.go,
// sync_status in tools_status.go) show at most this much at once.
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
		readOnly(true),
	), s.previewSync)
	addTool(s, mcp.NewTool("get_plan",
		mcp.WithTitleAnnotation("Show a sync plan"),
		mcp.WithDescription("Page through a plan's actions, most important first (deletes, stale marks, updates with their field diffs, then creates of machines, their parts, scaffolding). ref shows one action in full, a create's fields too. Filters: op, object_type, name."),
		mcp.WithInputSchema[GetPlanInput](), mcp.WithOutputSchema[GetPlanOutput](),
		readOnly(false),
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
		readOnly(true),
	), s.syncStatus)
}

func (s *Server) registerTools() {
	s.registerDiscoveryTools()
	s.registerSyncTools()
	s.registerFindingTools()
	s.registerExplainTools()
}
