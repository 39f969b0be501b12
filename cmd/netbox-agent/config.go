package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/logging"
	"github.com/netbox-agent/netbox-agent/internal/schedule"
	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sync"
)

// Config is the file format: each package owns its section.
type Config struct {
	Log    logging.Config   `yaml:"log"`
	NetBox netbox.Config    `yaml:"netbox"`
	Merge  sync.MergeConfig `yaml:"merge"`
	Sync   sync.Config      `yaml:"sync"`
	MCP    server.Config    `yaml:"mcp"`
	Run    RunConfig        `yaml:"run"`
	// Schedule runs the pipeline periodically in the HTTP mode.
	Schedule schedule.Config `yaml:"schedule"`
	// StateDir keeps previewed plans (StateDir/plans) so a later process can apply them.
	StateDir string `yaml:"state_dir"`
	// Sources is decoded by the adapter table (see fileShape), not by this struct's tags.
	Sources SourcesConfig `yaml:"-"`
}

// RunConfig is how the pipeline runs its sources.
type RunConfig struct {
	// SourceTimeout bounds one source's discovery; a source past it fails alone.
	SourceTimeout time.Duration `yaml:"source_timeout"`
}

func (c *RunConfig) SetDefaults() {
	c.SourceTimeout = cmp.Or(c.SourceTimeout, 5*time.Minute)
}

func (c RunConfig) Validate() []error {
	if c.SourceTimeout < 0 {
		return []error{fmt.Errorf("source_timeout: %s is negative", c.SourceTimeout)}
	}
	return nil
}

// loadConfig reads the YAML file (strictly), overlays secrets from the environment, fills
// defaults and validates. Every problem found is returned, each with file, line and field path.
func loadConfig(path string, environ map[string]string) (*Config, error) {
	return loadConfigOf(path, environ, adapterKinds)
}

// loadConfigOf is loadConfig with the adapters of a table.
func loadConfigOf(path string, environ map[string]string, kinds []adapterKind) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, ConfigErrors{{File: path, Msg: fmt.Sprintf("cannot read config: %v", unwrapPathError(err))}}
	}
	cfg := &Config{Merge: sync.DefaultMergeConfig(), Schedule: schedule.DefaultConfig()}
	root, yerr := newFileShape(kinds).decode(path, data, cfg)
	var errs ConfigErrors
	if yerr != nil {
		if root == nil { // a syntax error: nothing else can be checked
			return nil, yerr
		}
		// Type errors leave the rest decoded: go on and report everything at once.
		errs = append(errs, yerr.(ConfigErrors)...)
	}
	cfg.setDefaults()
	sections := cfg.sections()
	errs = append(errs, applyEnv(sections, environ)...)
	errs = append(errs, validateSections(path, root, sections)...)
	errs = append(errs, cfg.checkNames(path, root)...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b ConfigError) int { return cmp.Compare(a.Line, b.Line) })
		return nil, errs
	}
	return cfg, nil
}

// instanceSection is one source instance: secrets from ADAPTER_NAME (every instance) and
// ADAPTER_<INSTANCE>_NAME (this one), e.g. PROXMOX_TOKEN_SECRET, PROXMOX_PVE_LAB_TOKEN_SECRET.
func instanceSection(adapter string, i int, name string, target any, validate func() []error) section {
	prefix := envName(adapter) + "_"
	prefixes := []string{prefix}
	if name != "" {
		prefixes = append(prefixes, prefix+envName(name)+"_")
	}
	return section{path: fmt.Sprintf("sources.%s[%d]", adapter, i), envPrefixes: prefixes, target: target, validate: validate}
}

func (c *Config) sections() []section {
	s := []section{
		{path: "log", target: &c.Log, validate: c.Log.Validate},
		{path: "netbox", target: &c.NetBox, validate: func() []error { return c.NetBox.Validate() }},
		{path: "merge", target: &c.Merge, validate: c.Merge.Validate},
		{path: "sync", target: &c.Sync, validate: func() []error { return c.Sync.Validate() }},
		{path: "mcp", target: &c.MCP, validate: func() []error { return c.MCP.Validate() }},
		{path: "run", target: &c.Run, validate: func() []error { return c.Run.Validate() }},
		{path: "schedule", target: &c.Schedule, validate: func() []error { return c.Schedule.Validate() }},
	}
	for _, in := range c.Sources.instances() {
		s = append(s, instanceSection(in.adapter, in.index, in.name(), in.config, in.validate))
	}
	return s
}

// setDefaults runs before the environment is applied: instance names (defaults included) decide
// which prefixed variables apply.
func (c *Config) setDefaults() {
	c.NetBox.SetDefaults()
	c.Sync.SetDefaults()
	c.MCP.SetDefaults()
	c.Run.SetDefaults()
	c.Schedule.SetDefaults()
	for _, in := range c.Sources.instances() {
		in.setDefaults()
	}
}

// instanceNames lists every source instance name with its config path.
func (c *Config) instanceNames() (names, paths []string) {
	for _, in := range c.Sources.instances() {
		names = append(names, in.name())
		paths = append(paths, fmt.Sprintf("sources.%s[%d].name", in.adapter, in.index))
	}
	return names, paths
}

// checkNames refuses two instances with one name: observations, ownership records and
// orphan decisions are keyed by it.
func (c *Config) checkNames(file string, root *yaml.Node) ConfigErrors {
	var es ConfigErrors
	names, paths := c.instanceNames()
	first := map[string]string{}
	for i, name := range names {
		if p, dup := first[name]; dup {
			es = append(es, ConfigError{File: file, Line: nodeLine(root, paths[i]), Path: paths[i],
				Msg: fmt.Sprintf("%q is already the name of %s; give each source instance its own name", name, strings.TrimSuffix(p, ".name"))})
			continue
		}
		first[name] = paths[i]
	}
	for _, name := range slices.Sorted(maps.Keys(c.Schedule.Sources)) {
		if _, ok := first[name]; !ok {
			p := "schedule.sources." + name
			es = append(es, ConfigError{File: file, Line: nodeLine(root, p), Path: p,
				Msg: fmt.Sprintf("%q is not a configured source (have %s)", name, strings.Join(names, ", "))})
		}
	}
	return es
}

// secrets lists every secret the config holds, for the log scrubber.
func (c *Config) secrets() []secret.Secret {
	var out []secret.Secret
	for _, s := range c.sections() {
		for _, f := range secretFields(s.target) {
			if f.value.IsSet() {
				out = append(out, *f.value)
			}
		}
	}
	return out
}
