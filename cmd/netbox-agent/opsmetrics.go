package main

import (
	"context"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netbox-agent/netbox-agent/internal/promdecl"
	"github.com/netbox-agent/netbox-agent/internal/schedule"
	"github.com/netbox-agent/netbox-agent/server"
)

// opsMetrics are what the alert rules in packaging/prometheus need beyond the server's
// metrics: whether /readyz would answer ready, when the last scheduled run succeeded and how
// often runs are due (so "no successful sync for longer than the schedule allows" needs no
// copy of the config in the rules), how many scheduled runs in a row each source failed, and
// how many sources the drop guard held back in the last scheduled plan.
type opsMetrics struct {
	lastSuccess prometheus.Gauge
	failStreak  *prometheus.GaugeVec
	held        prometheus.Gauge

	mu     gosync.Mutex
	ready  func(context.Context) error
	streak map[string]int
}

func newOpsMetrics(reg prometheus.Registerer, sched schedule.Config) *opsMetrics {
	m := &opsMetrics{
		lastSuccess: promdecl.Gauge("netbox_agent_last_success_timestamp_seconds",
			"Unix time the last scheduled run finished without error (0: none yet)."),
		failStreak: promdecl.GaugeVec("netbox_agent_source_consecutive_failures",
			"Scheduled runs in a row in which the source failed (0 after a success).", "source"),
		held: promdecl.Gauge("netbox_agent_dropguard_held_sources",
			"Sources the drop guard treated as failed in the last scheduled plan (they ran but suddenly saw nothing of what they saw before)."),
		streak: map[string]int{},
	}
	interval := promdecl.Gauge("netbox_agent_schedule_interval_seconds",
		"The schedule's interval (schedule.interval; 0: no schedule in this process).")
	if sched.Enabled {
		interval.Set(sched.Interval.Seconds())
	}
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "netbox_agent_ready",
		Help: "1 when /readyz answers ready (NetBox reachable, sources configured, not every source failing), else 0.",
	}, m.readyValue)
	reg.MustRegister(m.lastSuccess, m.failStreak, m.held, interval, ready)
	return m
}

// setReady gives the gauge the same check /readyz runs (cached there for a few seconds, so
// scrapes cost no extra NetBox requests).
func (m *opsMetrics) setReady(f func(context.Context) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ready = f
}

func (m *opsMetrics) readyValue() float64 {
	m.mu.Lock()
	f := m.ready
	m.mu.Unlock()
	if f == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f(ctx) != nil {
		return 0
	}
	return 1
}

// observePlan counts the sources the drop guard held back (sync's note on each reads
// "suspicious: ...; treated as failed").
func (m *opsMetrics) observePlan(p *server.Plan) {
	n := 0
	for _, note := range p.Notes {
		if strings.HasPrefix(note.Object, "source ") && strings.HasPrefix(note.Reason, "suspicious:") {
			n++
		}
	}
	m.held.Set(float64(n))
}

// observeRun updates the failure streaks of the run's sources and the last success time.
func (m *opsMetrics) observeRun(r schedule.Run, out schedule.Outcome, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range r.Sources {
		if out.Err != nil || out.Failed[s] != nil {
			m.streak[s]++
		} else {
			m.streak[s] = 0
		}
		m.failStreak.WithLabelValues(s).Set(float64(m.streak[s]))
	}
	if out.Err == nil {
		m.lastSuccess.Set(float64(now.Unix()))
	}
}

// wrap records every outcome of runner.
func (m *opsMetrics) wrap(runner schedule.Runner) schedule.Runner {
	return func(ctx context.Context, r schedule.Run) schedule.Outcome {
		out := runner(ctx, r)
		m.observeRun(r, out, time.Now())
		return out
	}
}
