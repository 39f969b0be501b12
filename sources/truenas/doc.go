// Package truenas discovers a TrueNAS system (CORE 13, SCALE, TrueNAS 26) through either of its
// APIs, REST v2.0 or JSON-RPC 2.0 over a websocket: the system as a NAS device with its
// interfaces, its shares as services, and its pools and datasets.
//
// Room: one adapter (sources/<name>). It imports sources, internal/secret and a websocket
// library; it must not import sync, netbox, server, cmd, another adapter or its simulator (only
// its tests use sources/truenas/truenastest). What it returns is []sources.Observation.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package truenas
