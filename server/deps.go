package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// The interfaces below are what the server needs from the packages it wraps. They are defined
// here, where they are used, so the server builds and is tested against small fakes while the
// adapters and the engine evolve; cmd/netbox-agent fills Deps with the real implementations
// (or thin adapters around them).

// PoolLister lists the storage pools of one TrueNAS instance.
type PoolLister interface {
	// Name is the configured instance name.
	Name() string
	Pools(ctx context.Context) ([]Pool, error)
}

// Pool is one storage pool as list_truenas_pools shows it (the JSON shape of truenas.Pool).
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

// PoolDataset is one dataset or zvol of a pool.
type PoolDataset struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Mountpoint     string `json:"mountpoint,omitempty"`
	UsedBytes      uint64 `json:"used_bytes"`
	AvailableBytes uint64 `json:"available_bytes"`
}

// PoolsVia adapts an adapter's Pools method whose pool type has Pool's JSON shape (such as
// (*truenas.Source).Pools): server.PoolsVia(src.Name(), src.Pools).
func PoolsVia[P any](name string, pools func(context.Context) ([]P, error)) PoolLister {
	return poolsFunc{name: name, pools: func(ctx context.Context) ([]Pool, error) {
		in, err := pools(ctx)
		if err != nil {
			return nil, err
		}
		var out []Pool
		if err := convertJSON(in, &out); err != nil {
			return nil, fmt.Errorf("truenas %q: pools: %w", name, err)
		}
		for i := range out {
			out[i].DatasetCount = len(out[i].Datasets)
		}
		return out, nil
	}}
}

// PoolListerOf adapts a TrueNAS source that offers ListPools(ctx) (any, error) (the value
// having Pool's JSON shape), as *truenas.Source does; false when src has no such method.
func PoolListerOf(src sources.Source) (PoolLister, bool) {
	lp, ok := src.(interface {
		ListPools(ctx context.Context) (any, error)
	})
	if !ok {
		return nil, false
	}
	return PoolsVia(src.Name(), func(ctx context.Context) ([]any, error) {
		v, err := lp.ListPools(ctx)
		if err != nil {
			return nil, err
		}
		var list []any
		if err := convertJSON(v, &list); err != nil {
			return nil, fmt.Errorf("truenas %q: pools: %w", src.Name(), err)
		}
		return list, nil
	}), true
}

type poolsFunc struct {
	name  string
	pools func(context.Context) ([]Pool, error)
}

func (p poolsFunc) Name() string                              { return p.name }
func (p poolsFunc) Pools(ctx context.Context) ([]Pool, error) { return p.pools(ctx) }

// ScanRequest asks the network scanner to look at some targets (the JSON shape of
// netscan.ScanRequest).
type ScanRequest struct {
	// Targets are addresses, CIDR prefixes or ranges, checked by the server for their shape
	// and by the scanner against its allowlist and size limit.
	Targets []string `json:"targets"`
	// Profile is ping, ports, services or os; "" is the configured one.
	Profile string `json:"profile,omitempty"`
	// Ports ("22", "8000-8100"), when set, replace the configured port list.
	Ports []string `json:"ports,omitempty"`
}

// SubnetScanner runs a network scan (netscan). It must refuse targets outside its configured
// networks or above its size limit, honour ctx cancellation (stop nmap) and report progress.
type SubnetScanner interface {
	Scan(ctx context.Context, req ScanRequest, progress sources.Progress) (sources.Result, error)
}

// ScannerVia adapts a Scan method whose request type has ScanRequest's JSON shape (such as
// (*netscan.Source).Scan): server.ScannerVia(ns.Scan).
func ScannerVia[R any](scan func(context.Context, R, sources.Progress) (sources.Result, error)) SubnetScanner {
	return scanFunc(func(ctx context.Context, req ScanRequest, progress sources.Progress) (sources.Result, error) {
		var r R
		if err := convertJSON(req, &r); err != nil {
			return sources.Result{}, fmt.Errorf("scan request: %w", err)
		}
		return scan(ctx, r, progress)
	})
}

type scanFunc func(context.Context, ScanRequest, sources.Progress) (sources.Result, error)

func (f scanFunc) Scan(ctx context.Context, req ScanRequest, p sources.Progress) (sources.Result, error) {
	return f(ctx, req, p)
}

func convertJSON(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// InventoryReader reads one inventory file. The server checks beforehand that the path lies
// inside the configured inventory files (globs allowed) and directories; the reader checks
// again.
type InventoryReader interface {
	// ReadFile parses the file; format is one of InventoryFormats or "" (detect).
	ReadFile(ctx context.Context, path, format string) (sources.Result, error)
}

// InventoryFormats are the format names read_inventory accepts (those of sources/inventory).
var InventoryFormats = []string{"csv", "ansible-ini", "ansible-yaml", "ansible-json", "dnsmasq", "kea", "dhcpd", "hosts"}

// InventoryVia adapts a ReadFile method whose format is a string type (such as
// (*inventory.Source).ReadFile): server.InventoryVia(inv.ReadFile).
func InventoryVia[F ~string](read func(ctx context.Context, path string, format F) (sources.Result, error)) InventoryReader {
	return inventoryFunc(func(ctx context.Context, path, format string) (sources.Result, error) {
		return read(ctx, path, F(format))
	})
}

type inventoryFunc func(ctx context.Context, path, format string) (sources.Result, error)

func (f inventoryFunc) ReadFile(ctx context.Context, path, format string) (sources.Result, error) {
	return f(ctx, path, format)
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

// Conflict is something the engine refused to guess about (the JSON shape of sync.Conflict).
type Conflict struct {
	Kind     string         `json:"kind"` // "identity" (merge), "match" (NetBox candidates), ...
	Key      string         `json:"key"`
	Reason   string         `json:"reason"`
	Evidence []ConflictSide `json:"evidence,omitempty"`
}

// ConflictSide is one party to a conflict with the values that disagree.
type ConflictSide struct {
	Ref    SourceRef         `json:"ref"`
	Name   string            `json:"name,omitempty"`
	Values map[string]string `json:"values,omitempty"`
}

// SourceRef names one observation.
type SourceRef struct {
	Source   string `json:"source"`
	Adapter  string `json:"adapter"`
	NativeID string `json:"native_id"`
}

// NotWritten is one fact (a MAC, an IP, a service, a disk) of an entity that the plan does not
// write, and why (the JSON shape of sync.NotWritten).
type NotWritten struct {
	Entity string `json:"entity"`
	Object string `json:"object,omitempty"`
	Fact   string `json:"fact"`
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Note is something a plan deliberately does not do, and why (a person's edit kept, deletes
// refused by the guard, a source that failed).
type Note struct {
	Object string `json:"object,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

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
