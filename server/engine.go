package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
	syncengine "github.com/netbox-agent/netbox-agent/sync"
)

// EngineSyncerConfig configures NewEngineSyncer.
type EngineSyncerConfig struct {
	Engine  *syncengine.Engine
	Sources []sources.Source
	Merge   syncengine.MergeConfig
	// PlanDir, when set, keeps every previewed plan as PlanDir/<id>.json (sync.SavePlan), so a
	// later process (a new stdio session, --apply-plan) can apply it.
	PlanDir string
	// AgentVersion is the agent's version, written into every saved plan (sync.SavePlan).
	AgentVersion string
	// Discovery shares discoveries between concurrent previews and with the discover_*
	// tools (Deps.Discovery); nil discovers every time.
	Discovery *DiscoveryCache
	Metrics   *Metrics
	Logger    *slog.Logger
}

// EngineSyncer is the Syncer of the MCP tools on top of the sync engine: Preview discovers the
// selected sources concurrently, merges and plans; Apply writes a previewed plan by id.
type EngineSyncer struct {
	cfg EngineSyncerConfig
	log *slog.Logger

	// previews shares one preview between concurrent identical requests.
	previews flight[*Plan]

	mu    sync.Mutex
	plans map[string]*syncengine.Plan
	order []string
	// merged are the entities of the latest previews (find_host), by plan id.
	merged      map[string][]syncengine.Entity
	mergedOrder []string
}

// mergedKept is how many previews keep their entities (2,000 machines are a few MB).
const mergedKept = 2

const maxEnginePlans = 16

// Scopes a preview accepts: an entity kind, or "" for everything.
var previewScopes = []string{"", string(sources.KindDevice), string(sources.KindVM), string(sources.KindHost)}

// NewEngineSyncer returns the syncer; Engine and Sources are required.
func NewEngineSyncer(cfg EngineSyncerConfig) (*EngineSyncer, error) {
	if cfg.Engine == nil {
		return nil, errors.New("engine syncer: no sync engine")
	}
	if cfg.PlanDir != "" {
		if err := os.MkdirAll(cfg.PlanDir, 0o700); err != nil {
			return nil, fmt.Errorf("engine syncer: plan_dir: %w", err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EngineSyncer{cfg: cfg, log: log, plans: map[string]*syncengine.Plan{}, merged: map[string][]syncengine.Entity{}}, nil
}

type discovery struct {
	src sources.Source
	res sources.Result
	err error
}

// Preview implements Syncer. A scope (an entity kind) limits the plan to those entities and
// then marks nothing stale: objects outside the scope were not looked at. Concurrent
// identical previews share one run (20 clients previewing one estate cost one discovery and
// one NetBox read).
func (e *EngineSyncer) Preview(ctx context.Context, req PreviewRequest, progress sources.Progress) (*Plan, error) {
	if req.Fresh {
		return e.preview(ctx, req, progress)
	}
	key := req.Scope + "|" + strings.Join(req.Sources, ",")
	p, shared, err := e.previews.do(ctx, key, func(ctx context.Context) (*Plan, error) {
		return e.preview(ctx, req, progress)
	})
	if shared && err == nil {
		progress.Report(1, 1, "plan "+p.ID+" (shared with a concurrent preview)")
	}
	return p, err
}

func (e *EngineSyncer) preview(ctx context.Context, req PreviewRequest, progress sources.Progress) (*Plan, error) {
	if !slices.Contains(previewScopes, req.Scope) {
		return nil, fmt.Errorf("scope: %s is not one of device, virtual_machine, host", quoteArg(req.Scope))
	}
	selected := e.cfg.Sources
	if len(req.Sources) > 0 {
		selected = nil
		for i, name := range req.Sources {
			j := slices.IndexFunc(e.cfg.Sources, func(s sources.Source) bool { return s.Name() == name })
			if j < 0 {
				return nil, fmt.Errorf("sources[%d]: %s is not a configured source", i, quoteArg(name))
			}
			selected = append(selected, e.cfg.Sources[j])
		}
	}
	if len(selected) == 0 {
		return nil, errors.New("no sources configured")
	}

	results := make([]discovery, len(selected))
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	done := 0
	total := len(selected) + 1 // the plan is the last step
	progress.Report(0, total, "discovering")
	for i, src := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := e.cfg.Discovery.discover(ctx, src, nil, req.Fresh)
			if e.cfg.Metrics != nil {
				e.cfg.Metrics.ObserveDiscovery(src.Name(), src.Adapter(), time.Since(start), res, err)
			}
			results[i] = discovery{src: src, res: res, err: err}
			doneMu.Lock()
			done++
			progress.Report(done, total, "discovered "+src.Name())
			doneMu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("preview cancelled: %w", err)
	}

	var (
		obs      []sources.Observation
		srcErrs  []SourceError
		warnings []SourceWarning
		names    []string
	)
	ran := map[string]bool{}
	for _, d := range results {
		names = append(names, d.src.Name())
		if d.err != nil {
			srcErrs = append(srcErrs, SourceError{Source: d.src.Name(), Error: d.err.Error()})
			e.log.Warn("source failed; it orphans nothing", "source", d.src.Name(), "error", d.err)
			continue
		}
		ran[d.src.Name()] = true
		obs = append(obs, d.res.Observations...)
		warnings = append(warnings, sourceWarnings(d.src.Name(), d.res.Warnings)...)
	}
	if len(srcErrs) == len(results) {
		msgs := make([]string, len(srcErrs))
		for i, se := range srcErrs {
			msgs[i] = se.Source + ": " + se.Error
		}
		return nil, fmt.Errorf("every source failed: %s", strings.Join(msgs, "; "))
	}

	merged := syncengine.Merge(obs, e.cfg.Merge)
	entities := merged.Entities
	if req.Scope != "" {
		entities = slices.DeleteFunc(slices.Clone(entities), func(en syncengine.Entity) bool { return string(en.Kind) != req.Scope })
		ran = map[string]bool{}
	}
	plan, err := e.cfg.Engine.Plan(ctx, entities, merged.Findings(), ran)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	progress.Report(total, total, fmt.Sprintf("plan %s: %d actions", plan.ID, len(plan.Actions)))
	if err := e.keep(plan); err != nil {
		return nil, err
	}
	e.keepMerged(plan.ID, entities)
	view := PlanView(plan)
	view.Sources, view.Scope = names, req.Scope
	view.SourceErrors, view.Warnings = srcErrs, warnings
	return view, nil
}

var planIDPattern = regexp.MustCompile(`^[0-9a-f]{8,64}$`)

func (e *EngineSyncer) keep(p *syncengine.Plan) error {
	e.mu.Lock()
	if _, ok := e.plans[p.ID]; !ok {
		e.order = append(e.order, p.ID)
	}
	e.plans[p.ID] = p
	for len(e.order) > maxEnginePlans {
		delete(e.plans, e.order[0])
		e.order = e.order[1:]
	}
	e.mu.Unlock()
	if e.cfg.PlanDir == "" {
		return nil
	}
	if !planIDPattern.MatchString(p.ID) {
		return fmt.Errorf("plan id %q is not a hash: not saved", p.ID)
	}
	return syncengine.SavePlan(filepath.Join(e.cfg.PlanDir, p.ID+".json"), p, e.cfg.AgentVersion)
}

func (e *EngineSyncer) plan(id string) (*syncengine.Plan, error) {
	e.mu.Lock()
	p, ok := e.plans[id]
	e.mu.Unlock()
	if ok {
		return p, nil
	}
	if e.cfg.PlanDir == "" || !planIDPattern.MatchString(id) {
		return nil, fmt.Errorf("plan %q: %w", id, fs.ErrNotExist)
	}
	p, err := syncengine.LoadPlan(filepath.Join(e.cfg.PlanDir, id+".json"))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// LatestPlan implements LatestPlanLoader: the most recently written plan of PlanDir.
func (e *EngineSyncer) LatestPlan(_ context.Context) (*Plan, error) {
	if e.cfg.PlanDir == "" {
		return nil, fmt.Errorf("no plan directory: %w", fs.ErrNotExist)
	}
	entries, err := os.ReadDir(e.cfg.PlanDir)
	if err != nil {
		return nil, err
	}
	var newest string
	var newestAt time.Time
	for _, de := range entries {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || !planIDPattern.MatchString(id) || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		if newest == "" || info.ModTime().After(newestAt) {
			newest, newestAt = id, info.ModTime()
		}
	}
	if newest == "" {
		return nil, fmt.Errorf("no stored plan in %s: %w", e.cfg.PlanDir, fs.ErrNotExist)
	}
	return e.LoadPlan(context.Background(), newest)
}

// PlanApplied implements AppliedRecorder with a marker file beside the plan.
func (e *EngineSyncer) PlanApplied(_ context.Context, id string) (time.Time, bool) {
	if e.cfg.PlanDir == "" || !planIDPattern.MatchString(id) {
		return time.Time{}, false
	}
	info, err := os.Stat(filepath.Join(e.cfg.PlanDir, id+".applied"))
	if err != nil {
		return time.Time{}, false
	}
	return info.ModTime(), true
}

func (e *EngineSyncer) markApplied(id string) {
	if e.cfg.PlanDir == "" || !planIDPattern.MatchString(id) {
		return
	}
	if err := os.WriteFile(filepath.Join(e.cfg.PlanDir, id+".applied"), nil, 0o600); err != nil {
		e.log.Warn("could not record the plan as applied", "plan", id, "error", err)
	}
}

// LoadPlan implements PlanLoader.
func (e *EngineSyncer) LoadPlan(_ context.Context, id string) (*Plan, error) {
	p, err := e.plan(id)
	if err != nil {
		return nil, err
	}
	return PlanView(p), nil
}

// Apply implements Syncer.
func (e *EngineSyncer) Apply(ctx context.Context, planID string, progress sources.Progress) (*ApplyReport, error) {
	p, err := e.plan(planID)
	if err != nil {
		return nil, err
	}
	rep, err := e.cfg.Engine.Apply(ctx, p, progress)
	if rep == nil {
		return nil, err
	}
	view := ReportView(rep)
	if ctx.Err() != nil {
		view.Cancelled = true
	}
	if err == nil && !view.Cancelled && applyStatus(view) == "applied" {
		e.markApplied(planID)
	}
	return view, err
}

// PlanView converts an engine plan for the tools: a create's body is shown as its changes, so
// get_plan says what will be written.
func PlanView(p *syncengine.Plan) *Plan {
	v := &Plan{ID: p.ID, CreatedAt: p.CreatedAt, Sources: []string{}, Actions: make([]PlanAction, 0, len(p.Actions))}
	for _, a := range p.Actions {
		pa := PlanAction{Ref: a.Key, Op: string(a.Op), ObjectType: a.Type, Name: a.Name, NetBoxID: int64(a.ID), FollowUpOf: a.Target, Entity: a.Entity, Reason: a.Reason}
		for _, c := range a.Changes {
			pa.Changes = append(pa.Changes, FieldChange{Field: c.Field, Before: RenderValue(c.Before), After: RenderValue(c.After), Source: c.Source, Reason: c.Reason})
		}
		if len(pa.Changes) == 0 && a.Op == syncengine.OpCreate {
			keys := make([]string, 0, len(a.Body))
			for k := range a.Body {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				pa.Changes = append(pa.Changes, FieldChange{Field: k, After: RenderValue(a.Body[k])})
			}
		}
		v.Actions = append(v.Actions, pa)
	}
	v.Conflicts = slices.Clone(p.Conflicts)
	v.PossibleMatches = slices.Clone(p.PossibleMatches)
	v.Notes = slices.Clone(p.Notes)
	v.NotWritten = slices.Clone(p.NotWritten)
	return v
}

// ReportView converts an engine apply report.
func ReportView(r *syncengine.Report) *ApplyReport {
	v := &ApplyReport{PlanID: r.PlanID, StartedAt: r.Started, FinishedAt: r.Started.Add(r.Duration), Results: make([]ObjectResult, 0, len(r.Results))}
	for _, res := range r.Results {
		st := res.Status
		switch res.Status {
		case syncengine.StatusDone:
			st = ResultOK
		case syncengine.StatusFailed:
			st = ResultFailed
		case syncengine.StatusRefused:
			st = ResultChanged
		case syncengine.StatusSkipped:
			st = ResultSkipped
		}
		v.Results = append(v.Results, ObjectResult{Ref: res.Key, Op: string(res.Op), ObjectType: res.Type, Name: res.Name, Status: st, NetBoxID: int64(res.ID), Error: res.Error})
	}
	return v
}

func (e *EngineSyncer) keepMerged(id string, entities []syncengine.Entity) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.merged[id]; !ok {
		e.mergedOrder = append(e.mergedOrder, id)
	}
	e.merged[id] = entities
	for len(e.mergedOrder) > mergedKept {
		delete(e.merged, e.mergedOrder[0])
		e.mergedOrder = e.mergedOrder[1:]
	}
}

// FindEntities implements EntityFinder.
func (e *EngineSyncer) FindEntities(_ context.Context, planID, query string, limit int) ([]EntityView, error) {
	e.mu.Lock()
	entities, ok := e.merged[planID]
	e.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("plan %s was not previewed by this process: run preview_sync, then find_host", planID)
	}
	q := strings.ToLower(strings.TrimSpace(query))
	ip, ipErr := netip.ParseAddr(q)
	mac, macErr := net.ParseMAC(q)
	var out []EntityView
	for i := range entities {
		en := &entities[i]
		hit := strings.Contains(strings.ToLower(en.Name.V), q)
		if !hit && ipErr == nil {
			hit = slices.Contains(en.IPs, ip)
		}
		if !hit && macErr == nil {
			hit = slices.ContainsFunc(en.MACs, func(m sources.MAC) bool { return strings.EqualFold(string(m), mac.String()) })
		}
		if hit {
			out = append(out, EntityViewOf(en))
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// EntityViewOf converts a merged entity for find_host.
func EntityViewOf(en *syncengine.Entity) EntityView {
	v := EntityView{ID: en.ID, Kind: string(en.Kind), Name: en.Name.V, Sources: append([]SourceRef{}, en.Sources...), Fields: map[string]string{}}
	for _, ev := range en.Evidence {
		v.JoinedBy = append(v.JoinedBy, JoinKey{Key: ev.Key, Strong: ev.Strong, Sources: slices.Clone(ev.Sources)})
	}
	field := func(name, val, src string) {
		if val == "" || val == "0" {
			return
		}
		if src != "" {
			val += " (" + src + ")"
		}
		v.Fields[name] = val
	}
	field("serial", en.Serial.V, en.Serial.Source)
	field("system_uuid", en.SystemUUID.V, en.SystemUUID.Source)
	field("fqdn", en.FQDN.V, en.FQDN.Source)
	field("status", en.Status.V, en.Status.Source)
	field("platform", en.Platform.V, en.Platform.Source)
	field("model", en.Model.V, en.Model.Source)
	field("site", en.Site.V, en.Site.Source)
	field("cluster", en.Cluster.V, en.Cluster.Source)
	field("node", en.Node.V, en.Node.Source)
	field("vcpus", strconv.FormatFloat(en.VCPUs.V, 'f', -1, 64), en.VCPUs.Source)
	field("memory_mb", strconv.FormatInt(en.MemoryMB.V, 10), en.MemoryMB.Source)
	for _, m := range en.MACs {
		v.MACs = append(v.MACs, string(m))
	}
	for _, a := range en.IPs {
		v.IPs = append(v.IPs, a.String())
	}
	return v
}
