// Package server exposes discovery and sync as MCP tools, resources and prompts, over stdio
// and streamable HTTP (with /healthz, /readyz and /metrics beside /mcp).
//
// Room: the MCP server and the HTTP mux on top of the engine. It imports sync, sources and
// internal/secret (it may import netbox); it must not import cmd, a simulator or test support.
// cmd/netbox-agent wires the adapters, the NetBox client and the engine into it; --run-once does
// not go through it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package server
