// Package testnetbox gives a test the NetBox it should talk to: a real NetBox when the
// environment names one, otherwise a netboxtest simulator, as every test had before.
//
// The real tier is selected by the environment:
//
//	NETBOX_TEST_URL    base URL of a throwaway NetBox (e.g. http://127.0.0.1:8430)
//	NETBOX_TEST_TOKEN  an API token with write access (v1 40 hex, or v2 nbt_<key>.<secret>)
//	NETBOX_TEST_RESET  optional: a shell command that empties NetBox's database
//	                   (e.g. "/work/shared/realnetbox/realnetbox.sh reset --version 4.3.7");
//	                   without it the objects of every endpoint the agent writes are deleted
//	                   through the API instead (slower, and only those endpoints).
//
// A real NetBox is one shared database, so New takes an exclusive cross-process lock (flock
// on a file in the temporary directory named after the URL) before resetting it, and holds it
// until the test ends: `go test ./...` runs packages in parallel processes, and two of them
// must never write to the server at once. A test may hold one Target at a time; asking for a
// second while the first is open fails the test (it would wait for itself forever).
//
// In both tiers the agent is pointed at a recording proxy in front of NetBox, so tests count
// requests (Writes, Requests) and inject faults (drops, delays, 5xx) the same way in both
// tiers, and the helpers' own requests (which go to NetBox directly) are not counted. Objects are read back through the REST API in both tiers (Objects, Find,
// Snapshot), so assertions never depend on simulator internals, and never on ids.
//
// Room: test support. It imports netbox/netboxtest only, and only tests import it: the agent
// is never built with it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package testnetbox
