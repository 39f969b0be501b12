package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"

	"github.com/netbox-agent/netbox-agent/internal/logging"
	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/sync"
)

// Config is the file format: each package owns its section.
type Config struct {
	Log    logging.Config   `yaml:"log"`
	NetBox netbox.Config    `yaml:"netbox"`
	Merge  sync.MergeConfig `yaml:"merge"`
}

// loadConfig reads the YAML file (strictly), overlays secrets from the environment, fills
// defaults and validates. Every problem found is returned, each with file, line and field path.
func loadConfig(path string, environ map[string]string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ConfigErrors{{File: path, Msg: fmt.Sprintf("cannot read config: %v", unwrapPathError(err))}}
	}
	cfg := &Config{Merge: sync.DefaultMergeConfig()}
	root, yerr := decodeYAML(path, data, cfg)
	var errs ConfigErrors
	if yerr != nil {
		if root == nil { // a syntax error: nothing else can be checked
			return nil, yerr
		}
		// Type errors leave the rest decoded: go on and report everything at once.
		errs = append(errs, yerr.(ConfigErrors)...)
	}
	sections := cfg.sections()
	errs = append(errs, applyEnv(sections, environ)...)
	cfg.setDefaults()
	errs = append(errs, validateSections(path, root, sections)...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b ConfigError) int { return cmp.Compare(a.Line, b.Line) })
		return nil, errs
	}
	return cfg, nil
}

func (c *Config) sections() []section {
	return []section{
		{path: "log", target: &c.Log, validate: c.Log.Validate},
		{path: "netbox", target: &c.NetBox, validate: func() []error { return c.NetBox.Validate() }},
		{path: "merge", target: &c.Merge, validate: c.Merge.Validate},
	}
}

func (c *Config) setDefaults() {
	c.NetBox.SetDefaults()
}

// secrets lists every secret the config holds, for the log scrubber.
func (c *Config) secrets() []secret.Secret {
	var out []secret.Secret
	for _, s := range c.sections() {
		for _, f := range secretFields(s.target) {
			out = append(out, *f.value)
		}
	}
	return out
}
