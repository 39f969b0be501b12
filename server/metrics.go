package server

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netbox-agent/netbox-agent/internal/promdecl"
	"github.com/netbox-agent/netbox-agent/sources"
)

// Metrics are the Prometheus metrics of one agent, on their own registry (never the global
// default, so two servers in one test process do not collide).
type Metrics struct {
	registry *prometheus.Registry

	discoveryDuration *prometheus.HistogramVec
	discoveryCount    *prometheus.GaugeVec
	discoverySkipped  *prometheus.GaugeVec
	discoveryErrors   *prometheus.CounterVec
	conflicts         prometheus.Gauge
	planActions       *prometheus.GaugeVec
	writes            *prometheus.CounterVec
	applyRuns         *prometheus.CounterVec
	netboxRequests    *prometheus.CounterVec
	netboxLatency     *prometheus.HistogramVec
	toolCalls         *prometheus.CounterVec
}

// NewMetrics registers the agent's metrics (and the Go and process collectors) on a new
// registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		discoveryDuration: promdecl.HistogramVec("netbox_agent_discovery_duration_seconds", "Time one source took to discover.",
			[]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}, "source", "adapter"),
		discoveryCount: promdecl.GaugeVec("netbox_agent_discovery_observations",
			"Observations the last discovery of a source returned.", "source", "adapter"),
		discoverySkipped: promdecl.GaugeVec("netbox_agent_discovery_skipped",
			"Inputs the last discovery of a source left out, by reason (expired lease, malformed MAC, no network identity, ...).",
			"source", "adapter", "reason"),
		discoveryErrors: promdecl.CounterVec("netbox_agent_discovery_errors_total", "Discoveries that failed as a whole.",
			"source", "adapter"),
		conflicts:   promdecl.Gauge("netbox_agent_conflicts", "Conflicts (identity or match) in the last plan."),
		planActions: promdecl.GaugeVec("netbox_agent_plan_actions", "Actions in the last plan, by operation.", "op"),
		writes: promdecl.CounterVec("netbox_agent_writes_total",
			"Objects written by apply, by operation, object type and result (ok, failed, skipped, changed).",
			"op", "object_type", "status"),
		applyRuns: promdecl.CounterVec("netbox_agent_apply_runs_total",
			"Apply runs by outcome (applied, partial, failed, cancelled).", "status"),
		netboxRequests: promdecl.CounterVec("netbox_agent_netbox_requests_total",
			"HTTP requests to NetBox by method and status code (0: no response).", "method", "status"),
		netboxLatency: promdecl.HistogramVec("netbox_agent_netbox_request_duration_seconds",
			"Latency of NetBox requests by method and endpoint.", prometheus.DefBuckets, "method", "endpoint"),
		toolCalls: promdecl.CounterVec("netbox_agent_mcp_tool_calls_total", "MCP tool calls by tool and outcome (ok, error).",
			"tool", "outcome"),
	}
	m.registry.MustRegister(
		m.discoveryDuration, m.discoveryCount, m.discoverySkipped, m.discoveryErrors, m.conflicts, m.planActions,
		m.writes, m.applyRuns, m.netboxRequests, m.netboxLatency, m.toolCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry /metrics serves; cmd may register more collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveDiscovery records one source's discovery: its duration, what it returned and the
// inputs it left out per reason (a reason absent this time is dropped, not kept at its old count).
func (m *Metrics) ObserveDiscovery(source, adapter string, d time.Duration, res sources.Result, err error) {
	m.discoveryDuration.WithLabelValues(source, adapter).Observe(d.Seconds())
	if err != nil {
		m.discoveryErrors.WithLabelValues(source, adapter).Inc()
		return
	}
	m.discoveryCount.WithLabelValues(source, adapter).Set(float64(len(res.Observations)))
	m.discoverySkipped.DeletePartialMatch(prometheus.Labels{"source": source, "adapter": adapter})
	for _, sk := range res.Skipped {
		m.discoverySkipped.WithLabelValues(source, adapter, sk.Reason).Set(float64(sk.Count))
	}
}

// ObservePlan records the action counts and conflicts of a new plan.
func (m *Metrics) ObservePlan(p *Plan) {
	counts := map[string]int{OpCreate: 0, OpUpdate: 0, OpDelete: 0, OpStale: 0}
	for _, a := range p.Actions {
		counts[a.Op]++
	}
	for op, n := range counts {
		m.planActions.WithLabelValues(op).Set(float64(n))
	}
	m.conflicts.Set(float64(len(p.Conflicts)))
}

// ObserveApply records the writes of an apply run.
func (m *Metrics) ObserveApply(r *ApplyReport) {
	for _, res := range r.Results {
		m.writes.WithLabelValues(res.Op, res.ObjectType, res.Status).Inc()
	}
	m.applyRuns.WithLabelValues(applyStatus(r)).Inc()
}

// ObserveNetBoxRequest records one request to NetBox: connect it to the netbox client's
// request observer. status is 0 when no response came back. The path is reduced to its
// endpoint (ids and query dropped) to keep label cardinality bounded.
func (m *Metrics) ObserveNetBoxRequest(method, path string, status int, d time.Duration) {
	m.netboxRequests.WithLabelValues(method, strconv.Itoa(status)).Inc()
	m.netboxLatency.WithLabelValues(method, netboxEndpoint(path)).Observe(d.Seconds())
}

func (m *Metrics) observeTool(tool string, isError bool) {
	outcome := "ok"
	if isError {
		outcome = "error"
	}
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
}

// netboxEndpoint turns "/api/dcim/devices/12/?limit=5" into "/api/dcim/devices/".
func netboxEndpoint(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	parts := strings.Split(path, "/")
	out := parts[:0]
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			continue
		}
		out = append(out, p)
	}
	e := strings.Join(out, "/")
	if !strings.HasSuffix(e, "/") {
		e += "/"
	}
	return e
}
