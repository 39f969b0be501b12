// Package netbox is the NetBox client the sync engine uses: snapshot reads paged at NetBox's
// maximum page size, bulk writes in chunks with a few requests in flight, retries that never
// duplicate a write, version detection and the idempotent bootstrap of the tag and custom
// fields the agent relies on. Objects are decoded tolerantly into Object (plain JSON) so that
// enum values newer NetBox releases add never break a read.
//
// Room: the NetBox client, the one door to NetBox. Of the agent's packages it imports only
// internal/secret (besides go-netbox and x/time/rate); it must not import sync, sources, server,
// an adapter or cmd: it knows NetBox's REST API, not what the agent means by an object. Its
// tests use netbox/netboxtest and internal/testnetbox.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package netbox
