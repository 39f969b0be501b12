// Package truenastest is a stateful TrueNAS simulator in the style of net/http/httptest. One
// shared State is served through both of TrueNAS's APIs: REST v2.0 under /api/v2.0/ (Bearer API
// key, bare JSON, `?limit=&offset=`, `?field=value` filters, URL-encoded ids) and JSON-RPC 2.0
// over a websocket at /api/current (auth.login_ex / auth.login_with_api_key, `[filters, options]`
// params, errors carrying error.data.reason). A Flavour picks the release: CORE 13 (REST only,
// NFS `paths`), SCALE 24.10 (REST only, NFS `path`), 25.04 and 25.10 (both APIs) or TrueNAS 26
// (websocket only).
//
// It imports none of the agent's packages: it fakes the product, not the agent's reading of it.
//
// Room: a simulator (test double). It imports none of the agent's packages, and only tests,
// test/lab and cmd/netbox-lab (through test/lab) import it: the agent is never built with it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package truenastest
