package homeassistanttest

import (
	"fmt"
)

// Generate returns a large home: areas, devices (each a network device with a MAC, a serial and
// firmware, spread over the areas), one entity per device, and a router device tracker per
// device. About 730 bytes of device registry per device: 7,500 devices make a device registry
// message of more than 5 MiB. The output is the same for the same arguments.
func Generate(devices, areas int) Dataset {
	if areas < 1 {
		areas = 1
	}
	var d Dataset
	for a := 0; a < areas; a++ {
		d.Areas = append(d.Areas, Area{
			AreaID:  fmt.Sprintf("area_%03d", a),
			Name:    fmt.Sprintf("Room %03d", a),
			FloorID: fmt.Sprintf("floor_%d", a%3),
		})
	}
	for i := 0; i < devices; i++ {
		// 02:... is locally administered; 3C:... keeps it universally administered like a real NIC.
		mac := fmt.Sprintf("3c:%02x:%02x:%02x:%02x:%02x", (i>>24)&0xff, (i>>16)&0xff, (i>>8)&0xff, i&0xff, 0x5a)
		id := fmt.Sprintf("gen%029x", i)
		entry := fmt.Sprintf("cfg%029x", i%50)
		d.Devices = append(d.Devices, Device{
			ID:            id,
			AreaID:        d.Areas[i%areas].AreaID,
			ConfigEntries: []string{entry},
			Connections:   [][2]string{{"mac", mac}},
			Identifiers:   [][2]string{{"shelly", fmt.Sprintf("shellyplus1pm-%012x", i)}},
			Manufacturer:  "Shelly",
			Model:         "Shelly Plus 1PM",
			ModelID:       "SNSW-001P16EU",
			SWVersion:     "1.4.4-g6d2a586",
			HWVersion:     "gen2 (SNSW-001P16EU)",
			SerialNumber:  fmt.Sprintf("SHP1PM%010d", i),
			Name:          fmt.Sprintf("Shelly switch %05d", i),
			Labels:        []string{"generated"},
		})
		d.Entities = append(d.Entities, Entity{
			EntityID:      fmt.Sprintf("switch.shelly_switch_%05d", i),
			DeviceID:      id,
			Platform:      "shelly",
			UniqueID:      fmt.Sprintf("shellyplus1pm-%012x-switch:0", i),
			ConfigEntryID: entry,
			OriginalName:  "Switch",
		})
		d.States = append(d.States, State{
			EntityID: fmt.Sprintf("device_tracker.shelly_%05d", i),
			State:    "home",
			Attributes: map[string]any{
				"source_type":   "router",
				"ip":            fmt.Sprintf("10.%d.%d.%d", 1+(i>>16)&0xff, (i>>8)&0xff, 1+i&0xfe),
				"mac":           mac,
				"host_name":     fmt.Sprintf("shelly-%05d", i),
				"friendly_name": fmt.Sprintf("shelly-%05d", i),
			},
		})
	}
	return d
}

// SampleHome is a small, realistic home for demos and end-to-end tests. It reproduces the
// pitfalls of real installations:
//   - the Hue bridge is split into one device per config entry (hue and homekit_controller)
//     sharing one MAC, spelt in upper case by one integration and lower case by the other;
//   - the UniFi gateway's MAC is spelt with dashes;
//   - "Sun" and "Backup" are service entries, not hardware;
//   - one device is disabled by the user; one Zigbee bulb has no MAC, only an IEEE address;
//   - router device trackers: home and not_home, one with a bad MAC;
//   - a GPS tracker from the mobile app (not a router tracker).
func SampleHome() Dataset {
	return Dataset{
		Areas: []Area{
			{AreaID: "living_room", Name: "Living Room", FloorID: "ground"},
			{AreaID: "office", Name: "Office", FloorID: "first"},
			{AreaID: "network_closet", Name: "Network Closet", FloorID: "basement"},
		},
		Devices: []Device{
			{
				ID: "4f2b8a1c9d3e47f6a0b1c2d3e4f5a6b7", AreaID: "network_closet",
				ConfigEntries: []string{"01JA0UNIFI000000000000000"},
				Connections:   [][2]string{{"mac", "74-AC-B9-12-34-56"}},
				Identifiers:   [][2]string{{"unifi", "74:ac:b9:12:34:56"}},
				Manufacturer:  "Ubiquiti Networks", Model: "UniFi Dream Machine Pro", ModelID: "UDMPRO",
				SWVersion: "4.0.21", SerialNumber: "74ACB9123456", Name: "UDM Pro",
			},
			{
				ID: "a1b2c3d4e5f60718293a4b5c6d7e8f90", AreaID: "living_room",
				ConfigEntries: []string{"01JA0HUE00000000000000000"},
				Connections:   [][2]string{{"mac", "00:17:88:6a:1b:2c"}},
				Identifiers:   [][2]string{{"hue", "001788fffe6a1b2c"}},
				Manufacturer:  "Signify Netherlands B.V.", Model: "Hue Bridge", ModelID: "BSB002",
				SWVersion: "1.66.1966060010", Name: "Hue Bridge",
			},
			{
				// The same bridge seen by HomeKit: newer cores keep one device per config entry.
				ID: "f0e1d2c3b4a5968778695a4b3c2d1e0f", AreaID: "",
				ConfigEntries: []string{"01JA0HOMEKIT0000000000000"},
				Connections:   [][2]string{{"mac", "00:17:88:6A:1B:2C"}},
				Identifiers:   [][2]string{{"homekit_controller", "00:17:88:6A:1B:2C"}},
				Manufacturer:  "Philips", Model: "BSB002", SWVersion: "1.66.1966060010",
				SerialNumber: "001788FFFE6A1B2C", Name: "Philips hue - 6A1B2C", NameByUser: "Hue Bridge Living Room",
			},
			{
				ID: "b7c8d9e0f1a2b3c4d5e6f708192a3b4c", AreaID: "living_room",
				ConfigEntries: []string{"01JA0HUE00000000000000000"},
				Connections:   [][2]string{{"zigbee", "00:17:88:01:0b:cd:ef:01"}},
				Identifiers:   [][2]string{{"hue", "00:17:88:01:0b:cd:ef:01-0b"}},
				Manufacturer:  "Signify Netherlands B.V.", Model: "Hue color lamp", ModelID: "LCT015",
				SWVersion: "1.122.2", Name: "Sofa lamp", ViaDeviceID: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
			},
			{
				ID: "c0ffee00c0ffee00c0ffee00c0ffee00", AreaID: "office",
				ConfigEntries: []string{"01JA0SYNO0000000000000000"},
				Connections:   [][2]string{{"mac", "00:11:32:ab:cd:ef"}},
				Identifiers:   [][2]string{{"synology_dsm", "2150PDN123456"}},
				Manufacturer:  "Synology Inc.", Model: "DS920+", SWVersion: "DSM 7.2.2-72806 Update 3",
				SerialNumber: "2150PDN123456", Name: "nas", DisabledBy: "user",
			},
			{
				ID: "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", ConfigEntries: []string{"01JA0SUN00000000000000000"},
				Identifiers: [][2]string{{"sun", "01JA0SUN00000000000000000"}},
				Name:        "Sun", EntryType: "service",
			},
			{
				ID: "bacb0bacb0bacb0bacb0bacb0bacb0ba", ConfigEntries: []string{"01JA0BACKUP00000000000000"},
				Identifiers:  [][2]string{{"backup", "backup_manager"}},
				Manufacturer: "Home Assistant", Model: "Home Assistant Backup", Name: "Backup", EntryType: "service",
			},
		},
		Entities: []Entity{
			{EntityID: "sensor.udm_pro_cpu_utilization", DeviceID: "4f2b8a1c9d3e47f6a0b1c2d3e4f5a6b7", Platform: "unifi", UniqueID: "cpu_utilization-74:ac:b9:12:34:56"},
			{EntityID: "binary_sensor.hue_bridge_connectivity", DeviceID: "a1b2c3d4e5f60718293a4b5c6d7e8f90", Platform: "hue", UniqueID: "001788fffe6a1b2c-connectivity"},
			{EntityID: "button.hue_bridge_identify", DeviceID: "f0e1d2c3b4a5968778695a4b3c2d1e0f", Platform: "homekit_controller", UniqueID: "00:17:88:6A:1B:2C_1_7"},
			{EntityID: "light.sofa_lamp", DeviceID: "b7c8d9e0f1a2b3c4d5e6f708192a3b4c", Platform: "hue", UniqueID: "00:17:88:01:0b:cd:ef:01-0b", AreaID: "office"},
			{EntityID: "sensor.nas_volume_1_status", DeviceID: "c0ffee00c0ffee00c0ffee00c0ffee00", Platform: "synology_dsm", UniqueID: "2150PDN123456_volume_1_status", DisabledBy: "device"},
			{EntityID: "sensor.sun_next_dawn", DeviceID: "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", Platform: "sun", UniqueID: "01JA0SUN-next_dawn"},
			{EntityID: "device_tracker.pixel_8", Platform: "unifi", UniqueID: "default-a6:3f:0e:11:22:33", AreaID: "living_room"},
			{EntityID: "device_tracker.printer", Platform: "unifi", UniqueID: "default-00:1b:a9:44:55:66", AreaID: "office"},
			{EntityID: "device_tracker.old_laptop", Platform: "unifi", UniqueID: "default-3c:22:fb:77:88:99"},
			{EntityID: "device_tracker.broken", Platform: "unifi", UniqueID: "default-broken"},
			{EntityID: "device_tracker.pixel_8_gps", Platform: "mobile_app", UniqueID: "gps-pixel-8"},
		},
		States: []State{
			{EntityID: "sun.sun", State: "above_horizon", Attributes: map[string]any{"friendly_name": "Sun", "elevation": 31.2}},
			{EntityID: "light.sofa_lamp", State: "on", Attributes: map[string]any{"friendly_name": "Sofa lamp", "brightness": 180}},
			{EntityID: "device_tracker.pixel_8", State: "home", Attributes: map[string]any{
				"source_type": "router", "ip": "192.168.1.23", "mac": "A6:3F:0E:11:22:33", "host_name": "Pixel-8", "friendly_name": "Pixel 8",
			}},
			{EntityID: "device_tracker.printer", State: "home", Attributes: map[string]any{
				"source_type": "router", "ip": "192.168.1.40", "mac": "00:1b:a9:44:55:66", "host_name": "BRN001BA9445566", "friendly_name": "Printer",
			}},
			{EntityID: "device_tracker.old_laptop", State: "not_home", Attributes: map[string]any{
				"source_type": "router", "ip": "192.168.1.77", "mac": "3c-22-fb-77-88-99", "host_name": "old-laptop", "friendly_name": "old-laptop",
			}},
			{EntityID: "device_tracker.broken", State: "home", Attributes: map[string]any{
				"source_type": "router", "ip": "192.168.1.250", "mac": "zz:zz:zz:zz:zz:zz", "friendly_name": "broken",
			}},
			{EntityID: "device_tracker.pixel_8_gps", State: "home", Attributes: map[string]any{
				"source_type": "gps", "latitude": 52.37, "longitude": 4.89, "gps_accuracy": 12, "friendly_name": "Pixel 8 GPS",
			}},
		},
	}
}
