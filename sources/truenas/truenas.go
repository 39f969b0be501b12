package truenas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources"
)

// Source is one configured TrueNAS system. It is safe for concurrent use: every Discover,
// Check or Pools call opens its own session.
type Source struct {
	cfg      Config
	ep       endpoints
	client   *http.Client
	log      *slog.Logger
	scrubber *secret.Scrubber
}

var _ sources.Source = (*Source)(nil)

// New validates cfg (after SetDefaults) and returns the source. It does not contact the system.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if err := sources.Configure(&cfg); err != nil {
		return nil, fmt.Errorf("truenas source %q: invalid config: %w", cfg.Name, err)
	}
	ep, err := parseEndpoints(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("truenas source %q: %w", cfg.Name, err)
	}
	logger = sources.AdapterLogger(logger, cfg.Name, AdapterName)
	client, err := newHTTPClient(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("truenas source %q: %w", cfg.Name, err)
	}
	s := &Source{cfg: cfg, ep: ep, client: client, scrubber: secret.NewScrubber(cfg.APIKey), log: logger}
	if !strings.HasPrefix(ep.rest, "https://") {
		s.log.Warn("the API key travels unencrypted (allow_insecure_transport): TrueNAS may revoke it", "url", ep.rest)
	}
	return s, nil
}

// Name is the configured instance name.
func (s *Source) Name() string { return s.cfg.Name }

// Adapter is "truenas".
func (s *Source) Adapter() string { return AdapterName }

// EnumeratesMachines: two native ids of this source are two machines (identity rules, sync/identity.go).
func (s *Source) EnumeratesMachines() bool { return true }

// sourceError is an error whose message names the source and is scrubbed of the API key.
type sourceError struct {
	msg string
	err error
}

func (e *sourceError) Error() string { return e.msg }
func (e *sourceError) Unwrap() error { return e.err }

func (s *Source) fail(err error) error {
	return &sourceError{msg: s.scrubber.Scrub(fmt.Sprintf("truenas source %q: %v", s.cfg.Name, err)), err: err}
}

// connect opens a session with the configured API. auto tries the websocket first: it is the
// only API of TrueNAS 26 and the supported one from 25.04, while REST is deprecated there; it
// falls back to REST only when the websocket endpoint is absent (CORE 13, SCALE < 25.04), never
// on a login, TLS or timeout failure, which REST would repeat.
func (s *Source) connect(ctx context.Context) (conn, error) {
	rest := &restConn{peer: peer{url: s.ep.rest, apiName: APIREST, timeout: s.cfg.Timeout}, client: s.client, key: s.cfg.APIKey}
	switch {
	case s.cfg.API == APIREST:
		return rest, nil
	case s.cfg.API == APIWebsocket || s.ep.websocketOnly:
		return dialWebsocket(ctx, s.ep.websocket, s.client, s.cfg)
	}
	w, err := dialWebsocket(ctx, s.ep.websocket, s.client, s.cfg)
	if err == nil {
		s.log.Debug("using the websocket API", "url", s.ep.websocket)
		return w, nil
	}
	if errors.Is(err, errEndpointMissing) {
		s.log.Debug("no websocket API, using REST v2.0", "url", s.ep.rest, "cause", s.scrubber.Scrub(err.Error()))
		return rest, nil
	}
	return nil, err
}

// Check verifies that the system answers and the API key works.
func (s *Source) Check(ctx context.Context) error {
	c, err := s.connect(ctx)
	if err != nil {
		return s.fail(err)
	}
	defer c.close()
	var info systemInfo
	if err := fetchObject(ctx, c, "system.info", &info); err != nil {
		return s.fail(err)
	}
	return nil
}

// datasetParams asks pool.dataset.query for a flat list without nested children. REST ignores
// it, so the reader dedups either way.
var datasetParams = []any{[]any{}, map[string]any{"extra": map[string]any{"retrieve_children": false}}}

// snapshot is everything one discovery read.
type snapshot struct {
	info       systemInfo
	network    networkConfig
	interfaces []interfacePayload
	disks      []diskPayload
	pools      []poolPayload
	datasets   []datasetPayload
	nfs        []nfsShare
	smb        []smbShare
	iscsi      iscsiGlobal
	targets    []iscsiTarget
	extents    []iscsiExtent
	warnings   []sources.Warning
}

// fetchAll reads every collection. Any failed call fails the whole read: one device carries
// all of it, and a half-read system would look like shares or pools that vanished.
func (s *Source) fetchAll(ctx context.Context, c conn, progress sources.Progress) (*snapshot, error) {
	snap := &snapshot{}
	steps := []fetchStep{
		objectStep("system.info", &snap.info),
		objectStep("network.configuration.config", &snap.network),
		listStep("interface.query", nil, &snap.interfaces, &snap.warnings),
		listStep("disk.query", nil, &snap.disks, &snap.warnings),
		listStep("pool.query", nil, &snap.pools, &snap.warnings),
		listStep("pool.dataset.query", datasetParams, &snap.datasets, &snap.warnings),
		listStep("sharing.nfs.query", nil, &snap.nfs, &snap.warnings),
		listStep("sharing.smb.query", nil, &snap.smb, &snap.warnings),
		objectStep("iscsi.global.config", &snap.iscsi),
		listStep("iscsi.target.query", nil, &snap.targets, &snap.warnings),
		listStep("iscsi.extent.query", nil, &snap.extents, &snap.warnings),
	}
	for i, st := range steps {
		if err := st.read(ctx, c); err != nil {
			return nil, err
		}
		progress.Report(i+1, len(steps), st.method)
	}
	return snap, nil
}

// fetchStep is one call of fetchAll: the middleware method (also the progress label) and how
// its answer lands in the snapshot.
type fetchStep struct {
	method string
	read   func(ctx context.Context, c conn) error
}

// objectStep reads a method that answers one object into out.
func objectStep[T any](method string, out *T) fetchStep {
	return fetchStep{method, func(ctx context.Context, c conn) error { return fetchObject(ctx, c, method, out) }}
}

// listStep reads a method that answers a list into out (fetchList: bad items become warnings).
func listStep[T any](method string, params []any, out *[]T, warnings *[]sources.Warning) fetchStep {
	return fetchStep{method, func(ctx context.Context, c conn) (err error) {
		*out, err = fetchList[T](ctx, c, method, params, warnings)
		return err
	}}
}

// callErr puts the endpoint into websocket call errors (REST errors already name their URL).
func callErr(c conn, err error) error {
	if c.api() == APIWebsocket {
		return fmt.Errorf("%s: %w", c.endpoint(), err)
	}
	return err
}

func fetchObject[T any](ctx context.Context, c conn, method string, out *T) error {
	raw, err := c.call(ctx, method, nil)
	if err != nil {
		return callErr(c, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return callErr(c, fmt.Errorf("%s: unexpected answer: %w", method, err))
	}
	return nil
}

// fetchList decodes a list item by item: an item that does not decode is a warning, the rest
// are kept. An answer that is not a list fails.
func fetchList[T any](ctx context.Context, c conn, method string, params []any, warnings *[]sources.Warning) ([]T, error) {
	raw, err := c.call(ctx, method, params)
	if err != nil {
		return nil, callErr(c, err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, callErr(c, fmt.Errorf("%s: expected a list: %w", method, err))
	}
	out := make([]T, 0, len(items))
	for i, item := range items {
		var v T
		if err := json.Unmarshal(item, &v); err != nil {
			*warnings = append(*warnings, sources.Warning{Item: fmt.Sprintf("%s[%d]", method, i),
				Message: "skipped: " + describeDecodeError[T](item, err)})
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// describeDecodeError names the field of item that T could not read, with its value: a custom
// decoder's error carries neither. It decodes item's fields one at a time to find it.
func describeDecodeError[T any](item json.RawMessage, err error) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(item, &fields) != nil {
		return err.Error()
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		var v T
		if ferr := json.Unmarshal(one, &v); ferr != nil {
			val := string(fields[k])
			if len(val) > 80 {
				val = val[:80] + "..."
			}
			return fmt.Sprintf("field %s = %s: %v", k, val, ferr)
		}
	}
	return err.Error()
}

// Discover reads the system and returns one device observation.
func (s *Source) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return sources.Result{}, s.fail(err)
	}
	defer c.close()
	snap, err := s.fetchAll(ctx, c, progress)
	if err != nil {
		return sources.Result{}, s.fail(err)
	}
	obs, warnings := s.observe(snap)
	for i := range warnings {
		warnings[i].Message = s.scrubber.Scrub(warnings[i].Message)
	}
	res := sources.Result{Observations: []sources.Observation{obs}}
	res.AddWarnings(warnings...)
	return res, nil
}

// Pools reads the pools with their datasets: what the list_truenas_pools tool reports.
func (s *Source) Pools(ctx context.Context) ([]Pool, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, s.fail(err)
	}
	defer c.close()
	var warnings []sources.Warning
	pools, err := fetchList[poolPayload](ctx, c, "pool.query", nil, &warnings)
	if err != nil {
		return nil, s.fail(err)
	}
	datasets, err := fetchList[datasetPayload](ctx, c, "pool.dataset.query", datasetParams, &warnings)
	if err != nil {
		return nil, s.fail(err)
	}
	flat, w := flattenDatasets(datasets)
	for _, w := range append(warnings, w...) {
		s.log.Warn("skipped an item", "item", w.Item, "problem", s.scrubber.Scrub(w.Message))
	}
	return buildPools(pools, flat), nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func join(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " — ")
}
