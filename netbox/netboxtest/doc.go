// Package netboxtest is a stateful in-memory NetBox simulator in the style of
// net/http/httptest: one call starts it on loopback, and it answers the REST API paths the
// agent uses with NetBox's shapes, codes and error bodies.
//
// Every request is validated against NetBox's own OpenAPI spec (api/openapi.yaml of the
// go-netbox module) with only the relaxations the real server allows: a list POST (bulk
// create) validates each element against the single-object schema; a bulk PATCH validates
// each id-bearing element with required fields relaxed; nested references may be given as
// attribute dicts ({"name": "x"}) and tags as ids. The simulator then enforces NetBox's
// model rules: required fields, uniqueness, foreign keys, primary IP/MAC rules, a VM's disk
// equal to the sum of its virtual disks, PROTECT/CASCADE/SET_NULL on delete. Bulk writes are
// atomic.
//
// Choices where NetBox's behaviour depends on settings or where the simulator simplifies:
//   - unknown query parameters and filters are ignored, as NetBox does; each request's
//     ignored filters are in Request.Ignored so a test can catch a typo;
//   - lists are ordered by id (NetBox orders by each model's natural ordering);
//   - every request needs a token (LOGIN_REQUIRED), failures are 403 as in NetBox;
//   - deleting an interface deletes the IP and MAC addresses assigned to it (Django generic
//     relations cascade); a deleted IP or MAC is cleared from primary_ip*/primary_mac_address;
//   - a bulk create validates objects in order, each seeing the ones before it, so a
//     duplicate within one batch is reported at its index;
//   - NetBox 4.3 answers a failed bulk update with the first failing object's errors (a
//     dict), a failed bulk create with a list of one dict per object; 4.7 answers both with
//     {"detail": ..., "errors": [{"index": N, "errors": {...}}]};
//   - read-only and unknown body fields are ignored, as NetBox does (interface mac_address
//     in 4.3); models the simulator does not have (tenants, racks, VLANs, ...) are empty, so
//     a non-null reference to one is a 400;
//   - responses are validated with patterns off and unset (null) custom fields dropped: NetBox
//     itself answers "" for dns_name and null for unset custom fields, which the spec forbids.
//
// The spec is loaded once per process (1-5 s, ~170 MB) from the Go module cache; see
// FindSpec, LoadSpec and WithSpec.
//
// Room: a simulator (test double). It imports none of the agent's packages (NetBox's OpenAPI
// spec comes from the go-netbox module), and only tests, internal/testnetbox, test/lab and
// cmd/netbox-lab (through test/lab) import it: the agent is never built with it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package netboxtest
