// Package arch holds the package map of docs/architecture.md to account: its test lists every
// package of the module with `go list` and fails when an import crosses a line the map draws
// (an adapter importing sync or netbox, sync importing server, agent code importing a
// simulator, anything importing cmd) or when a package is on no room of the map.
//
// Room: a test suite. It imports nothing of the agent: it reads the import graph from
// `go list`, so it sees the packages as the compiler does.
package arch
