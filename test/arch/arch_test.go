package arch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/netbox-agent/netbox-agent"

// room names a package's place on the map (docs/architecture.md, "Package map").
type room string

const (
	roomCmd       room = "cmd"       // cmd/*: binaries, wire everything
	roomServer    room = "server"    // MCP tools and HTTP
	roomSync      room = "sync"      // merge, match, plan, apply
	roomView      room = "view"      // sync/planview: the plan's table and JSON report
	roomNetBox    room = "netbox"    // the NetBox client
	roomSources   room = "sources"   // the Observation model shared by adapters
	roomAdapter   room = "adapter"   // sources/<name>: one product each
	roomSimulator room = "simulator" // netbox/netboxtest, sources/<name>/<name>test
	roomSupport   room = "support"   // test support: internal/testnetbox, test/lab
	roomInternal  room = "internal"  // internal/*: leaf helpers any layer may use
	roomSuite     room = "suite"     // test/*: suites made of tests
	roomPackaging room = "packaging" // deployment files and their tests
	roomUnknown   room = ""          // on no room of the map
)

// roomOf places a package (path relative to the module) on the map.
func roomOf(rel string) room {
	parts := strings.Split(rel, "/")
	switch {
	case parts[0] == "cmd":
		return roomCmd
	case rel == "server":
		return roomServer
	case rel == "sync":
		return roomSync
	case rel == "sync/planview":
		return roomView
	case rel == "netbox":
		return roomNetBox
	case rel == "netbox/netboxtest":
		return roomSimulator
	case rel == "sources":
		return roomSources
	case parts[0] == "sources" && len(parts) == 2:
		return roomAdapter
	case parts[0] == "sources" && len(parts) == 3 && parts[2] == parts[1]+"test":
		return roomSimulator
	case rel == "internal/testnetbox", rel == "test/lab":
		return roomSupport
	case parts[0] == "internal" && len(parts) == 2:
		return roomInternal
	case parts[0] == "test" && len(parts) == 2:
		return roomSuite
	case rel == "packaging":
		return roomPackaging
	}
	return roomUnknown
}

// pkg is one package as `go list` sees it, paths relative to the module.
type pkg struct {
	Path        string   // e.g. "sources/proxmox"
	Imports     []string // the module's packages its non-test files import
	TestImports []string // the module's packages its _test files import (both test packages)
}

// rule says which of the module's packages a room's non-test code may import. from is the
// importing package, to the imported one.
func allowed(from, to string) error {
	rf, rt := roomOf(from), roomOf(to)
	switch {
	case rt == roomCmd:
		return errors.New("nothing imports a command")
	case rt == roomSuite, rt == roomPackaging:
		return errors.New("nothing imports a test suite")
	}
	// Test doubles are for tests, the lab and the binary that serves the lab: the agent must
	// never be built with a simulator inside, and a simulator that knew the agent could not
	// catch the agent's misreading of the product.
	if (rt == roomSimulator || rt == roomSupport) && rf != roomSupport && from != "cmd/netbox-lab" {
		return fmt.Errorf("%s is a test double or test support: only tests, test/lab, internal/testnetbox and cmd/netbox-lab import it", to)
	}
	switch rf {
	case roomSimulator:
		return errors.New("a simulator imports none of the agent's packages: it fakes the product, not the agent's reading of it")
	case roomSources:
		return errors.New("sources is the bottom of the graph: it imports none of the agent's packages")
	case roomInternal:
		if rt != roomInternal {
			return errors.New("internal/* are leaf helpers: they import only other internal helpers")
		}
	case roomAdapter:
		if rt != roomSources && rt != roomInternal {
			return errors.New("an adapter knows only sources and internal/*: never sync, netbox, server, cmd or another adapter")
		}
	case roomNetBox:
		if rt != roomInternal {
			return errors.New("netbox knows only internal/*: never sync, sources, server or an adapter")
		}
	case roomSync:
		if rt != roomSources && rt != roomNetBox && rt != roomInternal {
			return errors.New("sync knows sources, netbox and internal/*: never server, cmd or an adapter")
		}
	case roomView:
		if rt != roomSync && rt != roomSources && rt != roomInternal {
			return errors.New("a plan view reads the plan model (sync) only: never netbox, server, cmd or an adapter")
		}
	case roomServer:
		// server may import sync, sources, netbox, the adapters and internal/*; the lines it
		// must not cross (cmd, simulators, test support) are checked above.
	case roomSupport:
		if from == "test/lab" && rt != roomSimulator {
			return errors.New("test/lab imports only the simulators: the agent reads the lab through its own adapters")
		}
		if from == "internal/testnetbox" && to != "netbox/netboxtest" {
			return errors.New("internal/testnetbox imports only netbox/netboxtest")
		}
	case roomCmd:
		if from == "cmd/netbox-lab" && to != "test/lab" {
			return errors.New("cmd/netbox-lab imports only test/lab")
		}
	}
	return nil
}

// violations lists every import that crosses a line of the map, and every package on no room.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if roomOf(p.Path) == roomUnknown {
			out = append(out, fmt.Sprintf("%s: on no room of the map (add it to roomOf and docs/architecture.md)", p.Path))
			continue
		}
		for _, to := range p.Imports {
			if err := allowed(p.Path, to); err != nil {
				out = append(out, fmt.Sprintf("%s imports %s: %v", p.Path, to, err))
			}
		}
		for _, to := range p.TestImports {
			if r := roomOf(to); r == roomCmd || r == roomSuite || r == roomPackaging {
				out = append(out, fmt.Sprintf("%s (tests) import %s: nothing imports a command or a test suite", p.Path, to))
			}
		}
	}
	return out
}

// listModule runs `go list` over the module and keeps the module's own imports.
func listModule(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	own := func(paths ...[]string) []string {
		var r []string
		for _, ps := range paths {
			for _, p := range ps {
				if rel, ok := strings.CutPrefix(p, module+"/"); ok && !slices.Contains(r, rel) {
					r = append(r, rel)
				}
			}
		}
		slices.Sort(r)
		return r
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
			Error                              *struct{ Err string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			t.Fatalf("go list: %s is outside the module", p.ImportPath)
		}
		// An external test package imports the package it tests: not an import to check.
		tests := slices.DeleteFunc(own(p.TestImports, p.XTestImports), func(s string) bool { return s == rel })
		pkgs = append(pkgs, pkg{Path: rel, Imports: own(p.Imports), TestImports: tests})
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	return pkgs
}

// TestImportRules is the map of docs/architecture.md, enforced.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to list the module's packages: %v", err)
	}
	for _, v := range violations(listModule(t)) {
		t.Error(v)
	}
}

// TestRulesBite proves each rule can fail: a module with one bad import per line of the map.
func TestRulesBite(t *testing.T) {
	bad := []pkg{
		{Path: "sources/proxmox", Imports: []string{"sync"}},
		{Path: "sources/truenas", Imports: []string{"netbox"}},
		{Path: "sources/inventory", Imports: []string{"server"}},
		{Path: "sources/netscan", Imports: []string{"sources/inventory"}},
		{Path: "sources/homeassistant", Imports: []string{"sources/homeassistant/homeassistanttest"}},
		{Path: "sources", Imports: []string{"internal/secret"}},
		{Path: "netbox", Imports: []string{"sync"}},
		{Path: "netbox", Imports: []string{"sources"}},
		{Path: "sync", Imports: []string{"server"}},
		{Path: "sync", Imports: []string{"cmd/netbox-agent"}},
		{Path: "sync", Imports: []string{"sources/proxmox"}},
		{Path: "sync", Imports: []string{"internal/testnetbox"}},
		{Path: "server", Imports: []string{"netbox/netboxtest"}},
		{Path: "server", Imports: []string{"test/lab"}},
		{Path: "cmd/netbox-agent", Imports: []string{"sources/proxmox/proxmoxtest"}},
		{Path: "netbox/netboxtest", Imports: []string{"netbox"}},
		{Path: "sources/truenas/truenastest", Imports: []string{"sources"}},
		{Path: "internal/logging", Imports: []string{"netbox"}},
		{Path: "test/lab", Imports: []string{"sync"}},
		{Path: "internal/testnetbox", Imports: []string{"netbox"}},
		{Path: "cmd/netbox-lab", Imports: []string{"server"}},
		{Path: "test/reliability", TestImports: []string{"cmd/netbox-agent"}},
		{Path: "tools/newthing"},
	}
	for _, p := range bad {
		if v := violations([]pkg{p}); len(v) != 1 {
			t.Errorf("%s importing %v %v: want one violation, got %q", p.Path, p.Imports, p.TestImports, v)
		}
	}
	good := []pkg{
		{Path: "sources/proxmox", Imports: []string{"internal/secret", "sources"}, TestImports: []string{"sources/proxmox/proxmoxtest"}},
		{Path: "sync", Imports: []string{"netbox", "sources"}, TestImports: []string{"internal/testnetbox", "netbox/netboxtest"}},
		{Path: "server", Imports: []string{"internal/secret", "netbox", "sources", "sync"}},
		{Path: "cmd/netbox-agent", Imports: []string{"server", "sync", "netbox", "sources/proxmox", "internal/logging"}, TestImports: []string{"test/lab"}},
		{Path: "cmd/netbox-lab", Imports: []string{"test/lab"}},
		{Path: "test/lab", Imports: []string{"netbox/netboxtest", "sources/proxmox/proxmoxtest"}},
		{Path: "internal/testnetbox", Imports: []string{"netbox/netboxtest"}},
		{Path: "internal/logging", Imports: []string{"internal/secret"}},
	}
	for _, p := range good {
		if v := violations([]pkg{p}); len(v) != 0 {
			t.Errorf("%s: want no violation, got %q", p.Path, v)
		}
	}
}
