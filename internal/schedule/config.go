package schedule

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Defaults. DefaultConfig holds them all; SetDefaults fills the zero durations.
const (
	DefaultInterval = 15 * time.Minute
	DefaultJitter   = 0.1
	DefaultDebounce = 2 * time.Second
	// MaxJitter keeps a jittered interval at least half the configured one.
	MaxJitter = 0.5
)

// Config is the schedule section of the config file (HTTP mode only).
//
// Start from DefaultConfig() and decode the YAML over it: a zero Jitter means "no jitter",
// so only a config that started from DefaultConfig gets the default 0.1.
type Config struct {
	// Enabled: off by default; the HTTP server then only serves MCP.
	Enabled bool `yaml:"enabled"`
	// Interval: how often each source is discovered, unless Sources says otherwise.
	Interval time.Duration `yaml:"interval"`
	// Sources: per source instance name, an interval overriding Interval.
	Sources map[string]time.Duration `yaml:"sources"`
	// FullSync: every source together, in one run, this often (0 = off).
	FullSync time.Duration `yaml:"full_sync"`
	// Jitter: each wait is the interval times a random factor in [1-Jitter, 1+Jitter], so
	// sources (and agents) started together drift apart. 0..0.5.
	Jitter float64 `yaml:"jitter"`
	// Apply: apply each scheduled plan. Off by default: plans are previewed and recorded (for
	// sync_status) only. The scheduler itself does not read it: the runner does.
	Apply bool `yaml:"apply"`
	// RunAtStart: one run of every source as soon as the scheduler starts.
	RunAtStart bool `yaml:"run_at_start"`
	// Debounce: triggers (an inventory file changed) arriving within this of each other make
	// one run, started once they stop for this long (and at most 10x this after the first).
	Debounce time.Duration `yaml:"debounce"`
}

// DefaultConfig returns the defaults: disabled, 15m per source, no full sync, 10% jitter,
// preview only, 2s debounce.
func DefaultConfig() Config {
	return Config{Interval: DefaultInterval, Jitter: DefaultJitter, Debounce: DefaultDebounce}
}

// SetDefaults fills the zero durations (Interval, Debounce). Jitter is left alone: 0 is a
// valid choice (see DefaultConfig).
func (c *Config) SetDefaults() {
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	c.Debounce = cmp.Or(c.Debounce, DefaultDebounce)
}

// Validate reports every bad value, each message starting with its yaml path. Whether the
// names under sources exist is checked by New, which knows the configured sources.
func (c Config) Validate() []error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval: %s is not a positive interval", formatDuration(c.Interval)))
	}
	names := make([]string, 0, len(c.Sources))
	for name := range c.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := c.Sources[name]; d <= 0 {
			errs = append(errs, fmt.Errorf("sources.%s: %s is not a positive interval", name, formatDuration(d)))
		}
	}
	if c.FullSync < 0 {
		errs = append(errs, fmt.Errorf("full_sync: %s is negative (0 turns full syncs off)", formatDuration(c.FullSync)))
	}
	if math.IsNaN(c.Jitter) || c.Jitter < 0 || c.Jitter > MaxJitter {
		errs = append(errs, fmt.Errorf("jitter: %v is not between 0 and %v", c.Jitter, MaxJitter))
	}
	if c.Debounce < 0 {
		errs = append(errs, fmt.Errorf("debounce: %s is negative", formatDuration(c.Debounce)))
	}
	return errs
}

// intervalOf is the interval of one source.
func (c Config) intervalOf(name string) time.Duration {
	if d, ok := c.Sources[name]; ok {
		return d
	}
	return c.Interval
}

// formatDuration writes a duration the way people write it in the config: 5m, 1h30m, -5m,
// not 5m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
