// Package reliability is the fault matrix of issue 9: it drives the agent end to end (the
// real adapters, engine, NetBox client and MCP server, wired as cmd/netbox-agent wires them,
// and the built binary where a row needs a process) against the simulators on loopback, with
// NetBox faults, source faults, bad inputs, load and secret canaries, and prints one table:
// what was tried, what should happen, what happened, PASS or FAIL.
//
// Run it with `make reliability` (go test ./test/reliability -run TestMatrix -v -count=1).
// Set RELIABILITY_REPORT=FILE to also write the table as Markdown.
//
// Room: a test suite (test/*). Its only non-test file is this one; its tests may import any
// package. Nothing imports it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package reliability
