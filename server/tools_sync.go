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

// registerSyncTools registers the tools backed by Sync: preview, plan pages, apply, status and
// the plan's findings.
func (s *Server) registerSyncTools() {
	if s.deps.Sync == nil {
		return
	}
	addTool(s, toolSpec{"preview_sync", "Preview a sync to NetBox", "Discover from the sources, merge, match against NetBox and build a plan of every create, update, delete and stale mark, writing nothing. Returns a plan id, the summary, the conflicts and the first actions; review with get_plan, write with apply_sync."}, s.previewSync, readOnly(true))
	addTool(s, toolSpec{"get_plan", "Show a sync plan", "Page through a plan's actions, most important first (deletes, stale marks, updates with their field diffs, then creates of machines, their parts, scaffolding). ref shows one action in full, a create's fields too. Filters: op, object_type, name."}, s.getPlan, readOnly(false))
	// apply_sync asks the person itself (elicitation), so it handles its raw request.
	s.addRawTool(newTool[ApplyInput, ApplyOutput](toolSpec{"apply_sync", "Apply a sync plan to NetBox", "Write exactly the plan with this id (from preview_sync) to NetBox. The person must confirm: the client is asked (elicitation) where it can, otherwise pass confirm: true only after the person agreed. Objects changed in NetBox since the plan are refused. Refused while MCP writes are off in the config. Returns per-object results; sends progress."},
		mcp.WithReadOnlyHintAnnotation(false), mcp.WithDestructiveHintAnnotation(true),
		mcp.WithIdempotentHintAnnotation(false), mcp.WithOpenWorldHintAnnotation(true),
	), s.applySync)
	addTool(s, toolSpec{"sync_status", "Sync status", "Last previews and applies, per-source health, NetBox readiness and the open conflicts of the latest plan."}, s.syncStatus, readOnly(true))
	addTool(s, toolSpec{"list_conflicts", "List a plan's conflicts, warnings or notes", "Page through every conflict of a plan (with evidence), or its source warnings or notes."}, s.listConflicts, readOnly(false))
}

func (s *Server) registerTools() {
	s.registerDiscoveryTools()
	s.registerSyncTools()
	s.registerExplainTools()
}
