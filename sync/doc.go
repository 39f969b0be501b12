// Package sync turns observations into NetBox changes: merge (dedup) observations into
// entities, match them to NetBox objects, plan the changes and apply them.
//
// Identity invariant: no entity ever holds two observations that contradict each other
// (different system UUIDs or real serials or clusters; two native ids of a source that
// enumerates distinct machines; a join resting on weak keys alone between sides whose MACs, or
// whose IPs, have nothing in common). A refused or ambiguous weak join is a possible match in
// the plan, with its evidence. A source that did not report changes nothing it owned: the
// objects it saw keep the values the agent last wrote. See identity.go, identity_plan.go and
// docs/identity.md.
//
// Room: the engine, the middle of the graph. It imports sources (observations in) and netbox
// (snapshots, writes); it must not import server, cmd, an adapter, a simulator or test support.
// Its tests use netbox/netboxtest and internal/testnetbox.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package sync
