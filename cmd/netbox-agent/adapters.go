package main

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/inventory"
	"github.com/netbox-agent/netbox-agent/sources/netscan"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
)

// adapterKinds are the source adapters, in the order their instances are configured, built and
// run. Adding an adapter takes its package (a Config whose secrets are secret.Secret fields
// with env tags, New, the Source) and one entry here: the entry's name is its section of the
// config file (sources.<name>, decoded by SourcesConfig) and the prefix of its variables.
var adapterKinds = []adapterKind{
	adapterOf("proxmox", func(c *proxmox.Config) string { return c.Name }, proxmox.New,
		func(d *server.Deps, _ []proxmox.Config, srcs []*proxmox.Source) { d.Proxmox = asSources(srcs) }),
	adapterOf("truenas", func(c *truenas.Config) string { return c.Name }, truenas.New,
		func(d *server.Deps, _ []truenas.Config, srcs []*truenas.Source) {
			for _, s := range srcs {
				d.TrueNAS = append(d.TrueNAS, s)
			}
		}),
	adapterOf("homeassistant", func(c *homeassistant.Config) string { return c.Name }, homeassistant.New,
		func(d *server.Deps, _ []homeassistant.Config, srcs []*homeassistant.Source) {
			d.HomeAssistant = asSources(srcs)
		}),
	adapterOf("netscan", func(c *netscan.Config) string { return c.Name }, netscan.New, serveScanner),
	adapterOf("inventory", func(c *inventory.Config) string { return c.Name }, inventory.New, serveInventory),
}

// adapterKind is one source adapter as the agent wires it (made by adapterOf).
type adapterKind struct {
	// name is the key under sources: in the config file.
	name string
	// list is []C, C the adapter's Config: what sources.<name> decodes into.
	list reflect.Type
	// instances are the configured instances of list (a *[]C), pointing into it.
	instances func(list any) []instance
	// serve gives the MCP server this adapter's sources, picked from every built source.
	serve func(d *server.Deps, list any, all []sources.Source)
}

// instance is one configured instance of an adapter: sources.<adapter>[<index>].
type instance struct {
	adapter     string
	index       int
	name        func() string // defaults applied first: the default name counts
	config      any           // pointer to the package's Config: where its secrets are set
	setDefaults func()
	validate    func() []error
	build       func(*slog.Logger) (sources.Source, error)
}

// adapterConfig is what every adapter's Config offers.
type adapterConfig[C any] interface {
	*C
	sources.Configurable
}

// adapterOf describes an adapter by its name, its instances' names, its constructor and the
// MCP tools it brings (serve, given the configs and sources in config order). The name is the
// key under sources: in the config, the prefix of its environment variables
// (PROXMOX_TOKEN_SECRET, and PROXMOX_<INSTANCE>_TOKEN_SECRET for one instance; see
// instanceSection) and of its errors (sources.proxmox[0]).
func adapterOf[C any, PC adapterConfig[C], S sources.Source](name string, nameOf func(*C) string,
	newSource func(C, *slog.Logger) (S, error), serve func(*server.Deps, []C, []S)) adapterKind {
	configs := func(list any) []C {
		if p, ok := list.(*[]C); ok {
			return *p
		}
		return nil
	}
	return adapterKind{
		name: name,
		list: reflect.TypeFor[[]C](),
		instances: func(list any) []instance {
			cs := configs(list)
			out := make([]instance, len(cs))
			for i := range cs {
				c := &cs[i]
				out[i] = instance{
					adapter:     name,
					index:       i,
					name:        func() string { return nameOf(c) },
					config:      c,
					setDefaults: PC(c).SetDefaults,
					validate:    func() []error { return PC(c).Validate() }, // at call time: after the environment
					build: func(logger *slog.Logger) (sources.Source, error) {
						s, err := newSource(*c, logger)
						if err != nil {
							return nil, fmt.Errorf("sources.%s[%d] (%s): %w", name, i, nameOf(c), err)
						}
						return s, nil
					},
				}
			}
			return out
		},
		serve: func(d *server.Deps, list any, all []sources.Source) {
			serve(d, configs(list), sourcesOf[S](all))
		},
	}
}

// sourcesOf picks one adapter's sources, in config order, from every built source.
func sourcesOf[S sources.Source](all []sources.Source) []S {
	var out []S
	for _, s := range all {
		if t, ok := s.(S); ok {
			out = append(out, t)
		}
	}
	return out
}

func asSources[S sources.Source](list []S) []sources.Source {
	out := make([]sources.Source, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}

// serveScanner backs scan_subnet with the first configured netscan instance: its allowlist
// bounds what a client may ask for.
func serveScanner(d *server.Deps, _ []netscan.Config, srcs []*netscan.Source) {
	if len(srcs) == 0 {
		return
	}
	ns := srcs[0]
	d.Scanner = ns
	d.ScannerReady = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return ns.Check(ctx)
	}
}

// serveInventory backs read_inventory with the first configured inventory instance: its files
// and directories bound what a client may read.
func serveInventory(d *server.Deps, cfgs []inventory.Config, srcs []*inventory.Source) {
	if len(srcs) == 0 {
		return
	}
	d.Inventory = srcs[0]
	for _, f := range cfgs[0].Files {
		d.InventoryPaths = append(d.InventoryPaths, f.Path)
	}
	d.InventoryPaths = append(d.InventoryPaths, cfgs[0].ReadDirs...)
}
