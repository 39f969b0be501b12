package server

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// Paging: results sized for an LLM's context, summary first, details in pages.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
	maxWarningsShown = 20
)

// Page says which slice of a list a result holds.
type Page struct {
	Offset     int  `json:"offset"`
	Limit      int  `json:"limit"`
	Total      int  `json:"total"`
	HasMore    bool `json:"has_more"`
	NextOffset int  `json:"next_offset,omitempty"`
}

// pageOf returns the page bounds of a list of n items, checking limit and offset.
func pageOf(n, limit, offset int) (Page, int, int, error) {
	if limit < 0 || limit > maxPageLimit {
		return Page{}, 0, 0, fmt.Errorf("limit: %d is outside 0..%d", limit, maxPageLimit)
	}
	if offset < 0 {
		return Page{}, 0, 0, fmt.Errorf("offset: %d is negative", offset)
	}
	if limit == 0 {
		limit = defaultPageLimit
	}
	lo := min(offset, n)
	hi := min(offset+limit, n)
	p := Page{Offset: offset, Limit: limit, Total: n, HasMore: hi < n}
	if p.HasMore {
		p.NextOffset = hi
	}
	return p, lo, hi, nil
}

// PageInput is the limit and offset of every tool that returns a list in pages.
type PageInput struct {
	Limit  int `json:"limit,omitempty" jsonschema_description:"Page size (default 50, at most 200)."`
	Offset int `json:"offset,omitempty" jsonschema_description:"Items to skip (use page.next_offset)."`
}

// page is pageOf for this input's limit and offset.
func (in PageInput) page(n int) (Page, int, int, error) { return pageOf(n, in.Limit, in.Offset) }

// ObservationSummary is one line of a discovery result.
type ObservationSummary struct {
	Source     string   `json:"source"`
	NativeID   string   `json:"native_id"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name,omitempty"`
	Status     string   `json:"status,omitempty"`
	Model      string   `json:"model,omitempty"`
	Platform   string   `json:"platform,omitempty"`
	Node       string   `json:"node,omitempty"`
	Cluster    string   `json:"cluster,omitempty"`
	IPs        []string `json:"ips,omitempty"`
	MACs       []string `json:"macs,omitempty"`
	Interfaces int      `json:"interfaces,omitempty"`
	Services   int      `json:"services,omitempty"`
}

// ObservationDetail is everything one source saw of one thing.
type ObservationDetail struct {
	Source     string            `json:"source"`
	Adapter    string            `json:"adapter"`
	NativeID   string            `json:"native_id"`
	Kind       string            `json:"kind"`
	Name       string            `json:"name,omitempty"`
	SeenAt     string            `json:"seen_at,omitempty"`
	Serial     string            `json:"serial,omitempty"`
	SystemUUID string            `json:"system_uuid,omitempty"`
	FQDN       string            `json:"fqdn,omitempty"`
	MACs       []string          `json:"macs,omitempty"`
	IPs        []string          `json:"ips,omitempty"`
	Facts      sources.Facts     `json:"facts"`
	Parent     *sources.Parent   `json:"parent,omitempty"`
	Interfaces []InterfaceDetail `json:"interfaces,omitempty"`
	Services   []ServiceDetail   `json:"services,omitempty"`
	Disks      []sources.Disk    `json:"disks,omitempty"`
}

// InterfaceDetail is one interface of an observation.
type InterfaceDetail struct {
	Name    string   `json:"name,omitempty"`
	MAC     string   `json:"mac,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	VLAN    int      `json:"vlan,omitempty"`
	Bridge  string   `json:"bridge,omitempty"`
	Type    string   `json:"type,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}

// ServiceDetail is one service of an observation.
type ServiceDetail struct {
	Name        string `json:"name"`
	Protocol    string `json:"protocol"`
	Ports       []int  `json:"ports,omitempty"`
	Description string `json:"description,omitempty"`
}

func summarize(o sources.Observation) ObservationSummary {
	s := ObservationSummary{
		Source: o.Source, NativeID: o.NativeID, Kind: string(o.Kind), Name: o.Name,
		Status: o.Facts.Status, Model: o.Facts.Model, Platform: o.Facts.Platform,
		Interfaces: len(o.Interfaces), Services: len(o.Services),
	}
	if o.Parent != nil {
		s.Node, s.Cluster = o.Parent.Node, o.Parent.Cluster
	}
	for _, ip := range o.Keys.IPs {
		s.IPs = append(s.IPs, ip.String())
	}
	for _, m := range o.Keys.MACs {
		s.MACs = append(s.MACs, string(m))
	}
	return s
}

func detail(o sources.Observation) *ObservationDetail {
	d := &ObservationDetail{
		Source: o.Source, Adapter: o.Adapter, NativeID: o.NativeID, Kind: string(o.Kind), Name: o.Name,
		Serial: o.Keys.Serial, SystemUUID: o.Keys.SystemUUID, FQDN: o.Keys.FQDN,
		Facts: o.Facts, Parent: o.Parent, Disks: o.Disks,
	}
	if !o.SeenAt.IsZero() {
		d.SeenAt = o.SeenAt.UTC().Format(time.RFC3339)
	}
	for _, ip := range o.Keys.IPs {
		d.IPs = append(d.IPs, ip.String())
	}
	for _, m := range o.Keys.MACs {
		d.MACs = append(d.MACs, string(m))
	}
	for _, ifc := range o.Interfaces {
		id := InterfaceDetail{Name: ifc.Name, MAC: string(ifc.MAC), VLAN: ifc.VLAN, Bridge: ifc.Bridge, Type: ifc.Type, Enabled: ifc.Enabled}
		for _, p := range ifc.IPs {
			id.IPs = append(id.IPs, p.String())
		}
		d.Interfaces = append(d.Interfaces, id)
	}
	for _, sv := range o.Services {
		d.Services = append(d.Services, ServiceDetail{Name: sv.Name, Protocol: sv.Protocol, Ports: sv.Ports, Description: sv.Description})
	}
	return d
}

// SourceRun is how one source's part of a discovery went.
type SourceRun struct {
	Source       string `json:"source"`
	Adapter      string `json:"adapter"`
	Observations int    `json:"observations"`
	Warnings     int    `json:"warnings"`
	DurationMS   int64  `json:"duration_ms"`
	Error        string `json:"error,omitempty"`
}

// DiscoverOutput is the result of every discovery tool: per-source outcome and counts first,
// then one page of observations (or one observation in full).
type DiscoverOutput struct {
	Sources       []SourceRun          `json:"sources"`
	Total         int                  `json:"total"`
	ByKind        map[string]int       `json:"by_kind"`
	WarningsTotal int                  `json:"warnings_total"`
	Warnings      []SourceWarning      `json:"warnings,omitempty"`
	Items         []ObservationSummary `json:"items"`
	Page          Page                 `json:"page"`
	Detail        *ObservationDetail   `json:"detail,omitempty"`
	Files         []string             `json:"files,omitempty"`
}

// observationFilter narrows a discovery result.
type observationFilter struct {
	kind, name, nativeID string
	limit, offset        int
}

// buildDiscoverOutput sorts, filters and pages the observations of the given runs.
func buildDiscoverOutput(runs []SourceRun, obs []sources.Observation, warnings []SourceWarning, f observationFilter) (DiscoverOutput, error) {
	out := DiscoverOutput{Sources: runs, ByKind: map[string]int{}, WarningsTotal: len(warnings), Items: []ObservationSummary{}}
	if out.Sources == nil {
		out.Sources = []SourceRun{}
	}
	if len(warnings) > maxWarningsShown {
		warnings = warnings[:maxWarningsShown]
	}
	out.Warnings = warnings
	// Filter and sort pointers: observations are large, and a big cluster has thousands.
	kept := make([]*sources.Observation, 0, len(obs))
	for i := range obs {
		o := &obs[i]
		if f.kind != "" && string(o.Kind) != f.kind ||
			f.name != "" && !strings.Contains(strings.ToLower(o.Name), strings.ToLower(f.name)) ||
			f.nativeID != "" && o.NativeID != f.nativeID {
			continue
		}
		kept = append(kept, o)
		out.ByKind[string(o.Kind)]++
	}
	slices.SortFunc(kept, func(a, b *sources.Observation) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.NativeID, b.NativeID))
	})
	out.Total = len(kept)
	if f.nativeID != "" {
		if len(kept) == 0 {
			return out, fmt.Errorf("native_id: %s was not seen by the selected sources", quoteArg(f.nativeID))
		}
		out.Detail = detail(*kept[0])
	}
	page, lo, hi, err := pageOf(len(kept), f.limit, f.offset)
	if err != nil {
		return out, err
	}
	out.Page = page
	for _, o := range kept[lo:hi] {
		out.Items = append(out.Items, summarize(*o))
	}
	return out, nil
}

// Object types as the engine names them: the machines, the parts of a machine, and (every
// other type) scaffolding: tags, the custom field, sites, manufacturers, types, roles,
// platforms, clusters.
var (
	machineTypes = map[string]bool{"device": true, "virtual machine": true}
	partTypes    = map[string]bool{"interface": true, "vm interface": true, "mac address": true, "ip address": true, "service": true, "virtual disk": true}
)

// isFollowUp reports an update of an object the same plan creates (a primary IP set once
// the address exists): part of that create, not a change to something that exists.
func isFollowUp(a PlanAction) bool { return a.Op == OpUpdate && a.NetBoxID == 0 }

// actionRank orders a plan for a person (apply order is the engine's business): what
// removes or changes existing objects first, then the machines created, their parts,
// follow-up writes, and the scaffolding last.
func actionRank(a PlanAction) int {
	switch {
	case a.Op == OpDelete:
		return 0
	case a.Op == OpStale:
		return 1
	case a.Op == OpUpdate && !isFollowUp(a):
		if machineTypes[a.ObjectType] {
			return 2
		}
		return 3
	case machineTypes[a.ObjectType]:
		return 4
	case partTypes[a.ObjectType] && !isFollowUp(a):
		return 5
	case isFollowUp(a):
		return 6
	}
	return 7
}

// orderedActions returns the actions in reading order (stable within a rank).
func orderedActions(actions []PlanAction) []PlanAction {
	sorted := slices.Clone(actions)
	slices.SortStableFunc(sorted, func(a, b PlanAction) int { return cmp.Compare(actionRank(a), actionRank(b)) })
	return sorted
}
