// Package inventory reads hosts from files people already keep: CSV exports, Ansible
// inventories (INI, YAML, `ansible-inventory --list` JSON), DHCP leases (dnsmasq, Kea, ISC
// dhcpd) and /etc/hosts. A malformed line is a warning naming file:line; the rest is kept.
//
// Room: one adapter (sources/<name>). It imports sources (and YAML and fsnotify); it must not
// import sync, netbox, server, cmd or another adapter. What it returns is []sources.Observation.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package inventory
