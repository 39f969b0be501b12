package netboxtest

import (
	"fmt"
	"time"
)

// Config configures a simulator from a file (cmd/netbox-lab). Tokens are test tokens,
// not secrets of any real system.
type Config struct {
	// Profile is the NetBox version simulated: "4.3" (default) or "4.7".
	Profile string `yaml:"profile"`
	// Tokens are the accepted API tokens; empty: one is generated (see Server.Token).
	Tokens []string `yaml:"tokens"`
	// LatencyPerRequest and LatencyPerObject are added to every request (see WithLatency).
	LatencyPerRequest time.Duration `yaml:"latency_per_request"`
	LatencyPerObject  time.Duration `yaml:"latency_per_object"`
	// Workers limits the requests served at once; 0: no limit.
	Workers int `yaml:"workers"`
	// FaultRate is the share of requests (0..1) failed with one of Faults, chosen by a
	// generator seeded with FaultSeed.
	FaultRate float64 `yaml:"fault_rate"`
	FaultSeed uint64  `yaml:"fault_seed"`
	// Faults are fault kinds: rate-limit, server-error, bad-gateway, unavailable, drop, slow.
	Faults []string `yaml:"faults"`
	// ValidateResponses checks every full response against the spec (costly on big lists).
	ValidateResponses bool `yaml:"validate_responses"`
}

// SetDefaults fills in the defaults: profile 4.3; with a fault rate but no kinds, 502 and 503.
func (c *Config) SetDefaults() {
	if c.Profile == "" {
		c.Profile = "4.3"
	}
	if c.FaultRate > 0 && len(c.Faults) == 0 {
		c.Faults = []string{FaultBadGateway.String(), FaultUnavailable.String()}
	}
}

func parseProfile(s string) (Profile, bool) {
	switch s {
	case "4.3", "4.3.7":
		return Profile43, true
	case "4.7", "4.7.1":
		return Profile47, true
	}
	return 0, false
}

func parseFaultKind(s string) (FaultKind, bool) {
	for k := FaultRateLimit; k <= FaultSlow; k++ {
		if k.String() == s {
			return k, true
		}
	}
	return FaultNone, false
}

// Validate reports every problem, each starting with the field's yaml path.
func (c Config) Validate() []error {
	var errs []error
	p, ok := parseProfile(c.Profile)
	if !ok {
		errs = append(errs, fmt.Errorf("profile: %q is not a simulated NetBox version (want 4.3 or 4.7)", c.Profile))
	}
	for i, t := range c.Tokens {
		if !isV1Token(t) && !(ok && p.v2Tokens() && isV2Token(t)) {
			errs = append(errs, fmt.Errorf("tokens[%d]: a token of %d characters is neither a v1 token (40 hex) nor, in 4.7, a v2 token (nbt_<key>.<secret>)", i, len(t)))
		}
	}
	if c.LatencyPerRequest < 0 {
		errs = append(errs, fmt.Errorf("latency_per_request: %v is negative", c.LatencyPerRequest))
	}
	if c.LatencyPerObject < 0 {
		errs = append(errs, fmt.Errorf("latency_per_object: %v is negative", c.LatencyPerObject))
	}
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: %d is negative", c.Workers))
	}
	if c.FaultRate < 0 || c.FaultRate > 1 {
		errs = append(errs, fmt.Errorf("fault_rate: %v is not between 0 and 1", c.FaultRate))
	}
	for i, f := range c.Faults {
		if _, ok := parseFaultKind(f); !ok {
			errs = append(errs, fmt.Errorf("faults[%d]: %q is not a fault kind (rate-limit, server-error, bad-gateway, unavailable, drop, slow)", i, f))
		}
	}
	return errs
}

// Options turns the configuration into server options.
func (c Config) Options() ([]Option, error) {
	c.SetDefaults()
	if errs := c.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("netboxtest config: %w", errs[0])
	}
	p, _ := parseProfile(c.Profile)
	opts := []Option{WithProfile(p), WithLatency(c.LatencyPerRequest, c.LatencyPerObject), WithWorkers(c.Workers),
		WithResponseValidation(c.ValidateResponses)}
	for _, t := range c.Tokens {
		opts = append(opts, WithToken(t))
	}
	if c.FaultRate > 0 {
		var faults []Fault
		for _, f := range c.Faults {
			k, _ := parseFaultKind(f)
			faults = append(faults, Fault{Kind: k, RetryAfter: time.Second, Delay: 2 * time.Second})
		}
		opts = append(opts, WithRandomFaults(c.FaultSeed, c.FaultRate, faults...))
	}
	return opts, nil
}
