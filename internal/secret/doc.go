// Package secret holds a string type for credentials that cannot print itself. It is a leaf
// utility with no dependencies on the agent's packages, so every layer may use it.
//
// Room: a leaf helper (internal/*). It imports none of the agent's packages; any package may
// import it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package secret
