// Package proxmoxtest is a stateful simulator of the Proxmox VE REST API (/api2/json) in the
// style of net/http/httptest: start one with NewServer (or NewTLSServer, NewTestServer), point a
// client at its APIURL, and shape what it serves with nodes, guests, tokens, latency and faults.
//
// It reproduces the API's shapes and its pitfalls: the {"data": ...} wrapper, API-token auth
// (401 without a valid token), privilege-separated tokens that see only what their ACL allows
// (403 on per-guest paths, silently filtered /cluster/resources), offline nodes answering 595,
// the guest agent's HTTP 500 "QEMU guest agent is not running", memory and vmid sent as
// strings, templates and cdroms. Several clusters are several servers.
//
// It also holds Proxmox's published return schemas: CheckSchema validates an answer against
// testdata/pve-api-returns.json, SchemaVariants lists every change of an answer the schema
// allows (optional fields absent, numbers as strings, enum values, property-string keys), and
// WithRewrite serves such a changed answer in place of the simulator's own.
//
// It imports none of the agent's packages: it fakes the product, not our reading of it.
//
// Room: a simulator (test double). It imports none of the agent's packages, and only tests,
// test/lab and cmd/netbox-lab (through test/lab) import it: the agent is never built with it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package proxmoxtest
