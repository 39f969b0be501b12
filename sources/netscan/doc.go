// Package netscan discovers hosts on the network with nmap: live addresses, MACs and NIC
// vendors on the local segment, PTR names, open ports and an OS guess. Every scan is bounded by
// the configured allowed networks and host count, and targets are parsed as addresses, never
// passed through to nmap's command line.
//
// Room: one adapter (sources/<name>). It imports sources (and an nmap wrapper); it must not
// import sync, netbox, server, cmd or another adapter. What it returns is []sources.Observation.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package netscan
