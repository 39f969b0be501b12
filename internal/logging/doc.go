// Package logging builds the agent's slog logger: tint on a terminal, JSON otherwise, always on
// stderr (stdout belongs to the MCP protocol in stdio mode), with known secrets scrubbed.
//
// Room: a leaf helper (internal/*). It imports internal/secret only; cmd/netbox-agent (and
// tests) import it. Other internal/* helpers are all it may import.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package logging
