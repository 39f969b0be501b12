// Package sources holds what every adapter shares: the Observation model, the Source
// interface and the normalisation helpers that make keys comparable across sources.
//
// Room: the vocabulary of discovery, the bottom of the import graph. It imports only the
// standard library and none of the agent's packages; every adapter, sync, server and
// cmd/netbox-agent import it. Nothing here knows NetBox, a product or the MCP server.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package sources
