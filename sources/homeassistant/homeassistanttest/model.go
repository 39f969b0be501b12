package homeassistanttest

import (
	"encoding/json"
	"fmt"
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
	DisabledBy   string // "" or "user", "integration", "config_entry"; "device" on a child device
	Labels       []string
	// ParentDeviceID makes the device a child device (core 2026.9 and later): it is then sent
	// with the few keys of a ChildDeviceEntry. Older releases send it as an ordinary device.
	ParentDeviceID string
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
	DisabledBy    string // "", "user", "integration", "config_entry", "device", "hass"
	HiddenBy      string // "", "user", "integration"
	// EntityCategory is "", "config" or "diagnostic".
	EntityCategory string
	Name           string
	OriginalName   string
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

// wireDevice is a device as config/device_registry/list sends it (DeviceEntry.dict_repr of core
// 2025.x). A struct, not a map: encoding 5 MiB of maps is slow under the race detector.
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

// wireSplitDevice is a device of core 2026.8 and later: one config entry per device
// (config_entry_id, config_subentry_id) and, from 2026.9, parent_device_id (null on a device).
type wireSplitDevice struct {
	wireDevice
	ConfigEntryID    string  `json:"config_entry_id"`
	ConfigSubentryID *string `json:"config_subentry_id"`
	ParentDeviceID   *string `json:"parent_device_id,omitempty"` // key absent before 2026.9
	parentKey        bool
}

// MarshalJSON writes parent_device_id as null on 2026.9 devices (omitempty would drop it).
func (w wireSplitDevice) MarshalJSON() ([]byte, error) {
	type plain wireSplitDevice
	if !w.parentKey {
		return json.Marshal(plain(w))
	}
	return json.Marshal(struct {
		plain
		ParentDeviceID *string `json:"parent_device_id"`
	}{plain: plain(w)})
}

// wireChildDevice is a ChildDeviceEntry (core 2026.9 and later): a sub-device of a device of
// the same config entry, with far fewer keys (no manufacturer, model, connections, ...).
type wireChildDevice struct {
	AreaID           *string    `json:"area_id"`
	ConfigEntryID    string     `json:"config_entry_id"`
	ConfigSubentryID *string    `json:"config_subentry_id"`
	CreatedAt        float64    `json:"created_at"`
	DisabledBy       *string    `json:"disabled_by"`
	ID               string     `json:"id"`
	Identifiers      [][]string `json:"identifiers"`
	Labels           []string   `json:"labels"`
	ModifiedAt       float64    `json:"modified_at"`
	NameByUser       *string    `json:"name_by_user"`
	Name             *string    `json:"name"`
	ParentDeviceID   string     `json:"parent_device_id"`
}

// ns is a nullable string: nil (JSON null) for "".
func ns(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// release is a core release (year, month), compared to the release that added a key.
type release struct{ year, month int }

// parseRelease reads "2025.11.3" (or "2024.3", "2025.1.0b2"); anything else is taken as the
// newest release.
func parseRelease(v string) release {
	var r release
	if _, err := fmt.Sscanf(v, "%d.%d", &r.year, &r.month); err != nil || r.year < 2000 {
		return release{year: 9999}
	}
	return r
}

func (r release) before(y, m int) bool { return r.year < y || (r.year == y && r.month < m) }

// keySince is a key and the release that added it to an answer.
type keySince struct {
	key         string
	year, month int
}

// Keys added after the oldest release the simulator answers like, per answer (releases named
// by Home Assistant's storage migrations and release notes; see testdata/ha-messages.json).
func deviceKeysSince() []keySince {
	return []keySince{
		{"serial_number", 2023, 11}, {"labels", 2024, 3}, {"primary_config_entry", 2024, 7},
		{"model_id", 2024, 8}, {"created_at", 2024, 8}, {"modified_at", 2024, 8},
		{"config_entries_subentries", 2025, 2},
	}
}

func entityKeysSince() []keySince {
	return []keySince{
		{"labels", 2024, 3}, {"categories", 2024, 4}, {"created_at", 2024, 8}, {"modified_at", 2024, 8},
		{"config_subentry_id", 2025, 2},
	}
}

func areaKeysSince() []keySince {
	return []keySince{
		{"floor_id", 2024, 4}, {"labels", 2024, 4}, {"created_at", 2024, 8}, {"modified_at", 2024, 8},
		{"humidity_entity_id", 2025, 4}, {"temperature_entity_id", 2025, 4},
	}
}

func stateKeysSince() []keySince { return []keySince{{"last_reported", 2024, 3}} }

// olderShape drops the keys an older release did not send. The common case (a current
// release) returns v untouched, so large registries stay structs.
func olderShape(v any, r release, keys []keySince) any {
	var drop []string
	for _, k := range keys {
		if r.before(k.year, k.month) {
			drop = append(drop, k.key)
		}
	}
	if len(drop) == 0 {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		if err := json.Unmarshal(mustJSON(v), &m); err != nil {
			panic("homeassistanttest: reshape: " + err.Error())
		}
	}
	for _, k := range drop {
		delete(m, k)
	}
	return m
}

func (d Device) wire(r release) any {
	if d.ParentDeviceID != "" && !r.before(2026, 9) {
		return wireChildDevice{
			AreaID:           ns(d.AreaID),
			ConfigEntryID:    firstOf(d.ConfigEntries),
			ConfigSubentryID: nil,
			CreatedAt:        float64(created.Unix()),
			DisabledBy:       ns(d.DisabledBy),
			ID:               d.ID,
			Identifiers:      pairs(d.Identifiers),
			Labels:           orEmpty(d.Labels),
			ModifiedAt:       float64(created.Unix()),
			NameByUser:       ns(d.NameByUser),
			Name:             ns(d.Name),
			ParentDeviceID:   d.ParentDeviceID,
		}
	}
	disabledBy := d.DisabledBy
	if disabledBy == "device" {
		disabledBy = "" // the "device" disabler came with child devices (2026.9)
	}
	entries := d.ConfigEntries
	if !r.before(2026, 8) && len(entries) > 1 {
		entries = entries[:1] // 2026.8 splits devices: one config entry each
	}
	subentries := map[string][]*string{}
	for _, e := range entries {
		subentries[e] = []*string{nil}
	}
	w := wireDevice{
		AreaID:                  ns(d.AreaID),
		ConfigEntries:           orEmpty(entries),
		ConfigEntriesSubentries: subentries,
		Connections:             pairs(d.Connections),
		CreatedAt:               float64(created.Unix()),
		DisabledBy:              ns(disabledBy),
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
		PrimaryConfigEntry:      ns(firstOf(entries)),
		SerialNumber:            ns(d.SerialNumber),
		SWVersion:               ns(d.SWVersion),
		ViaDeviceID:             ns(d.ViaDeviceID),
	}
	if r.before(2026, 8) {
		return olderShape(w, r, deviceKeysSince())
	}
	return wireSplitDevice{wireDevice: w, ConfigEntryID: firstOf(entries), parentKey: !r.before(2026, 9)}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// wireEntity is an entity as config/entity_registry/list sends it (RegistryEntry.as_partial_dict).
type wireEntity struct {
	AreaID           *string           `json:"area_id"`
	Categories       map[string]string `json:"categories"`
	ConfigEntryID    *string           `json:"config_entry_id"`
	ConfigSubentryID *string           `json:"config_subentry_id"`
	CreatedAt        float64           `json:"created_at"`
	DeviceID         *string           `json:"device_id"`
	DisabledBy       *string           `json:"disabled_by"`
	EntityCategory   *string           `json:"entity_category"`
	EntityID         string            `json:"entity_id"`
	HasEntityName    bool              `json:"has_entity_name"`
	HiddenBy         *string           `json:"hidden_by"`
	Icon             *string           `json:"icon"`
	ID               string            `json:"id"`
	Labels           []string          `json:"labels"`
	ModifiedAt       float64           `json:"modified_at"`
	Name             *string           `json:"name"`
	Options          map[string]any    `json:"options"`
	OriginalName     *string           `json:"original_name"`
	Platform         string            `json:"platform"`
	TranslationKey   *string           `json:"translation_key"`
	UniqueID         string            `json:"unique_id"`
}

func (e Entity) wire(r release) any {
	id := e.ID
	if id == "" {
		id = "reg-" + e.EntityID
	}
	return olderShape(wireEntity{
		AreaID:         ns(e.AreaID),
		Categories:     map[string]string{},
		ConfigEntryID:  ns(e.ConfigEntryID),
		CreatedAt:      float64(created.Unix()),
		DeviceID:       ns(e.DeviceID),
		DisabledBy:     ns(e.DisabledBy),
		EntityCategory: ns(e.EntityCategory),
		EntityID:       e.EntityID,
		HasEntityName:  true,
		HiddenBy:       ns(e.HiddenBy),
		ID:             id,
		Labels:         []string{},
		ModifiedAt:     float64(created.Unix()),
		Name:           ns(e.Name),
		Options:        map[string]any{},
		OriginalName:   ns(e.OriginalName),
		Platform:       e.Platform,
		UniqueID:       e.UniqueID,
	}, r, entityKeysSince())
}

// wire returns the area as config/area_registry/list sends it (AreaEntry.json_fragment).
func (a Area) wire(r release) any {
	return olderShape(map[string]any{
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
	}, r, areaKeysSince())
}

// wire returns the state as GET /api/states sends it (State.as_dict).
func (s State) wire(r release) any {
	attrs := s.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	changed := s.LastChanged
	if changed.IsZero() {
		changed = created
	}
	ts := changed.Format("2006-01-02T15:04:05.000000-07:00")
	return olderShape(map[string]any{
		"entity_id":     s.EntityID,
		"state":         s.State,
		"attributes":    attrs,
		"last_changed":  ts,
		"last_reported": ts,
		"last_updated":  ts,
		"context":       map[string]any{"id": "01HQ" + s.EntityID, "parent_id": nil, "user_id": nil},
	}, r, stateKeysSince())
}

// wireList renders items as the release r sends them, followed by the raw entries (see
// Server.AddRaw).
func wireList[T interface{ wire(release) any }](items []T, r release, raw []json.RawMessage) []any {
	out := make([]any, 0, len(items)+len(raw))
	for _, it := range items {
		out = append(out, it.wire(r))
	}
	for _, x := range raw {
		out = append(out, x)
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
