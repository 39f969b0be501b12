// Package homeassistanttest is a Home Assistant simulator in the style of net/http/httptest: the
// REST API (/api/, /api/config, /api/states) with long-lived bearer tokens and the websocket API
// (/api/websocket) with its auth handshake and the device, entity and area registry commands.
// It is stateful, answers with the shapes and errors a real core (2025.x) sends, and has knobs
// for latency and faults. It imports none of the agent's packages on purpose: it fakes Home
// Assistant, not the adapter's reading of it.
//
// Room: a simulator (test double). It imports none of the agent's packages, and only tests,
// test/lab and cmd/netbox-lab (through test/lab) import it: the agent is never built with it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package homeassistanttest
