package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/netbox-agent/netbox-agent/internal/schedule"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
)

// scheduledRunner is what one scheduled run does: preview the due sources through the same
// syncer the MCP tools use (so sync_status, get_plan and the metrics see it), then apply the
// plan when schedule.apply is on.
func scheduledRunner(cfg schedule.Config, syncer server.Syncer, srv *server.Server, ops *opsMetrics, log *slog.Logger) schedule.Runner {
	return func(ctx context.Context, r schedule.Run) schedule.Outcome {
		log.Info("scheduled run", "reason", r.Reason, "sources", r.Sources, "full", r.Full)
		// Fresh: a run triggered by a change must not see a discovery cached before it.
		plan, err := syncer.Preview(ctx, server.PreviewRequest{Sources: r.Sources, Fresh: true}, nil)
		if err != nil {
			return schedule.Outcome{Err: fmt.Errorf("preview: %w", err)}
		}
		srv.RecordPlan(plan)
		if ops != nil {
			ops.observePlan(plan)
		}
		out := schedule.Outcome{}
		for _, se := range plan.SourceErrors {
			if out.Failed == nil {
				out.Failed = map[string]error{}
			}
			out.Failed[se.Source] = errors.New(se.Error)
		}
		if !cfg.Apply || len(plan.Actions) == 0 {
			return out
		}
		rep, err := syncer.Apply(ctx, plan.ID, nil)
		if rep != nil {
			srv.RecordApply(rep)
		}
		if err != nil {
			out.Err = fmt.Errorf("apply %s: %w", plan.ID, err)
		}
		return out
	}
}

// watchInventories triggers a run of an inventory source when one of its files changes
// (sources.inventory[].watch).
func watchInventories(ctx context.Context, a *agent, sched *schedule.Scheduler) {
	cfgs := configsOf[inventory.Config](&a.cfg.Sources)
	for i, inv := range sourcesOf[*inventory.Source](a.all) {
		if !cfgs[i].Watch {
			continue
		}
		name := inv.Name()
		go func() {
			err := inv.Watch(ctx, func() { sched.Trigger([]string{name}, "inventory changed") })
			if err != nil && ctx.Err() == nil {
				a.log.Error("inventory watch stopped", "source", name, "error", err)
			}
		}()
	}
}

// scheduleReadiness adds the schedule's last results to /readyz: when every source failed its
// last scheduled run, the agent is not doing its job and says which and why.
func scheduleReadiness(base func(context.Context) error, sched *schedule.Scheduler) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := base(ctx); err != nil {
			return err
		}
		var failing []string
		st := sched.Status()
		for _, s := range st {
			if s.LastError == nil {
				return nil
			}
			failing = append(failing, fmt.Sprintf("%s: %v", s.Source, s.LastError))
		}
		if len(failing) == 0 {
			return nil
		}
		return fmt.Errorf("every source failed its last scheduled run: %s", strings.Join(failing, "; "))
	}
}
