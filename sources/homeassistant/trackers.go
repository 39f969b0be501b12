package homeassistant

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// addTrackers reports router device trackers as hosts.
func (b *builder) addTrackers(states []rawJSON) {
	cfg := b.s.cfg
	for i, raw := range states {
		where := fmt.Sprintf("states[%d]", i)
		st, bad, err := decodeEntry[haState](raw)
		if err != nil {
			b.skip(sources.ReasonMalformedRecord, where, "skipped: %v", err)
			continue
		}
		b.warnBad(where, st.EntityID, bad)
		if !strings.HasPrefix(st.EntityID, "device_tracker.") {
			continue
		}
		var attrs map[string]any
		if len(st.Attributes) > 0 {
			if err := json.Unmarshal(st.Attributes, &attrs); err != nil {
				b.warn(st.EntityID, "attributes skipped: %v", err)
				continue
			}
		}
		if str(attrs, "source_type") != "router" {
			continue // gps, bluetooth, ...: no network identity
		}
		home := st.State == "home"
		if !home && cfg.Trackers == TrackersHome {
			continue
		}
		b.addTracker(st, attrs, home)
	}
}

func (b *builder) addTracker(st haState, attrs map[string]any, home bool) {
	cfg := b.s.cfg
	ent := b.entities[st.EntityID] // absent for legacy known_devices.yaml trackers
	dev := b.devices[ent.DeviceID]
	integrations := b.integrations(dev)
	if ent.Platform != "" {
		integrations = append(integrations, strings.ToLower(ent.Platform))
		slices.Sort(integrations)
		integrations = slices.Compact(integrations)
	}
	areaID := cmp.Or(ent.AreaID, dev.AreaID)
	area, areaKnown := b.areas[areaID]
	if areaID != "" && !areaKnown {
		b.warn(st.EntityID, "area_id %q is not in the area registry: no location", areaID)
	}
	var manufacturers []string
	if dev.Manufacturer != "" {
		manufacturers = []string{dev.Manufacturer}
	}
	if !b.s.keep(subject{integrations: integrations, manufacturers: manufacturers, areaID: areaID, areaName: area.Name}) {
		b.skipped.filtered++
		return
	}

	var keys sources.Keys
	if v, ok := attrs["mac"]; ok && v != nil {
		if m, err := sources.ParseMAC(fmt.Sprint(v)); err != nil {
			b.skip(sources.ReasonMalformedMAC, st.EntityID, "attribute mac ignored: %v", err)
		} else {
			keys.MACs = []sources.MAC{m}
		}
	}
	// An absent client's address is stale: DHCP may have handed it to someone else.
	if v, ok := attrs["ip"]; ok && v != nil && home {
		if ip, err := sources.ParseIP(fmt.Sprint(v)); err != nil {
			b.warn(st.EntityID, "attribute ip ignored: %v", err)
		} else {
			keys.IPs = []netip.Addr{ip}
		}
	}
	if len(keys.MACs) == 0 && len(keys.IPs) == 0 {
		return // nothing that identifies it on the network
	}
	if b.foldIntoDevice(st.EntityID, ent.DeviceID, keys) {
		return
	}
	hostName := str(attrs, "host_name")
	if strings.Contains(hostName, ".") {
		keys.FQDN = hostName // Normalize drops it unless it is a valid FQDN
	}
	_, objectID, _ := strings.Cut(st.EntityID, ".")
	status := "offline"
	if home {
		status = "active"
	}
	tattrs := map[string]string{
		"homeassistant.entity_id": st.EntityID,
		"homeassistant.state":     st.State,
	}
	setAttr(tattrs, "homeassistant.integrations", strings.Join(integrations, ","), true)
	setAttr(tattrs, "homeassistant.device_id", ent.DeviceID, true)
	setAttr(tattrs, "homeassistant.area_id", areaID, areaKnown)
	b.res.Observations = append(b.res.Observations, sources.Observation{
		Source:   cfg.Name,
		Adapter:  AdapterName,
		NativeID: cfg.Name + "/tracker/" + st.EntityID,
		Kind:     sources.KindHost,
		Name:     cmp.Or(hostName, str(attrs, "friendly_name"), objectID),
		Keys:     keys,
		Facts: sources.Facts{
			Site:       cfg.Site,
			Location:   area.Name,
			Status:     status,
			Attributes: tattrs,
		},
		SeenAt: b.seenAt,
	})
}

// foldIntoDevice adds a router tracker's address to the device observation of the device the
// tracker belongs to (a UniFi switch tracked by its own controller), when their MACs agree.
// One thing seen twice by one source would otherwise be two observations that never merge.
func (b *builder) foldIntoDevice(entityID, deviceID string, keys sources.Keys) bool {
	i, ok := b.reported[deviceID]
	if deviceID == "" || !ok {
		return false
	}
	obs := &b.res.Observations[i]
	for _, m := range keys.MACs {
		if len(obs.Keys.MACs) > 0 && !slices.Contains(obs.Keys.MACs, m) {
			return false // a different interface or a different thing: keep it apart
		}
	}
	if len(obs.Keys.MACs) == 0 {
		obs.Keys.MACs = append(obs.Keys.MACs, keys.MACs...)
	}
	for _, ip := range keys.IPs {
		if !slices.Contains(obs.Keys.IPs, ip) {
			obs.Keys.IPs = append(obs.Keys.IPs, ip)
		}
	}
	obs.Facts.Attributes["homeassistant.tracker"] = entityID
	return true
}

// str returns a string attribute, "" when absent or not a string.
func str(attrs map[string]any, key string) string {
	s, _ := attrs[key].(string)
	return strings.TrimSpace(s)
}
