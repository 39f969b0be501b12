package server

import (
	"github.com/netbox-agent/netbox-agent/sources"

	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
		discoveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "netbox_agent_discovery_duration_seconds",
			Help:    "Time one source took to discover.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}, []string{"source", "adapter"}),
		discoveryCount: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "netbox_agent_discovery_observations",
			Help: "Observations the last discovery of a source returned.",
		}, []string{"source", "adapter"}),
		discoverySkipped: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "netbox_agent_discovery_skipped",
			Help: "Inputs the last discovery of a source left out, by reason (expired lease, malformed MAC, no network identity, ...).",
		}, []string{"source", "adapter", "reason"}),
		discoveryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netbox_agent_discovery_errors_total",
			Help: "Discoveries that failed as a whole.",
		}, []string{"source", "adapter"}),
		conflicts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "netbox_agent_conflicts",
			Help: "Conflicts (identity or match) in the last plan.",
		}),
		planActions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "netbox_agent_plan_actions",
			Help: "Actions in the last plan, by operation.",
		}, []string{"op"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netbox_agent_writes_total",
			Help: "Objects written by apply, by operation, object type and result (ok, failed, skipped, changed).",
		}, []string{"op", "object_type", "status"}),
		applyRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netbox_agent_apply_runs_total",
			Help: "Apply runs by outcome (applied, partial, failed, cancelled).",
		}, []string{"status"}),
		netboxRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netbox_agent_netbox_requests_total",
			Help: "HTTP requests to NetBox by method and status code (0: no response).",
		}, []string{"method", "status"}),
		netboxLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "netbox_agent_netbox_request_duration_seconds",
			Help:    "Latency of NetBox requests by method and endpoint.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "endpoint"}),
		toolCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "netbox_agent_mcp_tool_calls_total",
			Help: "MCP tool calls by tool and outcome (ok, error).",
		}, []string{"tool", "outcome"}),
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
