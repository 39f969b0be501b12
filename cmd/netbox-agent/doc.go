// Command netbox-agent discovers infrastructure and keeps NetBox in step with it. It serves MCP
// over stdio (default) or streamable HTTP (--http), or runs the pipeline once (--run-once).
//
// Room: the top. It reads flags and the config file, builds the adapters, the NetBox client, the
// sync engine and the MCP server, and wires them together; it may import any agent package but
// no simulator or test support (its tests use test/lab and internal/testnetbox). Nothing imports
// it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package main
