package homeassistant

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

type rawJSON = json.RawMessage

// input is what one discovery read: each registry and the states as undecoded entries, so one
// odd entry costs a warning, not the run.
type input struct {
	areas, devices, entities, states []rawJSON
}

// decodeList decodes a command's result into its entries; anything but a JSON list is an error.
func decodeList(result json.RawMessage, into *[]rawJSON) error {
	if len(result) == 0 || string(result) == "null" {
		return errors.New("result is null, expected a list")
	}
	var list []rawJSON
	if err := json.Unmarshal(result, &list); err != nil {
		return malformed(result, err)
	}
	*into = list
	return nil
}

// Registry entries: only the fields the adapter reads. JSON null leaves a string empty.
type haDevice struct {
	ID           string  `json:"id"`
	AreaID       string  `json:"area_id"`
	Connections  [][]any `json:"connections"`
	Identifiers  [][]any `json:"identifiers"`
	Manufacturer string  `json:"manufacturer"`
	Model        string  `json:"model"`
	ModelID      string  `json:"model_id"`
	SWVersion    string  `json:"sw_version"`
	HWVersion    string  `json:"hw_version"`
	SerialNumber string  `json:"serial_number"`
	Name         string  `json:"name"`
	NameByUser   string  `json:"name_by_user"`
	EntryType    string  `json:"entry_type"`
	DisabledBy   string  `json:"disabled_by"`
}

type haEntity struct {
	EntityID   string `json:"entity_id"`
	DeviceID   string `json:"device_id"`
	AreaID     string `json:"area_id"`
	Platform   string `json:"platform"`
	DisabledBy string `json:"disabled_by"`
}

type haArea struct {
	AreaID  string `json:"area_id"`
	Name    string `json:"name"`
	FloorID string `json:"floor_id"`
}

type haState struct {
	EntityID   string          `json:"entity_id"`
	State      string          `json:"state"`
	Attributes json.RawMessage `json:"attributes"`
}

// key and label make the registry types registryEntry.
func (a haArea) key() string     { return a.AreaID }
func (a haArea) label() string   { return "area " + a.AreaID }
func (e haEntity) key() string   { return e.EntityID }
func (e haEntity) label() string { return e.EntityID }
func (d haDevice) key() string   { return d.ID }

// label names a device in warnings.
func (d haDevice) label() string {
	name := cmp.Or(d.NameByUser, d.Name)
	if name == "" {
		return "device " + d.ID
	}
	return fmt.Sprintf("device %s (%s)", d.ID, name)
}

// candidate is a device that passed the service/disabled/hardware checks.
type candidate struct {
	dev  haDevice
	macs []sources.MAC
}

// builder turns decoded input into observations and warnings.
type builder struct {
	s        *Source
	seenAt   time.Time
	areas    map[string]haArea
	devices  map[string]haDevice
	entities map[string]haEntity   // by entity_id
	byDevice map[string][]haEntity // by device_id
	res      sources.Result
	skipped  skipCounts
	// reported maps each device id to the index of the observation that reports it, so a
	// router tracker of that same device adds to it rather than reporting it twice.
	reported map[string]int
}

// skipCounts say why devices and trackers were left out, for the discovery log line.
type skipCounts struct {
	services, disabled, noHardware, filtered, noNetwork int
}

// ReasonNoHardware counts devices with no hardware fact at all (helpers, virtual devices).
const ReasonNoHardware = "no hardware facts"

// IoTRole is the role hint of devices without a network identity (Zigbee, Z-Wave, Bluetooth
// sensors and the like) when include_without_network imports them: NetBox users file them
// apart from servers.
const IoTRole = "IoT Device"

// dropWithoutNetworkIdentity leaves out the devices that have neither a MAC nor an IP once
// trackers are folded in: a Zigbee sensor is not on the network NetBox documents, and 300 of
// them would drown the servers. include_without_network keeps them, with the role IoTRole.
func (b *builder) dropWithoutNetworkIdentity() {
	kept := b.res.Observations[:0]
	for _, o := range b.res.Observations {
		if o.Kind == sources.KindDevice && len(o.Keys.MACs) == 0 && len(o.Keys.IPs) == 0 && len(o.Interfaces) == 0 {
			if !b.s.cfg.IncludeWithoutNetwork {
				b.skipped.noNetwork++
				continue
			}
			o.Facts.Role = IoTRole
		}
		kept = append(kept, o)
	}
	b.res.Observations = kept
	b.reported = nil // indexes into the list just compacted
}

// warnBad reports the keys decodeEntry left out of an entry, by path (where.key) and value.
func (b *builder) warnBad(where, item string, bad []string) {
	for _, p := range bad {
		b.warn(item, "%s.%s; the rest of the entry is kept", where, p)
	}
}

func (b *builder) warn(item, format string, args ...any) {
	b.res.Warnings = append(b.res.Warnings, sources.Warning{Item: item, Message: fmt.Sprintf(format, args...)})
}

// skip is a warning about an input left out for reason, counted in the result's Skipped.
func (b *builder) skip(reason, item, format string, args ...any) {
	b.res.AddWarnings(sources.Warning{Item: item, Message: fmt.Sprintf(format, args...), Reason: reason})
}

// build is pure: the same input gives the same result.
func (s *Source) build(in input, seenAt time.Time) (sources.Result, skipCounts) {
	b := &builder{
		s: s, seenAt: seenAt,
		areas:    map[string]haArea{},
		devices:  map[string]haDevice{},
		entities: map[string]haEntity{},
		byDevice: map[string][]haEntity{},
	}
	for _, a := range decodeRegistry[haArea](b, "area_registry", "area_id", in.areas) {
		b.areas[a.AreaID] = a
	}
	devices := decodeRegistry[haDevice](b, "device_registry", "id", in.devices)
	for _, d := range devices {
		b.devices[d.ID] = d
	}
	for _, e := range decodeRegistry[haEntity](b, "entity_registry", "entity_id", in.entities) {
		b.entities[e.EntityID] = e
		if e.DeviceID != "" {
			b.byDevice[e.DeviceID] = append(b.byDevice[e.DeviceID], e)
		}
	}
	b.addDevices(devices)
	b.addTrackers(in.states)
	b.dropWithoutNetworkIdentity()
	b.res.Skip(sources.ReasonExcluded, b.skipped.services+b.skipped.disabled+b.skipped.filtered)
	b.res.Skip(ReasonNoHardware, b.skipped.noHardware)
	b.res.Skip(sources.ReasonNoNetworkID, b.skipped.noNetwork)
	for i := range b.res.Observations {
		b.res.AddWarnings(b.res.Observations[i].Normalize()...)
	}
	sortObservations(b.res.Observations)
	slices.SortStableFunc(b.res.Warnings, func(x, y sources.Warning) int { return cmp.Compare(x.Item, y.Item) })
	if b.res.Observations == nil {
		b.res.Observations = []sources.Observation{}
	}
	return b.res, b.skipped
}

// registryEntry is an entry of one of Home Assistant's registries.
type registryEntry interface {
	key() string   // its id; "" leaves the entry out
	label() string // how warnings name it
}

// decodeRegistry decodes the entries of one registry (list names it in warnings); an entry that
// does not decode or has no id (keyField) is skipped with a warning, and keys of the wrong type
// are warned about while the rest of the entry is kept.
func decodeRegistry[T registryEntry](b *builder, list, keyField string, raws []rawJSON) []T {
	var out []T
	for i, raw := range raws {
		where := fmt.Sprintf("%s[%d]", list, i)
		v, bad, err := decodeEntry[T](raw)
		if err != nil || v.key() == "" {
			problem := "no " + keyField
			if err != nil {
				problem = err.Error()
			}
			b.skip(sources.ReasonMalformedRecord, where, "skipped: %s", problem)
			continue
		}
		b.warnBad(where, v.label(), bad)
		out = append(out, v)
	}
	return out
}

// addDevices reports devices, one observation per group of devices sharing a MAC.
func (b *builder) addDevices(devices []haDevice) {
	cfg := b.s.cfg
	var cands []candidate
	for _, d := range devices {
		switch {
		case d.EntryType == "service" && !cfg.IncludeServices:
			b.skipped.services++
			continue
		case d.DisabledBy != "" && !cfg.IncludeDisabled:
			b.skipped.disabled++
			continue
		}
		c := candidate{dev: d, macs: b.deviceMACs(d)}
		if d.Manufacturer == "" && d.Model == "" && d.ModelID == "" && sources.CleanSerial(d.SerialNumber) == "" && len(c.macs) == 0 {
			b.skipped.noHardware++
			continue // no hardware fact: a helper or virtual device
		}
		cands = append(cands, c)
	}
	slices.SortFunc(cands, func(x, y candidate) int { return cmp.Compare(x.dev.ID, y.dev.ID) })

	// Union-find over shared MACs: split devices of one box become one group.
	parent := make([]int, len(cands))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	firstWithMAC := map[sources.MAC]int{}
	for i, c := range cands {
		for _, m := range c.macs {
			if j, seen := firstWithMAC[m]; seen {
				ri, rj := find(i), find(j)
				if ri != rj {
					parent[max(ri, rj)] = min(ri, rj)
				}
				continue
			}
			firstWithMAC[m] = i
		}
	}
	groups := map[int][]candidate{}
	var roots []int
	for i, c := range cands {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], c) // in id order, as cands is
	}
	for _, r := range roots {
		b.addDeviceGroup(groups[r])
	}
}

// deviceMACs returns the device's "mac" connections, normalised; bad ones are warnings.
func (b *builder) deviceMACs(d haDevice) []sources.MAC {
	var macs []sources.MAC
	for _, conn := range d.Connections {
		typ, typeOK := "", false
		value, valueOK := "", false
		if len(conn) == 2 {
			typ, typeOK = conn[0].(string)
			value, valueOK = conn[1].(string)
		}
		if !typeOK || !valueOK {
			// Home Assistant defines a connection as a [type, value] pair of strings.
			raw, _ := json.Marshal(conn)
			b.skip(sources.ReasonMalformedMAC, d.label(), "connection %s ignored: want a [type, value] pair of strings", raw)
			continue
		}
		if !strings.EqualFold(typ, "mac") {
			continue // zigbee IEEE, bluetooth, upnp: not network interface MACs
		}
		m, err := sources.ParseMAC(value)
		if err != nil {
			b.skip(sources.ReasonMalformedMAC, d.label(), "connection %q ignored: %v", value, err)
			continue
		}
		macs = append(macs, m)
	}
	return macs
}

// integrations returns a device's integration domains: identifier domains and entity platforms.
func (b *builder) integrations(d haDevice) []string {
	var out []string
	for _, id := range d.Identifiers {
		if len(id) > 0 {
			if domain, ok := id[0].(string); ok && domain != "" {
				out = append(out, strings.ToLower(domain))
			}
		}
	}
	for _, e := range b.byDevice[d.ID] {
		if e.Platform != "" {
			out = append(out, strings.ToLower(e.Platform))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// first returns the first non-empty value of field over the members (which are in id order).
func first(members []candidate, field func(haDevice) string) string {
	for _, m := range members {
		if v := strings.TrimSpace(field(m.dev)); v != "" {
			return v
		}
	}
	return ""
}

func (b *builder) addDeviceGroup(members []candidate) {
	cfg := b.s.cfg
	lead := members[0].dev
	var macs []sources.MAC
	var integrations, manufacturers, ids []string
	allDisabled := true
	for _, m := range members {
		macs = append(macs, m.macs...)
		integrations = append(integrations, b.integrations(m.dev)...)
		if m.dev.Manufacturer != "" {
			manufacturers = append(manufacturers, m.dev.Manufacturer)
		}
		ids = append(ids, m.dev.ID)
		allDisabled = allDisabled && m.dev.DisabledBy != ""
	}
	slices.Sort(integrations)
	integrations = slices.Compact(integrations)

	areaID := first(members, func(d haDevice) string { return d.AreaID })
	area, areaKnown := b.areas[areaID]
	if areaID != "" && !areaKnown {
		b.warn(lead.label(), "area_id %q is not in the area registry: no location", areaID)
	}
	if !b.s.keep(subject{integrations: integrations, manufacturers: manufacturers, areaID: areaID, areaName: area.Name}) {
		b.skipped.filtered += len(members)
		return
	}

	serial := ""
	for _, m := range members {
		s := sources.CleanSerial(m.dev.SerialNumber)
		switch {
		case s == "":
		case serial == "":
			serial = s
		case s != serial:
			b.warn(lead.label(), "split devices %s disagree on the serial (%q, %q): keeping %q", strings.Join(ids, ", "), serial, s, serial)
		}
	}
	manufacturer := first(members, func(d haDevice) string { return d.Manufacturer })
	model := first(members, func(d haDevice) string { return d.Model })
	modelID := first(members, func(d haDevice) string { return d.ModelID })
	name := cmp.Or(
		first(members, func(d haDevice) string { return d.NameByUser }),
		first(members, func(d haDevice) string { return d.Name }),
		strings.TrimSpace(manufacturer+" "+cmp.Or(model, modelID)),
		lead.ID,
	)
	attrs := map[string]string{
		"homeassistant.device_id":    lead.ID,
		"homeassistant.integrations": strings.Join(integrations, ","),
	}
	setAttr(attrs, "homeassistant.device_ids", strings.Join(ids, ","), len(ids) > 1)
	setAttr(attrs, "homeassistant.model_id", modelID, modelID != "" && modelID != model)
	setAttr(attrs, "homeassistant.sw_version", first(members, func(d haDevice) string { return d.SWVersion }), true)
	setAttr(attrs, "homeassistant.hw_version", first(members, func(d haDevice) string { return d.HWVersion }), true)
	setAttr(attrs, "homeassistant.area_id", areaID, areaKnown)
	setAttr(attrs, "homeassistant.floor_id", area.FloorID, areaKnown)

	obs := sources.Observation{
		Source:   cfg.Name,
		Adapter:  AdapterName,
		NativeID: cfg.Name + "/device/" + lead.ID,
		Kind:     sources.KindDevice,
		Name:     name,
		Keys:     sources.Keys{Serial: serial, MACs: macs},
		Facts: sources.Facts{
			Manufacturer: manufacturer,
			Model:        cmp.Or(model, modelID),
			Site:         cfg.Site,
			Location:     area.Name,
			Attributes:   attrs,
		},
		SeenAt: b.seenAt,
	}
	if allDisabled {
		obs.Facts.Status = "offline"
	}
	if b.reported == nil {
		b.reported = map[string]int{}
	}
	for _, id := range ids {
		b.reported[id] = len(b.res.Observations)
	}
	b.res.Observations = append(b.res.Observations, obs)
}

func setAttr(attrs map[string]string, key, value string, when bool) {
	if when && value != "" {
		attrs[key] = value
	}
}
