package sync

import (
	"net/netip"

	"github.com/netbox-agent/netbox-agent/sources"
)

// Value is one resolved field of an entity and the source that gave it.
type Value[T any] struct {
	V      T      `json:"value"`
	Source string `json:"source,omitempty"` // source instance name; "" when no source knew it
}

// SourceRef names one observation that went into an entity.
type SourceRef struct {
	Source   string `json:"source"`
	Adapter  string `json:"adapter"`
	NativeID string `json:"native_id"`
}

// Evidence says why observations were merged: the key they share.
type Evidence struct {
	Key     string      `json:"key"` // e.g. "mac:BC:24:11:2E:C5:4A", "uuid:...", "native:pve/qemu/101"
	Strong  bool        `json:"strong"`
	Sources []SourceRef `json:"sources"`
}

// Entity is one machine as every source that saw it describes it together.
type Entity struct {
	// ID is deterministic for the same input: derived from the entity's best identity key.
	ID   string       `json:"id"`
	Kind sources.Kind `json:"kind"`

	Name       Value[string] `json:"name"`
	FQDN       Value[string] `json:"fqdn"`
	Serial     Value[string] `json:"serial"`
	SystemUUID Value[string] `json:"system_uuid"`

	Manufacturer Value[string]            `json:"manufacturer"`
	Model        Value[string]            `json:"model"`
	Platform     Value[string]            `json:"platform"`
	Role         Value[string]            `json:"role"`
	Site         Value[string]            `json:"site"`
	Location     Value[string]            `json:"location"`
	Status       Value[string]            `json:"status"`
	VCPUs        Value[float64]           `json:"vcpus"`
	MemoryMB     Value[int64]             `json:"memory_mb"`
	DiskMB       Value[int64]             `json:"disk_mb"`
	OS           Value[string]            `json:"os"`
	Description  Value[string]            `json:"description"`
	Tags         []string                 `json:"tags,omitempty"`
	Attributes   map[string]Value[string] `json:"attributes,omitempty"`

	// Cluster, ClusterType and Node place a VM.
	Cluster     Value[string] `json:"cluster"`
	ClusterType Value[string] `json:"cluster_type"`
	Node        Value[string] `json:"node"`

	MACs       []sources.MAC     `json:"macs,omitempty"`
	IPs        []netip.Addr      `json:"ips,omitempty"`
	Interfaces []EntityInterface `json:"interfaces,omitempty"`
	Services   []EntityService   `json:"services,omitempty"`
	Disks      []EntityDisk      `json:"disks,omitempty"`

	// Sources lists every observation merged here, sorted; Evidence the keys that joined them.
	Sources  []SourceRef `json:"sources"`
	Evidence []Evidence  `json:"evidence,omitempty"`
}

// EntityInterface is an interface merged across sources (joined by MAC, else by name within
// one source).
type EntityInterface struct {
	Name    Value[string]  `json:"name"`
	MAC     sources.MAC    `json:"mac,omitempty"`
	IPs     []netip.Prefix `json:"ips,omitempty"`
	VLAN    int            `json:"vlan,omitempty"`
	Bridge  string         `json:"bridge,omitempty"`
	Type    string         `json:"type,omitempty"`
	Enabled *bool          `json:"enabled,omitempty"`
	Sources []string       `json:"sources"`
}

// EntityService is a service with the sources that reported it.
type EntityService struct {
	sources.Service
	Sources []string `json:"sources"`
}

// EntityDisk is a virtual disk from the source that owns the VM's disks.
type EntityDisk struct {
	sources.Disk
	Source string `json:"source"`
}

// Conflict is something the agent refuses to guess about; it is reported with its evidence.
type Conflict struct {
	Kind     string         `json:"kind"` // "identity" (merge), "match" (NetBox candidates), ...
	Key      string         `json:"key"`
	Reason   string         `json:"reason"`
	Evidence []ConflictSide `json:"evidence,omitempty"`
}

// ConflictSide is one party to a conflict with the values that disagree.
type ConflictSide struct {
	Ref    SourceRef         `json:"ref"`
	Name   string            `json:"name,omitempty"`
	Values map[string]string `json:"values,omitempty"` // e.g. {"system_uuid": "..."}
}
