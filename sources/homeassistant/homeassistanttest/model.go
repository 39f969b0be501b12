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

// wireDevice is a device as config/device_registry/list sends it (core 2025.x field set). A
// struct, not a map: encoding 5 MiB of maps is slow under the race detector.
type wireDevice struct {
	AreaID                  *string              `json:"area_id"`
	ConfigurationURL        *string              `json:"configuration_url"`
	ConfigEntries           []string             `json:"config_entries"`
	ConfigEntriesSubentries map[string][]*string `json:"config_entries_subentries"`
	Connections             [][]string           `json:"connections"`
	CreatedAt               float64              `json:"created_at"`
	DisabledBy              *string              `json:"disabled_by"`
	EntryType               *string              `json:"entry_type"`
	HWVersion               *string              `json:"hw_version"`
	ID                      string               `json:"id"`
	Identifiers             [][]string           `json:"identifiers"`
	Labels                  []string             `json:"labels"`
	Manufacturer            *string              `json:"manufacturer"`
	Model                   *string              `json:"model"`
	ModelID                 *string              `json:"model_id"`
	ModifiedAt              float64              `json:"modified_at"`
	NameByUser              *string              `json:"name_by_user"`
	Name                    *string              `json:"name"`
	PrimaryConfigEntry      *string              `json:"primary_config_entry"`
	SerialNumber            *string              `json:"serial_number"`
	SWVersion               *string              `json:"sw_version"`
	ViaDeviceID             *string              `json:"via_device_id"`
}

// ns is a nullable string: nil (JSON null) for "".
func ns(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (d Device) wire() any {
	subentries := map[string][]*string{}
	for _, e := range d.ConfigEntries {
		subentries[e] = []*string{nil}
	}
	primary := ""
	if len(d.ConfigEntries) > 0 {
		primary = d.ConfigEntries[0]
	}
	return wireDevice{
		AreaID:                  ns(d.AreaID),
		ConfigEntries:           orEmpty(d.ConfigEntries),
		ConfigEntriesSubentries: subentries,
		Connections:             pairs(d.Connections),
		CreatedAt:               float64(created.Unix()),
		DisabledBy:              ns(d.DisabledBy),
		EntryType:               ns(d.EntryType),
		HWVersion:               ns(d.HWVersion),
		ID:                      d.ID,
		Identifiers:             pairs(d.Identifiers),
		Labels:                  orEmpty(d.Labels),
		Manufacturer:            ns(d.Manufacturer),
		Model:                   ns(d.Model),
		ModelID:                 ns(d.ModelID),
		ModifiedAt:              float64(created.Unix()),
		NameByUser:              ns(d.NameByUser),
		Name:                    ns(d.Name),
		PrimaryConfigEntry:      ns(primary),
		SerialNumber:            ns(d.SerialNumber),
		SWVersion:               ns(d.SWVersion),
		ViaDeviceID:             ns(d.ViaDeviceID),
	}
}

// wireEntity is an entity as config/entity_registry/list sends it.
type wireEntity struct {
	AreaID         *string           `json:"area_id"`
	Categories     map[string]string `json:"categories"`
	ConfigEntryID  *string           `json:"config_entry_id"`
	CreatedAt      float64           `json:"created_at"`
	DeviceID       *string           `json:"device_id"`
	DisabledBy     *string           `json:"disabled_by"`
	EntityCategory *string           `json:"entity_category"`
	EntityID       string            `json:"entity_id"`
	HasEntityName  bool              `json:"has_entity_name"`
	HiddenBy       *string           `json:"hidden_by"`
	Icon           *string           `json:"icon"`
	ID             string            `json:"id"`
	Labels         []string          `json:"labels"`
	ModifiedAt     float64           `json:"modified_at"`
	Name           *string           `json:"name"`
	Options        map[string]any    `json:"options"`
	OriginalName   *string           `json:"original_name"`
	Platform       string            `json:"platform"`
	TranslationKey *string           `json:"translation_key"`
	UniqueID       string            `json:"unique_id"`
}

func (e Entity) wire() any {
	id := e.ID
	if id == "" {
		id = "reg-" + e.EntityID
	}
	return wireEntity{
		AreaID:        ns(e.AreaID),
		Categories:    map[string]string{},
		ConfigEntryID: ns(e.ConfigEntryID),
		CreatedAt:     float64(created.Unix()),
		DeviceID:      ns(e.DeviceID),
		DisabledBy:    ns(e.DisabledBy),
		EntityID:      e.EntityID,
		HasEntityName: true,
		ID:            id,
		Labels:        []string{},
		ModifiedAt:    float64(created.Unix()),
		Name:          ns(e.Name),
		Options:       map[string]any{},
		OriginalName:  ns(e.OriginalName),
		Platform:      e.Platform,
		UniqueID:      e.UniqueID,
	}
}

// wire returns the area as config/area_registry/list sends it.
func (a Area) wire() any {
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
func (s State) wire() any {
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

func wireList[T interface{ wire() any }](items []T) []any {
	out := make([]any, 0, len(items))
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
