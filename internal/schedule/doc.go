// Package schedule runs the pipeline periodically in the HTTP mode: each source at its own
// interval (with jitter), every source together at the full-sync interval, and on demand when
// something changed (an inventory file), debounced. Runs never overlap: whatever becomes due
// while one is in progress is coalesced into the next.
//
// The scheduler knows sources by instance name only; what a run does is the Runner's business.
//
// Room: a leaf helper (internal/*). It imports none of the agent's packages (the Runner it
// calls is a function cmd/netbox-agent supplies); cmd/netbox-agent imports it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package schedule
