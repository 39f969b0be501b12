// Package planview renders sync plans for people and programs: the terminal table and the
// plan part of the JSON run report. Views live apart from the plan model (package sync), as
// terraform keeps its views apart from its plans: the model is what apply verifies and
// writes, a view may change without touching a plan's id or file format.
//
// Room: a view of the engine's model. It imports sync (and sources, internal/* if it needs
// them); it must not import netbox, server, cmd, an adapter, a simulator or test support.
// Its golden tests (testdata/*.golden, -update rewrites them) render the lab's plan.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package planview
