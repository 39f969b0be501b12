package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// The interfaces below are what the server needs from the packages it wraps. They are defined
// here, where they are used, so the server is tested against small fakes; they speak the
// adapters' own types (no adapter imports the server), so cmd/netbox-agent passes the
// adapters' sources as they are.

// PoolLister lists the storage pools of one TrueNAS instance, as *truenas.Source does.
type PoolLister interface {
	// Name is the configured instance name.
	Name() string
	Pools(ctx context.Context) ([]truenas.Pool, error)
}

// Pool is one storage pool as list_truenas_pools shows it.
type Pool struct {
	Name           string     `json:"name"`
	GUID           string     `json:"guid,omitempty"`
	Status         string     `json:"status"` // ONLINE, DEGRADED, FAULTED, ...
	Healthy        bool       `json:"healthy"`
	SizeBytes      uint64     `json:"size_bytes"`
	AllocatedBytes uint64     `json:"allocated_bytes"`
	FreeBytes      uint64     `json:"free_bytes"`
	Disks          []string   `json:"disks,omitempty"`
	LastScrub      *time.Time `json:"last_scrub,omitempty"`
	// DatasetCount is len(Datasets); Datasets are shown only when asked for.
	DatasetCount int           `json:"dataset_count"`
	Datasets     []PoolDataset `json:"datasets,omitempty"`
}

// PoolDataset is one dataset or zvol of a pool, as the adapter reports it.
type PoolDataset = truenas.Dataset

// poolOf is a TrueNAS pool as list_truenas_pools shows it, with every dataset.
func poolOf(p truenas.Pool) Pool {
	out := Pool{Name: p.Name, GUID: p.GUID, Status: p.Status, Healthy: p.Healthy, SizeBytes: p.SizeBytes,
		AllocatedBytes: p.AllocatedBytes, FreeBytes: p.FreeBytes, Disks: p.Disks, LastScrub: p.LastScrub,
		DatasetCount: len(p.Datasets)}
	if len(p.Datasets) > 0 {
		out.Datasets = slices.Clone(p.Datasets)
	}
	return out
}

// SubnetScanner runs a network scan, as *netscan.Source does. It must refuse targets outside
// its configured networks or above its size limit, honour ctx cancellation (stop nmap) and
// report progress.
type SubnetScanner interface {
	Scan(ctx context.Context, req netscan.ScanRequest, progress sources.Progress) (sources.Result, error)
}

// InventoryReader reads one inventory file, as *inventory.Source does. The server checks
// beforehand that the path lies inside the configured inventory files (globs allowed) and
// directories; the reader checks again.
type InventoryReader interface {
	// ReadFile parses the file; format is one of inventory.Formats() or "" (detect).
	ReadFile(ctx context.Context, path string, format inventory.Format) (sources.Result, error)
}

// PreviewRequest selects what a preview covers.
type PreviewRequest struct {
	// Sources are instance names; empty means every configured source.
	Sources []string
	// Scope is passed to the engine unchanged (for example an object type or a site); "" is all.
	Scope string
	// Fresh discovers anew: no cached discovery, no sharing of a preview already running
	// (a run triggered by a change must see the change). Its discoveries still feed the cache.
	Fresh bool
}

// Syncer is the sync engine as the MCP tools drive it: discovery, merge, match and plan in
// Preview; the writes of one previewed plan in Apply.
type Syncer interface {
	// Preview builds a plan without writing anything and keeps it so Apply can find it by id.
	Preview(ctx context.Context, req PreviewRequest, progress sources.Progress) (*Plan, error)
	// Apply writes exactly the plan with this id. A cancelled ctx stops between batches and
	// returns the report of what was written (Cancelled set), not only an error.
	Apply(ctx context.Context, planID string, progress sources.Progress) (*ApplyReport, error)
}

// PlanLoader is optionally implemented by a Syncer that keeps plans beyond one process (a
// state directory, see sync.SavePlan): apply_sync and get_plan then find a plan previewed by
// an earlier process, as happens over stdio where each client session is a new process.
type PlanLoader interface {
	// LoadPlan returns the plan with this id, or an error wrapping fs.ErrNotExist.
	LoadPlan(ctx context.Context, id string) (*Plan, error)
}

// LatestPlanLoader is optionally implemented by a PlanLoader: the newest stored plan, so "the
// latest plan" (get_plan {}, netbox-agent://plans/last) survives a restart of the process.
type LatestPlanLoader interface {
	// LatestPlan returns the newest stored plan, or an error wrapping fs.ErrNotExist.
	LatestPlan(ctx context.Context) (*Plan, error)
}

// AppliedRecorder is optionally implemented by a Syncer that remembers, beyond one process,
// which plans were applied completely, so a second apply_sync of one says "already applied;
// nothing to do" instead of sending NetBox creates of objects that now exist.
type AppliedRecorder interface {
	// PlanApplied reports when the plan with this id was applied without failures.
	PlanApplied(ctx context.Context, id string) (time.Time, bool)
}

// Plan is a sync plan as the tools and resources show it.
type Plan struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Sources   []string  `json:"sources"`
	Scope     string    `json:"scope,omitempty"`
	// Actions are every create, update, delete and stale mark, in apply order.
	Actions      []PlanAction  `json:"actions"`
	Conflicts    []Conflict    `json:"conflicts,omitempty"`
	Notes        []Note        `json:"notes,omitempty"`
	SourceErrors []SourceError `json:"source_errors,omitempty"`
	// PossibleMatches are entities kept apart although a weak key says they may be one machine
	// (docs/identity.md); NotWritten are facts a source reported that the plan leaves out, with
	// the reason (docs/facts.md).
	PossibleMatches []Conflict      `json:"possible_matches,omitempty"`
	NotWritten      []NotWritten    `json:"not_written,omitempty"`
	Warnings        []SourceWarning `json:"warnings,omitempty"`
}

// The plan's findings are the engine's own types: the tools show them as the engine
// records them (conflicts, the values that disagree, notes, facts left out).
type (
	// Conflict is something the engine refused to guess about.
	Conflict = syncengine.Conflict
	// ConflictSide is one party to a conflict with the values that disagree.
	ConflictSide = syncengine.ConflictSide
	// SourceRef names one observation.
	SourceRef = syncengine.SourceRef
	// NotWritten is one fact (a MAC, an IP, a service, a disk) of an entity that the plan does
	// not write, and why.
	NotWritten = syncengine.NotWritten
	// Note is something a plan deliberately does not do, and why (a person's edit kept,
	// deletes refused by the guard, a source that failed).
	Note = syncengine.Note
)

// Plan operations.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
	OpStale  = "stale" // an owned object no source sees any more is marked stale
)

// PlanAction is one object the plan touches.
type PlanAction struct {
	// Ref identifies the action inside the plan ("dcim.device:pve1"); get_plan takes it.
	Ref        string `json:"ref"`
	Op         string `json:"op"`
	ObjectType string `json:"object_type"` // "device", "ip address", ...
	Name       string `json:"name"`
	NetBoxID   int64  `json:"netbox_id,omitempty"`
	// FollowUpOf is the ref of the create this update completes (a primary IP set once the
	// address exists): an update of an object the plan itself creates.
	FollowUpOf string `json:"follow_up_of,omitempty"`
	// Entity is the merged machine the action belongs to (explain_entity).
	Entity  string        `json:"entity,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Changes []FieldChange `json:"changes,omitempty"`
}

// FieldChange is one field's value before and after; values are rendered as text (see
// RenderValue).
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	Source string `json:"source,omitempty"` // the source instance that gave the new value
	Reason string `json:"reason,omitempty"`
}

// RenderValue renders a field value for FieldChange: strings as they are, nil as "", anything
// else as compact JSON.
func RenderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// SourceError is a source that failed as a whole during a run.
type SourceError struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// SourceWarning is a per-item problem a source reported.
type SourceWarning struct {
	Source  string `json:"source"`
	Item    string `json:"item"`
	Message string `json:"message"`
}

// ApplyReport is what an apply did, per object.
type ApplyReport struct {
	PlanID     string         `json:"plan_id"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Cancelled  bool           `json:"cancelled,omitempty"`
	Results    []ObjectResult `json:"results"`
}

// Object result statuses.
const (
	ResultOK      = "ok"
	ResultFailed  = "failed"
	ResultSkipped = "skipped" // not attempted: cancelled, or a dependency failed
	ResultChanged = "changed" // the object changed in NetBox since the plan: refused
)

// ObjectResult is the outcome of one plan action.
type ObjectResult struct {
	Ref        string `json:"ref"`
	Op         string `json:"op"`
	ObjectType string `json:"object_type"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	NetBoxID   int64  `json:"netbox_id,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Deps are the backends the server wraps. A nil or empty member means "not configured": the
// tools that need it are not registered.
type Deps struct {
	Logger *slog.Logger

	// Proxmox and HomeAssistant are the configured instances of those adapters.
	Proxmox       []sources.Source
	HomeAssistant []sources.Source
	// TrueNAS lists pools per TrueNAS instance.
	TrueNAS []PoolLister
	// Scanner backs scan_subnet. ScannerReady, when set, is asked once at start: an error
	// (nmap missing) keeps scan_subnet out of the tool list.
	Scanner      SubnetScanner
	ScannerReady func() error
	// Inventory backs read_inventory; InventoryPaths are the configured files (globs allowed)
	// and directories it may read (nothing outside them is ever opened).
	Inventory      InventoryReader
	InventoryPaths []string
	// AllSources are every configured source, checked by sync_status for per-source health.
	AllSources []sources.Source

	// Sync backs preview_sync, get_plan and apply_sync.
	Sync Syncer
	// Discovery, when set, is the cache the discover_* tools share with the engine syncer
	// (EngineSyncerConfig.Discovery): give both the same one.
	Discovery *DiscoveryCache

	// Ready reports readiness for /readyz and sync_status (NetBox reachable, sources
	// configured). nil means always ready.
	Ready func(ctx context.Context) error
	// EffectiveConfig returns the running configuration with secrets redacted, for the
	// netbox-agent://config resource. nil: the resource is not offered.
	EffectiveConfig func() any
	// Secrets are scrubbed from every tool result, resource and log line the server writes,
	// as a last line of defence behind secret.Secret.
	Secrets []secret.Secret

	// Version is reported to clients.
	Version string
}
