// Package lab starts the NetBox, Proxmox VE, TrueNAS and Home Assistant simulators on loopback,
// loaded with a sample homelab that exercises the merge rules, and writes an agent config
// (netbox-agent.yaml) and an inventory CSV pointing at them. cmd/netbox-lab, `make demo`,
// end-to-end tests and benchmarks use it.
//
// It imports only the simulators: it fakes the world, and the agent must read it through its
// own adapters, as it reads the real products.
//
// Room: test support, the whole fake world. It imports the four simulators only; cmd/netbox-lab
// and tests (cmd/netbox-agent, test/reliability, test/upgrade) import it, and no agent package
// may.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package lab
