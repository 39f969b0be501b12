package homeassistanttest

import (
	"encoding/json"
	"time"
)

// Device is one entry of Home Assistant's device registry. Empty strings are sent as JSON null,
// as Home Assistant does for unset fields.
type Device struct {
	ID            string
	AreaID        string
	ConfigEntries []string
	// Connections are [type, value] pairs: {"mac", "aa:bb:cc:dd:ee:ff"}, {"zigbee", "00:17:88:..."},
	// {"bluetooth", "..."}, {"upnp", "uuid:..."}.
	Connections [][2]string
	// Identifiers are [integration domain, id] pairs: {"hue", "001788fffe4d2a1b"}.
	Identifiers  [][2]string
	Manufacturer string
	Model        string
	ModelID      string
	SWVersion    string
	HWVersion    string
	SerialNumber string
	Name         string
	NameByUser   string
	ViaDeviceID  string
	EntryType    string // "" or "service"
	DisabledBy   string // "" or "user", "integration", "config_entry"
	Labels       []string
}

// Entity is one entry of the entity registry.
type Entity struct {
	EntityID      string
	ID            string // registry id; generated when empty
	DeviceID      string
	AreaID        string // overrides the device's area when set
	Platform      string // the integration that provides the entity
	UniqueID      string
	ConfigEntryID string
	DisabledBy    string
	Name          string
	OriginalName  string
}

// Area is one entry of the area registry.
type Area struct {
	AreaID  string
	Name    string
	FloorID string
}

// State is one entry of the state machine (GET /api/states).
type State struct {
	EntityID    string
	State       string
	Attributes  map[string]any
	LastChanged time.Time
}

// Dataset is everything the simulator serves.
type Dataset struct {
	Areas    []Area
	Devices  []Device
	Entities []Entity
	States   []State
}

// created is the fixed timestamp the registries report, so replies are byte-for-byte stable.
var created = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func pairs(p [][2]string) [][]string {
	out := make([][]string, 0, len(p))
	for _, x := range p {
		out = append(out, []string{x[0], x[1]})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// wire returns the device as config/device_registry/list sends it (core 2025.x field set).
func (d Device) wire() map[string]any {
	subentries := map[string][]any{}
	for _, e := range d.ConfigEntries {
		subentries[e] = []any{nil}
	}
	primary := any(nil)
	if len(d.ConfigEntries) > 0 {
		primary = d.ConfigEntries[0]
	}
	return map[string]any{
		"area_id":                   nullable(d.AreaID),
		"configuration_url":         nil,
		"config_entries":            orEmpty(d.ConfigEntries),
		"config_entries_subentries": subentries,
		"connections":               pairs(d.Connections),
		"created_at":                float64(created.Unix()),
		"disabled_by":               nullable(d.DisabledBy),
		"entry_type":                nullable(d.EntryType),
		"hw_version":                nullable(d.HWVersion),
		"id":                        d.ID,
		"identifiers":               pairs(d.Identifiers),
		"labels":                    orEmpty(d.Labels),
		"manufacturer":              nullable(d.Manufacturer),
		"model":                     nullable(d.Model),
		"model_id":                  nullable(d.ModelID),
		"modified_at":               float64(created.Unix()),
		"name_by_user":              nullable(d.NameByUser),
		"name":                      nullable(d.Name),
		"primary_config_entry":      primary,
		"serial_number":             nullable(d.SerialNumber),
		"sw_version":                nullable(d.SWVersion),
		"via_device_id":             nullable(d.ViaDeviceID),
	}
}

// wire returns the entity as config/entity_registry/list sends it.
func (e Entity) wire() map[string]any {
	id := e.ID
	if id == "" {
		id = "reg-" + e.EntityID
	}
	return map[string]any{
		"area_id":         nullable(e.AreaID),
		"categories":      map[string]any{},
		"config_entry_id": nullable(e.ConfigEntryID),
		"created_at":      float64(created.Unix()),
		"device_id":       nullable(e.DeviceID),
		"disabled_by":     nullable(e.DisabledBy),
		"entity_category": nil,
		"entity_id":       e.EntityID,
		"has_entity_name": true,
		"hidden_by":       nil,
		"icon":            nil,
		"id":              id,
		"labels":          []string{},
		"modified_at":     float64(created.Unix()),
		"name":            nullable(e.Name),
		"options":         map[string]any{},
		"original_name":   nullable(e.OriginalName),
		"platform":        e.Platform,
		"translation_key": nil,
		"unique_id":       e.UniqueID,
	}
}

// wire returns the area as config/area_registry/list sends it.
func (a Area) wire() map[string]any {
	return map[string]any{
		"aliases":               []string{},
		"area_id":               a.AreaID,
		"created_at":            float64(created.Unix()),
		"floor_id":              nullable(a.FloorID),
		"humidity_entity_id":    nil,
		"icon":                  nil,
		"labels":                []string{},
		"modified_at":           float64(created.Unix()),
		"name":                  a.Name,
		"picture":               nil,
		"temperature_entity_id": nil,
	}
}

// wire returns the state as GET /api/states sends it.
func (s State) wire() map[string]any {
	attrs := s.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	changed := s.LastChanged
	if changed.IsZero() {
		changed = created
	}
	ts := changed.Format("2006-01-02T15:04:05.000000-07:00")
	return map[string]any{
		"entity_id":     s.EntityID,
		"state":         s.State,
		"attributes":    attrs,
		"last_changed":  ts,
		"last_reported": ts,
		"last_updated":  ts,
		"context":       map[string]any{"id": "01HQ" + s.EntityID, "parent_id": nil, "user_id": nil},
	}
}

func wireList[T interface{ wire() map[string]any }](items []T) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.wire())
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings, numbers and slices reach here: a failure is a bug in this file.
		panic("homeassistanttest: marshal: " + err.Error())
	}
	return b
}
