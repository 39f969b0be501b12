package sync

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	gosync "sync"
	"time"
)

// Result statuses of one action.
const (
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusRefused = "refused" // changed in NetBox since the plan
	StatusSkipped = "skipped" // depends on an action that was not done
)

// ActionResult is what happened to one action of the plan.
type ActionResult struct {
	Key    string `json:"key"`
	Op     Op     `json:"op"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	ID     int    `json:"id,omitempty"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// ReportSummary counts what an apply did.
type ReportSummary struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Stale   int `json:"stale"`
	Deleted int `json:"deleted"`
	Failed  int `json:"failed"`
	Refused int `json:"refused"`
	Skipped int `json:"skipped"`
}

// Report is the outcome of an apply, per action.
type Report struct {
	PlanID   string         `json:"plan_id"`
	Started  time.Time      `json:"started"`
	Duration time.Duration  `json:"duration_ns"`
	Results  []ActionResult `json:"results"`
	Summary  ReportSummary  `json:"summary"`
}

// OK reports whether every action was done.
func (r *Report) OK() bool {
	return r.Summary.Failed == 0 && r.Summary.Refused == 0 && r.Summary.Skipped == 0
}

// Apply writes the plan: it takes the apply lock, re-reads every object the plan touches and
// refuses the actions on objects changed since the plan, then writes level by level in bulk,
// resolving references to objects created earlier in the same apply. One failed object fails
// only itself and what depends on it. The error is for the apply as a whole (lock held,
// NetBox unreachable, plan modified); per-object failures are in the report. progress (may
// be nil) is called after each bulk group, one call at a time.
func (e *Engine) Apply(ctx context.Context, plan *Plan, progress func(done, total int, msg string)) (*Report, error) {
	if !plan.sealed { // plans made or loaded by this package were verified already
		if err := plan.Verify(); err != nil {
			return nil, err
		}
	}
	if !e.applyMu.TryLock() {
		return nil, fmt.Errorf("%w in this process", ErrLocked)
	}
	defer e.applyMu.Unlock()
	if progress == nil {
		progress = func(int, int, string) {}
	}
	rep := &Report{PlanID: plan.ID, Started: e.now()}
	if plan.Empty() {
		return rep, nil
	}
	release, err := e.acquireLock(ctx)
	if err != nil {
		return nil, err
	}
	// After the lock is released (its tag's delete is in the log too), the cache catches up
	// with what this apply wrote, so the next run reads only what others changed.
	defer e.refreshCache(context.WithoutCancel(ctx))
	defer release()

	results := make(map[string]*ActionResult, len(plan.Actions))
	for _, a := range plan.Actions {
		results[a.Key] = &ActionResult{Key: a.Key, Op: a.Op, Type: a.Type, Name: a.Name, ID: a.ID}
	}
	if err := e.refuseChanged(ctx, plan, results); err != nil {
		return nil, err
	}
	e.log.Debug("plan's objects re-read", "took", time.Since(rep.Started))
	ids := map[string]int{}
	for _, a := range plan.Actions {
		if a.ID != 0 {
			ids[a.Key] = a.ID
		}
	}
	total, done := len(plan.Actions), 0
	var mu gosync.Mutex
	groups := groupActions(plan.Actions, results)
	slots := newWriteSlots(writeSlots)
	var progressMu gosync.Mutex // progress is called once at a time
	var wg gosync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(g.done)
			for _, d := range g.deps {
				<-groups[d].done
			}
			if err := ctx.Err(); err != nil {
				mu.Lock()
				for _, a := range g.acts {
					if r := results[a.Key]; r.Status == "" {
						r.Status, r.Error = StatusSkipped, "apply cancelled: "+err.Error()
					}
				}
				mu.Unlock()
				return
			}
			// Chunks of one bulk request each, at most writeSlots at once across the apply:
			// only a few chunks' resolved bodies and NetBox's answers are in memory at a time.
			var cwg gosync.WaitGroup
			for chunk := range slices.Chunk(g.acts, writeChunk) {
				slots.acquire(g.level)
				cwg.Add(1)
				go func() {
					defer func() { slots.release(); cwg.Done() }()
					e.writeGroup(ctx, g.ep, g.op, chunk, ids, results, &mu)
				}()
			}
			cwg.Wait()
			progressMu.Lock()
			defer progressMu.Unlock()
			mu.Lock()
			done += len(g.acts)
			d := done
			mu.Unlock()
			e.log.Debug("group written", "level", g.level, "op", g.op, "endpoint", g.ep, "n", len(g.acts), "since_start", time.Since(rep.Started))
			progress(d, total, fmt.Sprintf("%s %d %s", g.op, len(g.acts), typeOf(g.ep)))
		}()
	}
	wg.Wait()
	for _, a := range plan.Actions {
		r := results[a.Key]
		rep.Results = append(rep.Results, *r)
		switch r.Status {
		case StatusDone:
			switch a.Op {
			case OpCreate:
				rep.Summary.Created++
			case OpUpdate:
				rep.Summary.Updated++
			case OpStale:
				rep.Summary.Stale++
			case OpDelete:
				rep.Summary.Deleted++
			}
		case StatusFailed:
			rep.Summary.Failed++
		case StatusRefused:
			rep.Summary.Refused++
		default:
			rep.Summary.Skipped++
		}
	}
	rep.Duration = e.now().Sub(rep.Started)
	e.log.Info("apply done", "plan", plan.ID, "created", rep.Summary.Created, "updated", rep.Summary.Updated,
		"stale", rep.Summary.Stale, "deleted", rep.Summary.Deleted, "failed", rep.Summary.Failed,
		"refused", rep.Summary.Refused, "skipped", rep.Summary.Skipped)
	return rep, nil
}

// refuseChanged re-reads every existing object the plan touches and refuses its actions when
// NetBox's last_updated differs from the plan's (or the object is gone).
func (e *Engine) refuseChanged(ctx context.Context, plan *Plan, results map[string]*ActionResult) error {
	byEP := map[string][]int{}
	for _, a := range plan.Actions {
		if a.ID != 0 {
			byEP[a.Endpoint] = append(byEP[a.Endpoint], a.ID)
		}
	}
	var reads []ReadSpec
	for _, ep := range slices.Sorted(maps.Keys(byEP)) {
		ids := uniqueInts(byEP[ep])
		for i := 0; i < len(ids); i += 200 {
			chunk := ids[i:min(i+200, len(ids))]
			parts := make([]string, len(chunk))
			for j, id := range chunk {
				parts[j] = strconv.Itoa(id)
			}
			reads = append(reads, ReadSpec{Key: fmt.Sprintf("%s#%d", ep, i), Endpoint: ep,
				Query: url.Values{"id": parts}}) // NetBox ignores id__in (no "in" lookup on id)
		}
	}
	if len(reads) == 0 {
		return nil
	}
	got, err := e.nb.Snapshot(ctx, reads)
	if err != nil {
		return fmt.Errorf("re-reading the objects the plan touches: %w", err)
	}
	current := map[string]Object{}
	for _, r := range reads {
		for _, o := range got[r.Key] {
			current[objKey(r.Endpoint, objID(o))] = o
		}
	}
	refusedObj := map[string]string{}
	for _, a := range plan.Actions {
		if a.ID == 0 {
			continue
		}
		k := objKey(a.Endpoint, a.ID)
		cur, ok := current[k]
		switch {
		case !ok:
			refusedObj[k] = "no longer in NetBox"
		case objStr(cur, "last_updated") != a.LastUpdated:
			refusedObj[k] = fmt.Sprintf("changed in NetBox since the plan (last_updated %s, the plan saw %s): not overwritten; plan again",
				objStr(cur, "last_updated"), a.LastUpdated)
		}
	}
	for _, a := range plan.Actions {
		if why, bad := refusedObj[objKey(a.Endpoint, a.ID)]; bad && a.ID != 0 {
			results[a.Key].Status, results[a.Key].Error = StatusRefused, why
		}
	}
	return nil
}

// writeGroup writes one bulk group (one endpoint, one op) of a level.
func (e *Engine) writeGroup(ctx context.Context, ep string, op Op, acts []*Action, ids map[string]int,
	results map[string]*ActionResult, mu *gosync.Mutex) {
	var send []*Action
	var bodies []Object
	var delIDs []int
	mu.Lock()
	for _, a := range acts {
		if a.Target != "" {
			if id, ok := ids[a.Target]; ok {
				results[a.Key].ID = id
			}
		}
		if op == OpDelete {
			send = append(send, a)
			delIDs = append(delIDs, a.ID)
			continue
		}
		body, missing := resolve(a.Body, ids) // a copy only where the body refers to objects of this apply
		if missing != "" {
			r := results[a.Key]
			r.Status = StatusSkipped
			r.Error = fmt.Sprintf("depends on %s, which was not written", missing)
			if dep := results[missing]; dep != nil && dep.Error != "" {
				r.Error += " (" + dep.Error + ")"
			}
			continue
		}
		send = append(send, a)
		bodies = append(bodies, body.(map[string]any))
	}
	mu.Unlock()
	if len(send) == 0 {
		return
	}
	var res []WriteResult
	switch op {
	case OpCreate:
		res = e.nb.Create(ctx, ep, bodies)
	case OpUpdate, OpStale:
		res = e.nb.Update(ctx, ep, bodies)
	case OpDelete:
		res = e.nb.Delete(ctx, ep, delIDs)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, a := range send {
		r := results[a.Key]
		if i >= len(res) {
			r.Status, r.Error = StatusFailed, "no result from NetBox client"
			continue
		}
		if res[i].Err != nil {
			r.Status, r.Error = StatusFailed, res[i].Err.Error()
			e.log.Warn("write failed", "op", op, "type", typeOf(ep), "name", a.Name, "error", res[i].Err)
			continue
		}
		r.Status = StatusDone
		if op == OpCreate {
			id := objID(res[i].Object)
			ids[a.Key] = id
			r.ID = id
		}
	}
}
