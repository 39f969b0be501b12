package sync

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"slices"
	gosync "sync"
	"time"
)

// Engine plans and applies syncs against one NetBox. It is safe for concurrent use; applies
// are serialised (in this process by a mutex, across processes by a lock object in NetBox).
type Engine struct {
	nb     NetBox
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	holder string

	applyMu gosync.Mutex
	cache   snapCache
}

// NewEngine returns an engine writing to nb. cfg gets its defaults filled; a nil logger
// discards.
func NewEngine(nb NetBox, cfg Config, logger *slog.Logger) *Engine {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.SetDefaults()
	host, _ := os.Hostname()
	return &Engine{nb: nb, cfg: cfg, log: logger, now: time.Now,
		holder: fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:8])}
}

// Plan computes every write needed to bring NetBox in step with the entities. conflicts are
// the merge's conflicts and possible matches (MergeResult.Findings), carried into the plan.
// ran names the sources (instance names) that ran successfully this time: objects seen only
// by other sources are never marked stale or deleted.
func (e *Engine) Plan(ctx context.Context, entities []Entity, conflicts []Conflict, ran map[string]bool) (*Plan, error) {
	t0 := time.Now()
	snap, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	e.log.Debug("snapshot read", "took", time.Since(t0))
	t0 = time.Now()
	p := newPlanner(e, snap, ran)
	p.present, p.presentRefs = presentSources(entities)
	p.plan.addFindings(conflicts) // conflicts and possible matches
	p.planMeta()
	// Room for every action a first sync of these entities makes: growing a slice of ~200-byte
	// actions to tens of thousands copies and faults in far more than it keeps.
	est := 16
	for i := range entities {
		e := &entities[i]
		est += 2 + len(e.Disks) + len(e.Services) // the machine, its primary IP, ...
		if len(e.Interfaces) == 0 {
			est += len(e.IPs)
		}
		for j := range e.Interfaces {
			est += 1 + len(e.Interfaces[j].IPs)
			if e.Interfaces[j].MAC != "" {
				est += 2 // the MAC and the interface's primary MAC
			}
		}
	}
	p.plan.Actions = append(make([]Action, 0, est+len(p.plan.Actions)), p.plan.Actions...) // the tags and custom field
	ents := slices.Clone(entities)
	slices.SortFunc(ents, func(a, b Entity) int {
		// machines first so that host-only entities never claim a machine's IP
		if ka, kb := a.Kind == "host", b.Kind == "host"; ka != kb {
			if ka {
				return 1
			}
			return -1
		}
		if a.ID < b.ID {
			return -1
		} else if a.ID > b.ID {
			return 1
		}
		return 0
	})
	for i := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p.planEntity(&ents[i])
	}
	p.noteFrozen()
	p.planOrphans()
	if acts := p.plan.Actions; len(acts) == 0 {
		p.plan.Actions = nil // as a plan that never had room for any
	} else if cap(acts) > len(acts)+len(acts)/8+64 {
		p.plan.Actions = slices.Clone(acts) // give back the room the estimate left
	}
	p.plan.finish()
	e.log.Debug("plan computed", "took", time.Since(t0))
	e.log.Info("plan ready", "id", p.plan.ID, "create", p.plan.Summary.Create, "update", p.plan.Summary.Update,
		"stale", p.plan.Summary.Stale, "delete", p.plan.Summary.Delete, "conflicts", p.plan.Summary.Conflicts)
	return p.plan, nil
}
