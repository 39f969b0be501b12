package sources

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Kind says what NetBox object an observation describes.
type Kind string

const (
	// KindDevice is physical or standalone hardware (a Proxmox node, a NAS, a switch).
	KindDevice Kind = "device"
	// KindVM is a virtual machine or a container.
	KindVM Kind = "virtual_machine"
	// KindHost is something seen on the network whose nature no source told (nmap, DHCP).
	KindHost Kind = "host"
)

// Observation is what one source saw of one thing, at one time.
type Observation struct {
	// Source is the configured instance name ("pve-lab"); Adapter is its type ("proxmox").
	Source  string `json:"source"`
	Adapter string `json:"adapter"`
	// NativeID identifies the thing inside its source, stable across runs
	// ("pve-lab/qemu/101", "nmap/198.18.0.2"). Unique per Source.
	NativeID string    `json:"native_id"`
	Kind     Kind      `json:"kind"`
	Name     string    `json:"name,omitempty"`
	Keys     Keys      `json:"keys"`
	Facts    Facts     `json:"facts"`
	Parent   *Parent   `json:"parent,omitempty"`
	SeenAt   time.Time `json:"seen_at"`

	Interfaces []Interface `json:"interfaces,omitempty"`
	Services   []Service   `json:"services,omitempty"`
	Disks      []Disk      `json:"disks,omitempty"`
}

// Keys are the identity keys of an observation, already normalised (see Normalize).
type Keys struct {
	Serial     string       `json:"serial,omitempty"`
	SystemUUID string       `json:"system_uuid,omitempty"`
	MACs       []MAC        `json:"macs,omitempty"`
	FQDN       string       `json:"fqdn,omitempty"`
	IPs        []netip.Addr `json:"ips,omitempty"`
}

// Facts are descriptive values; empty means "this source does not know".
type Facts struct {
	Manufacturer string   `json:"manufacturer,omitempty"`
	Model        string   `json:"model,omitempty"`
	Platform     string   `json:"platform,omitempty"` // "Proxmox VE 8.2.4", "TrueNAS SCALE 24.10"
	Role         string   `json:"role,omitempty"`     // a hint: "hypervisor", "nas", "switch"
	Site         string   `json:"site,omitempty"`     // a hint; mapping rules in sync decide
	Location     string   `json:"location,omitempty"` // e.g. a Home Assistant area
	Status       string   `json:"status,omitempty"`   // NetBox status values: active, offline, planned, ...
	VCPUs        float64  `json:"vcpus,omitempty"`
	MemoryMB     int64    `json:"memory_mb,omitempty"`
	DiskMB       int64    `json:"disk_mb,omitempty"`
	OS           string   `json:"os,omitempty"` // an OS guess or the guest OS
	Description  string   `json:"description,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	// Attributes carry source-specific facts worth recording on the object
	// (for example "truenas.pools"); keys are namespaced by adapter.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Parent places a VM: the cluster it belongs to and the node it runs on.
type Parent struct {
	Cluster     string `json:"cluster,omitempty"`
	ClusterType string `json:"cluster_type,omitempty"` // "Proxmox VE"
	Node        string `json:"node,omitempty"`
}

// Interface is one network interface of the observed thing.
type Interface struct {
	Name    string         `json:"name,omitempty"`
	MAC     MAC            `json:"mac,omitempty"`
	IPs     []netip.Prefix `json:"ips,omitempty"` // host address with its prefix length: 10.0.0.5/24
	VLAN    int            `json:"vlan,omitempty"`
	Bridge  string         `json:"bridge,omitempty"`
	Type    string         `json:"type,omitempty"` // NetBox interface type hint: "virtual", "1000base-t", ...
	Enabled *bool          `json:"enabled,omitempty"`
}

// Service is something listening: a port seen open, or a share exported.
type Service struct {
	Name        string `json:"name"`
	Protocol    string `json:"protocol"` // "tcp" or "udp"
	Ports       []int  `json:"ports"`
	Description string `json:"description,omitempty"`
}

// Disk is a virtual disk of a VM (or a pool member of a device).
type Disk struct {
	Name   string `json:"name"`
	SizeMB int64  `json:"size_mb"`
}

// Warning is a per-item problem that did not stop discovery ("node pve3 offline").
type Warning struct {
	Item    string `json:"item"`
	Message string `json:"message"`
	// Reason, when set, says the warning is an input skipped for that reason (one of the
	// Reason* constants): such warnings are also counted in Result.Skipped.
	Reason string `json:"reason,omitempty"`
}

// Reasons an input is skipped, shared by the adapters so that reports and metrics can count
// them per source and reason.
const (
	ReasonMalformedMAC    = "malformed MAC"
	ReasonMalformedRecord = "malformed record"
	ReasonExpiredLease    = "expired lease"
	ReasonExcluded        = "excluded by config"
	ReasonNoNetworkID     = "no network identity"
	ReasonDuplicate       = "duplicate"
)

// Skip counts the inputs a source read and did not use, for one reason.
type Skip struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// Result is what a discovery run returns: what was seen and what went wrong on the way.
type Result struct {
	Observations []Observation `json:"observations"`
	Warnings     []Warning     `json:"warnings,omitempty"`
	// Skipped counts the inputs left out, per reason (sorted by reason): expired leases,
	// excluded devices, malformed rows, refused MACs. Each counted item that is a problem
	// is also a Warning with that Reason; items left out by design (a filter) are only counted.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Skip adds n inputs skipped for reason.
func (r *Result) Skip(reason string, n int) {
	if n <= 0 {
		return
	}
	for i := range r.Skipped {
		if r.Skipped[i].Reason == reason {
			r.Skipped[i].Count += n
			return
		}
	}
	r.Skipped = append(r.Skipped, Skip{Reason: reason, Count: n})
	slices.SortFunc(r.Skipped, func(a, b Skip) int { return strings.Compare(a.Reason, b.Reason) })
}

// AddWarnings appends warnings and counts those that carry a Reason in Skipped.
func (r *Result) AddWarnings(ws ...Warning) {
	r.Warnings = append(r.Warnings, ws...)
	for _, w := range ws {
		if w.Reason != "" {
			r.Skip(w.Reason, 1)
		}
	}
}

// Progress reports discovery progress; total is 0 while unknown. It may be nil.
type Progress func(done, total int, message string)

// Report calls p if it is not nil.
func (p Progress) Report(done, total int, message string) {
	if p != nil {
		p(done, total, message)
	}
}

// Source is one configured adapter instance.
type Source interface {
	// Name is the configured instance name, used in observations and logs.
	Name() string
	// Adapter is the adapter type ("proxmox", "truenas", "homeassistant", "netscan", "inventory").
	Adapter() string
	// Discover returns everything the source sees. An error means the source failed as a whole:
	// then the result must be empty and the sync engine orphans nothing for it.
	Discover(ctx context.Context, progress Progress) (Result, error)
	// Check verifies that the source is reachable and the credentials work.
	Check(ctx context.Context) error
}

// MachineEnumerator is implemented by a Source that declares what its native ids denote.
// A source that enumerates distinct machines (a hypervisor's API, a NAS, a device registry)
// never lists one machine under two native ids, so two of its ids are two machines. A source
// that does not (an inventory file, a lease file, a hosts file, a network scan) may list one
// machine twice (a CSV row and a hosts line of one switch): the merge joins such records like
// records of two sources.
type MachineEnumerator interface {
	EnumeratesMachines() bool
}

// EnumeratesMachines reports whether src's native ids denote distinct machines. A source that
// does not say is taken to: that only ever keeps records apart, never joins two machines.
func EnumeratesMachines(src Source) bool {
	if e, ok := src.(MachineEnumerator); ok {
		return e.EnumeratesMachines()
	}
	return true
}
