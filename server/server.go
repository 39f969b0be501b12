package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// Name is the server name clients see.
const Name = "netbox-agent"

// Server is the MCP server of the agent. Build it with New; serve it with ServeStdio or
// ListenAndServe (or mount Handler yourself).
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	scrubber *secret.Scrubber
	metrics  *Metrics
	mcp      *mcpserver.MCPServer
	tools    []string
	regErrs  []error // tools that could not be registered (a broken schema is a bug)

	// stopCtx is cancelled when a shutdown's grace period is over: running applies then stop.
	stopCtx  context.Context
	stopNow  context.CancelFunc
	applying sync.WaitGroup
	// applyMu lets one apply run at a time: two applies of overlapping plans would race.
	applyMu sync.Mutex

	mu        sync.Mutex
	plans     []*Plan // most recent last, bounded by maxPlans
	lastApply *ApplyReport
	applied   map[string]time.Time // plans applied without failures, by id
	runs      []RunRecord          // most recent last, bounded by maxRuns
}

const (
	maxPlans = 8
	maxRuns  = 20
)

// RunRecord is one preview or apply in sync_status.
type RunRecord struct {
	Kind       string    `json:"kind"` // "preview", "apply", "scheduled preview", "scheduled apply"
	PlanID     string    `json:"plan_id,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Status     string    `json:"status"` // ok, failed; for apply: applied, partial, failed, cancelled
	Summary    string    `json:"summary"`
}

// New builds the server and registers a tool for every configured backend. metrics may be
// nil (a fresh registry is made); pass the one whose ObserveNetBoxRequest the netbox client
// reports to.
func New(cfg Config, deps Deps, metrics *Metrics) (*Server, error) {
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("mcp server config: %w", errors.Join(errs...))
	}
	if metrics == nil {
		metrics = NewMetrics()
	}
	scrubber := secret.NewScrubber(append([]secret.Secret{cfg.AuthToken}, deps.Secrets...)...)
	base := deps.Logger
	if base == nil {
		base = slog.New(slog.DiscardHandler)
	}
	logger := slog.New(&scrubHandler{next: base.Handler(), scrubber: scrubber}).With("component", "mcp")
	if deps.Version == "" {
		deps.Version = "dev"
	}
	stopCtx, stopNow := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, deps: deps, log: logger, scrubber: scrubber, metrics: metrics, stopCtx: stopCtx, stopNow: stopNow}

	s.mcp = mcpserver.NewMCPServer(Name, deps.Version,
		mcpserver.WithInstructions(instructions),
		mcpserver.WithToolCapabilities(false),
		mcpserver.WithResourceCapabilities(false, false),
		mcpserver.WithPromptCapabilities(false),
		mcpserver.WithLogging(),
		// No WithElicitation: elicitation is a client capability; advertising it among the
		// server's is wrong (the server asks through InputRequestBuilder all the same).
		mcpserver.WithRecovery(),
		// Arguments are validated by addRawTool (validate.go), with readable messages.
		mcpserver.WithOutputSchemaValidation(),
		mcpserver.WithToolHandlerMiddleware(s.toolMiddleware),
		mcpserver.WithCompletions(),
		mcpserver.WithPromptCompletionProvider(completer{s}),
		mcpserver.WithResourceCompletionProvider(completer{s}),
	)
	s.registerTools()
	s.registerResources()
	s.registerPrompts()
	if len(s.regErrs) > 0 {
		return nil, fmt.Errorf("mcp server: %w", errors.Join(s.regErrs...))
	}
	return s, nil
}

const instructions = `netbox-agent discovers machines (Proxmox, TrueNAS, Home Assistant, network scans, inventory files) and keeps NetBox in step.
Typical flow: preview_sync -> get_plan (review) -> apply_sync with the plan id, after the person agreed.
Results are summaries first; page details with limit/offset.`

// MCPServer is the underlying mcp-go server (for in-process clients in tests and tools).
func (s *Server) MCPServer() *mcpserver.MCPServer { return s.mcp }

// Metrics returns the server's metrics (for the netbox client observer and the scheduler).
func (s *Server) Metrics() *Metrics { return s.metrics }

// Tools lists the names of the registered tools, in registration order.
func (s *Server) Tools() []string { return append([]string(nil), s.tools...) }

// toolMiddleware scrubs secrets from every tool result and counts calls.
func (s *Server) toolMiddleware(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx = context.WithValue(ctx, callKey{}, newCallState())
		res, err := next(ctx, req)
		// The result goes out only after the call's notifications are on the wire.
		s.flushNotifications(ctx)
		if err != nil {
			s.metrics.observeTool(req.Params.Name, true)
			s.log.Warn("tool failed", "tool", req.Params.Name, "error", err)
			return nil, errors.New(s.scrubber.Scrub(err.Error()))
		}
		if res == nil {
			return nil, nil
		}
		s.metrics.observeTool(req.Params.Name, res.IsError)
		for i, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				tc.Text = s.scrubber.Scrub(tc.Text)
				res.Content[i] = tc
			}
		}
		if res.StructuredContent != nil {
			res.StructuredContent = s.scrubValue(res.StructuredContent)
		}
		// The tools page their results to stay far below this; should one not, the model
		// gets a readable refusal instead of a message its client drops with the session.
		if res.IsError {
			// An error names the field and the problem in its first line; a long echo of
			// the input after it is cut, so the refusal still says what was wrong.
			for i, c := range res.Content {
				if tc, ok := c.(mcp.TextContent); ok && len(tc.Text) > maxErrorText {
					tc.Text = fmt.Sprintf("%s… (%d bytes cut)", strings.ToValidUTF8(tc.Text[:maxErrorText], ""), len(tc.Text)-maxErrorText)
					res.Content[i] = tc
				}
			}
		}
		if b, err := json.Marshal(res); err == nil && len(b) > maxResultBytes {
			s.log.Warn("tool result over the size limit", "tool", req.Params.Name, "bytes", len(b))
			return mcp.NewToolResultError(fmt.Sprintf("%s: the result is %d bytes, over the %d-byte limit: ask for a smaller page (limit) or one item", req.Params.Name, len(b), maxResultBytes)), nil
		}
		return res, nil
	}
}

// scrubValue returns v with every secret value replaced, round-tripping through JSON only
// when a secret is actually present.
func (s *Server) scrubValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	clean := s.scrubber.Scrub(string(b))
	if clean == string(b) {
		return v
	}
	var out any
	if err := json.Unmarshal([]byte(clean), &out); err != nil {
		return v
	}
	return out
}

// readOnly annotates a tool that writes nothing and may be repeated; openWorld: it reaches
// systems outside the agent (the sources, NetBox).
func readOnly(openWorld bool) mcp.ToolOption {
	return func(t *mcp.Tool) {
		for _, o := range []mcp.ToolOption{mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
			mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(openWorld)} {
			o(t)
		}
	}
}

// toolSpec is a tool as the server declares it, written {name, title, description} on one line
// per tool. Its input and output schemas are not part of it: newTool takes them from the
// handler's types, so they cannot drift apart.
type toolSpec struct {
	name, title, description string
}

// newTool is spec with In and Out as its input and output schemas, then opts (annotations such
// as readOnly, schema refinements such as withEnum).
func newTool[In, Out any](spec toolSpec, opts ...mcp.ToolOption) mcp.Tool {
	return mcp.NewTool(spec.name, append([]mcp.ToolOption{mcp.WithTitleAnnotation(spec.title),
		mcp.WithDescription(spec.description), mcp.WithInputSchema[In](), mcp.WithOutputSchema[Out]()}, opts...)...)
}

// addTool registers a tool whose handler binds In and returns Out as structured content.
func addTool[In, Out any](s *Server, spec toolSpec, h func(ctx context.Context, req mcp.CallToolRequest, in In) (Out, error), opts ...mcp.ToolOption) {
	tool := newTool[In, Out](spec, opts...)
	s.addRawTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in In
		if err := req.BindArguments(&in); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: bad arguments: %v", tool.Name, err)), nil
		}
		out, err := h(ctx, req, in)
		if err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: %v", tool.Name, err)), nil
		}
		if sm, ok := any(out).(summarizer); ok {
			return mcp.NewToolResultStructured(out, sm.summary()), nil
		}
		return mcp.NewToolResultStructuredOnly(out), nil
	})
}

func (s *Server) addRawTool(tool mcp.Tool, h mcpserver.ToolHandlerFunc) {
	tool = portableTool(tool)
	v, err := newArgsValidator(tool)
	if err != nil {
		s.regErrs = append(s.regErrs, err)
		return
	}
	s.mcp.AddTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := v.check(req.Params.Arguments); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: invalid arguments: %v", tool.Name, err)), nil
		}
		return h(ctx, req)
	})
	s.tools = append(s.tools, tool.Name)
}

// progress returns a sources.Progress that sends notifications/progress when the client
// asked for them (a progress token) and logs otherwise. Progress values only ever increase,
// as the protocol requires, and at most one notification goes out per progressInterval
// (a 2,000-VM discovery reports every VM): the ones in between are only logged.
func (s *Server) progress(ctx context.Context, req mcp.CallToolRequest, what string) sources.Progress {
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	st := callFrom(ctx)
	if st == nil {
		st = newCallState()
	}
	return func(done, total int, message string) {
		s.log.Debug("progress", "what", what, "done", done, "total", total, "message", message)
		if token == nil {
			return
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		p := float64(done)
		now := time.Now()
		if p <= st.last || st.sent > 0 && now.Sub(st.lastSent) < progressInterval {
			return
		}
		st.last, st.lastSent = p, now
		st.sent++
		params := map[string]any{"progressToken": token, "progress": p}
		if total > 0 {
			params["total"] = float64(total)
		}
		if message != "" {
			params["message"] = message
		}
		s.notify(ctx, "notifications/progress", params)
	}
}

func (s *Server) recordRun(r RunRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, r)
	if len(s.runs) > maxRuns {
		s.runs = s.runs[len(s.runs)-maxRuns:]
	}
}

// RecordPlan keeps a plan made outside the tools (the scheduler, --run-once) so get_plan,
// apply_sync, sync_status, the resources and the metrics see it too.
func (s *Server) RecordPlan(p *Plan) {
	s.keepPlan(p)
	sum := summarizePlan(p)
	s.recordRun(RunRecord{Kind: "scheduled preview", PlanID: p.ID, StartedAt: p.CreatedAt, FinishedAt: p.CreatedAt, Status: "ok",
		Summary: fmt.Sprintf("%d create, %d update, %d delete, %d stale, %d conflicts", sum.Create, sum.Update, sum.Delete, sum.Stale, sum.Conflicts)})
}

func (s *Server) keepPlan(p *Plan) {
	s.mu.Lock()
	s.plans = append(s.plans, p)
	if len(s.plans) > maxPlans {
		s.plans = s.plans[len(s.plans)-maxPlans:]
	}
	s.mu.Unlock()
	s.metrics.ObservePlan(p)
}

// RecordApply keeps an apply report made outside the tools (the scheduler).
func (s *Server) RecordApply(r *ApplyReport) {
	s.keepReport(r)
	out := applyOutput(r)
	s.recordRun(RunRecord{Kind: "scheduled apply", PlanID: r.PlanID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Status: out.Status,
		Summary: fmt.Sprintf("%d ok, %d failed, %d skipped, %d changed since plan", out.Summary.OK, out.Summary.Failed, out.Summary.Skipped, out.Summary.Changed)})
}

func (s *Server) keepReport(r *ApplyReport) {
	s.mu.Lock()
	s.lastApply = r
	if applyStatus(r) == "applied" {
		if s.applied == nil {
			s.applied = map[string]time.Time{}
		}
		s.applied[r.PlanID] = r.FinishedAt
	}
	s.mu.Unlock()
	s.metrics.ObserveApply(r)
}

// planArg is findPlan for a tool's plan_id argument: a plan not found is the error to return.
func (s *Server) planArg(ctx context.Context, id string) (*Plan, error) {
	plan, ok := s.findPlan(ctx, id)
	switch {
	case ok:
		return plan, nil
	case id == "":
		return nil, errors.New("no plan yet: run preview_sync first")
	}
	return nil, fmt.Errorf("plan_id: %s is unknown (plans are kept in memory for the last %d previews): run preview_sync", quoteArg(id), maxPlans)
}

// findPlan returns the plan with this id ("" for the latest) from memory, or from the
// syncer's plan store when it has one.
func (s *Server) findPlan(ctx context.Context, id string) (*Plan, bool) {
	s.mu.Lock()
	if id == "" {
		if len(s.plans) > 0 {
			defer s.mu.Unlock()
			return s.plans[len(s.plans)-1], true
		}
		s.mu.Unlock()
		// A new process (every stdio client start) has none in memory: the newest stored
		// plan is the latest.
		latest, ok := s.deps.Sync.(LatestPlanLoader)
		if !ok {
			return nil, false
		}
		p, err := latest.LatestPlan(ctx)
		if err != nil || p == nil {
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("loading the latest stored plan failed", "error", err)
			}
			return nil, false
		}
		s.mu.Lock()
		if len(s.plans) == 0 {
			s.plans = append(s.plans, p)
		}
		s.mu.Unlock()
		return p, true
	}
	for i := len(s.plans) - 1; i >= 0; i-- {
		if s.plans[i].ID == id {
			p := s.plans[i]
			s.mu.Unlock()
			return p, true
		}
	}
	s.mu.Unlock()
	loader, ok := s.deps.Sync.(PlanLoader)
	if !ok {
		return nil, false
	}
	p, err := loader.LoadPlan(ctx, id)
	if err != nil || p == nil || p.ID != id {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("loading a stored plan failed", "plan", id, "error", err)
		}
		return nil, false
	}
	s.mu.Lock()
	s.plans = append(s.plans, p)
	if len(s.plans) > maxPlans {
		s.plans = s.plans[len(s.plans)-maxPlans:]
	}
	s.mu.Unlock()
	return p, true
}

// planApplied reports when a plan was applied without failures, by this process or (through
// the syncer's records) an earlier one.
func (s *Server) planApplied(ctx context.Context, id string) (time.Time, bool) {
	s.mu.Lock()
	at, ok := s.applied[id]
	s.mu.Unlock()
	if ok {
		return at, true
	}
	if rec, isRec := s.deps.Sync.(AppliedRecorder); isRec {
		return rec.PlanApplied(ctx, id)
	}
	return time.Time{}, false
}

func (s *Server) lastReport() *ApplyReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastApply
}

// scrubHandler scrubs secret values from log messages and string attributes.
type scrubHandler struct {
	next     slog.Handler
	scrubber *secret.Scrubber
}

func (h *scrubHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.scrubber.Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *scrubHandler) scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.scrubber.Scrub(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]any, len(attrs))
		for i, g := range attrs {
			clean[i] = h.scrubAttr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.scrubber.Scrub(err.Error()))
		}
		if st, ok := v.Any().(fmt.Stringer); ok {
			return slog.String(a.Key, h.scrubber.Scrub(st.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.scrubAttr(a)
	}
	return &scrubHandler{next: h.next.WithAttrs(clean), scrubber: h.scrubber}
}

func (h *scrubHandler) WithGroup(name string) slog.Handler {
	return &scrubHandler{next: h.next.WithGroup(name), scrubber: h.scrubber}
}
