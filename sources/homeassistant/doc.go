// Package homeassistant discovers devices and network clients known to a Home Assistant
// instance: the device registry (manufacturer, model, firmware, serial, MACs, area) read over the
// websocket API, and router device trackers (IP, MAC, host name) read from /api/states.
//
// Choices where Home Assistant leaves room:
//   - Split devices: newer cores keep one device per config entry, so one box can be several
//     devices sharing a MAC. Devices sharing a "mac" connection become ONE observation with the
//     smallest device id as native id; scalar facts come from the first member (by id) that
//     has them, name_by_user before name, MACs and integrations are united.
//   - Kind: a device is reported (KindDevice) only when it has a hardware fact: manufacturer,
//     model, serial or a MAC. Service entries and disabled devices are skipped by default.
//   - Firmware (sw_version) and hardware revision go to Facts.Attributes, not Facts.Platform:
//     a NetBox platform per firmware build of every bulb would flood the platform list.
//   - Location is the device's own area (an entity's area does not move its device); a
//     tracker's location is its entity's area, else its device's.
//   - Trackers: only source_type "router". "home" ones are active with their IP; others are
//     offline and their IP is dropped (an absent client's DHCP address is stale and may
//     belong to someone else by now). See Config.Trackers.
//   - Bad entries: a key whose JSON type is not the one Home Assistant defines (a number for
//     sw_version) is left out with a warning naming its path and value, and the rest of the
//     entry is kept; an entry that is not an object, or has no id, is skipped and counted.
//     A connection that is not a [type, value] pair of strings is a warning, not a MAC.
//   - Child devices (core 2026.9) carry no manufacturer, model or connections: unless a later
//     release gives them hardware facts they count as "no hardware facts"; their parent is
//     the device reported.
//   - Integration filters use integration domains: a device's identifier domains plus its
//     entities' platforms (config entry ids are opaque without an extra admin-only call).
//
// Room: one adapter (sources/<name>). It imports sources, internal/secret and a websocket
// library; it must not import sync, netbox, server, cmd, another adapter or its simulator (only
// its tests use sources/homeassistant/homeassistanttest). What it returns is
// []sources.Observation.
//
// See docs/architecture.md for the map of packages and the import rules test/arch enforces.
package homeassistant
