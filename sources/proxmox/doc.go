// Package proxmox discovers a Proxmox VE cluster (or standalone node) through its API with an
// API token: nodes as devices, QEMU VMs and LXC containers as virtual machines with their
// interfaces, IPs (guest agent, LXC interfaces) and disks.
//
// It talks through github.com/luthermonson/go-proxmox's client (auth, timeout, transport) and
// decodes the answers with its own tolerant types where the library's break (see api.go).
//
// Room: one adapter (sources/<name>). It imports sources, internal/secret and its API library;
// it must not import sync, netbox, server, cmd, another adapter or its simulator (only its tests
// use sources/proxmox/proxmoxtest). What it returns is []sources.Observation, nothing more.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package proxmox
