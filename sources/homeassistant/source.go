package homeassistant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// Source is one configured Home Assistant instance; it implements sources.Source.
type Source struct {
	cfg    Config
	log    *slog.Logger
	client *client
	now    func() time.Time
}

var _ sources.Source = (*Source)(nil)

// New checks the config (after filling defaults) and returns the source. It does not connect.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	if err := sources.Configure(&cfg); err != nil {
		return nil, fmt.Errorf("homeassistant %q: invalid config: %w", cfg.Name, err)
	}
	logger = sources.AdapterLogger(logger, cfg.Name, AdapterName)
	c, err := newClient(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("homeassistant %q: %w", cfg.Name, err)
	}
	return &Source{
		cfg:    cfg,
		log:    logger,
		client: c,
		now:    time.Now,
	}, nil
}

// Name returns the instance name.
func (s *Source) Name() string { return s.cfg.Name }

// Adapter returns "homeassistant".
func (s *Source) Adapter() string { return AdapterName }

// EnumeratesMachines: two native ids of this source are two machines (identity rules, sync/identity.go).
func (s *Source) EnumeratesMachines() bool { return true }

// Config returns the effective configuration (defaults filled).
func (s *Source) Config() Config { return s.cfg }

// coreConfig is the part of GET /api/config the adapter reads.
type coreConfig struct {
	Version      string `json:"version"`
	LocationName string `json:"location_name"`
	State        string `json:"state"` // RUNNING, STARTING, ...; absent before 2021.x
}

// Check verifies the REST API answers with the token, the core is running, and the websocket
// API accepts the token.
func (s *Source) Check(ctx context.Context) error {
	var running struct {
		Message string `json:"message"`
	}
	if err := s.client.getJSON(ctx, "/api/", &running); err != nil {
		return err
	}
	if _, err := s.coreConfig(ctx); err != nil {
		return err
	}
	sess, err := s.client.openSession(ctx)
	if err != nil {
		return err
	}
	sess.close()
	return nil
}

func (s *Source) coreConfig(ctx context.Context) (coreConfig, error) {
	var cc coreConfig
	if err := s.client.getJSON(ctx, "/api/config", &cc); err != nil {
		return coreConfig{}, err
	}
	// While the core starts, integrations are still loading: their devices and trackers are
	// missing, and reporting that as "gone" would mark them stale.
	if cc.State != "" && cc.State != "RUNNING" {
		return coreConfig{}, s.client.fail("GET", s.client.endpoint("/api/config"),
			fmt.Errorf("core state is %s, not RUNNING: integrations are still loading and the registries may be incomplete; try again later", cc.State))
	}
	return cc, nil
}

// Discover reads the registries and the states and returns the observations. Any failure to
// read or decode one of them fails the whole source (empty result): a partial registry would
// make devices look removed.
func (s *Source) Discover(ctx context.Context, progress sources.Progress) (sources.Result, error) {
	const steps = 6
	start := s.now()
	// The websocket goes first: its auth answer (auth_invalid) is the clearest word on a token.
	progress.Report(0, steps, "opening the websocket API")
	in, err := s.readRegistries(ctx, progress)
	if err != nil {
		return sources.Result{}, err
	}
	progress.Report(4, steps, "reading /api/config")
	cc, err := s.coreConfig(ctx)
	if err != nil {
		return sources.Result{}, err
	}
	progress.Report(5, steps, "reading /api/states")
	if s.cfg.Trackers != TrackersNone {
		var states []rawJSON
		if err := s.client.getJSON(ctx, "/api/states", &states); err != nil {
			return sources.Result{}, err
		}
		if states == nil { // null: reading it as "no trackers" would mark every tracker stale
			return sources.Result{}, s.client.fail("GET", s.client.endpoint("/api/states"), errors.New("answer is null, expected a list"))
		}
		in.states = states
	}
	res, skipped := s.build(in, start.UTC())
	progress.Report(steps, steps, fmt.Sprintf("%d observations", len(res.Observations)))
	s.log.InfoContext(ctx, "home assistant discovered",
		"version", cc.Version, "location", cc.LocationName,
		"devices", len(in.devices), "entities", len(in.entities), "areas", len(in.areas), "states", len(in.states),
		"observations", len(res.Observations), "warnings", len(res.Warnings),
		"skipped_services", skipped.services, "skipped_disabled", skipped.disabled,
		"skipped_without_hardware_facts", skipped.noHardware, "filtered_out", skipped.filtered,
		"skipped_without_network_identity", skipped.noNetwork,
		"duration", s.now().Sub(start).Round(time.Millisecond))
	return res, nil
}

// readRegistries fetches areas, devices and entities over one websocket session.
func (s *Source) readRegistries(ctx context.Context, progress sources.Progress) (input, error) {
	sess, err := s.client.openSession(ctx)
	if err != nil {
		return input{}, err
	}
	defer sess.close()
	var in input
	for i, r := range []struct {
		command string
		into    *[]rawJSON
	}{
		{"config/area_registry/list", &in.areas},
		{"config/device_registry/list", &in.devices},
		{"config/entity_registry/list", &in.entities},
	} {
		progress.Report(1+i, 6, r.command)
		result, err := sess.command(ctx, r.command)
		if err != nil {
			return input{}, err
		}
		if err := decodeList(result, r.into); err != nil {
			return input{}, s.client.fail(r.command, sess.url, err)
		}
	}
	return in, nil
}

// sortObservations orders observations by native id for deterministic output.
func sortObservations(obs []sources.Observation) {
	slices.SortFunc(obs, func(a, b sources.Observation) int { return cmp.Compare(a.NativeID, b.NativeID) })
}
