// Command netbox-lab runs the NetBox, Proxmox VE, TrueNAS and Home Assistant simulators on
// loopback, loaded with a sample homelab, and writes a netbox-agent config pointing at them:
//
//	netbox-lab [--dir DIR] [--vms N] [--netbox 4.3|4.7] [--print-config]
//	netbox-agent --config DIR/netbox-agent.yaml --run-once
//
// It prints the config path first on stdout, then a summary; logs go to stderr. DIR/ready
// appears once every simulator serves. It runs until SIGINT or SIGTERM. Without --dir it uses
// a new temporary directory and removes it on exit (the simulators' state is in memory and
// the config is useless without them).
//
// Room: the lab's binary. It imports test/lab only (and, through it, the simulators): never an
// agent package. Nothing imports it.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package main
