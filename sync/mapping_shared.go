package sync

import (
	"net/netip"
	"slices"
	"strings"
	"unicode"

	"github.com/netbox-agent/netbox-agent/sources"
)

// site picks the entity's site: per source, per subnet, the source's hint if allowed, else
// the one default site.
func (p *planner) site(e *Entity) (any, string) {
	name := ""
	for _, s := range e.Sources {
		if n, ok := p.cfg.SitePerSource[s.Source]; ok && name == "" {
			name = n
		} else if n, ok := p.cfg.SitePerSource[s.Adapter]; ok && name == "" {
			name = n
		}
	}
	if name == "" {
		for _, r := range p.cfg.SitePerSubnet {
			pfx, err := netip.ParsePrefix(r.Prefix)
			if err == nil && slices.ContainsFunc(e.IPs, pfx.Contains) {
				name = r.Site
				break
			}
		}
	}
	if name == "" && p.cfg.UseSiteHints {
		name = strings.TrimSpace(e.Site.V)
	}
	name = cmpOr(name, p.cfg.Site)
	return p.ensureShared(epSites, levelSites, "site", name, nil, name, map[string]any{"name": name, "status": "active"}), name
}

func (p *planner) manufacturerName(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return p.cfg.UnknownManufacturer
	}
	l := strings.ToLower(raw)
	for k, v := range p.cfg.ManufacturerAliases {
		if strings.ToLower(k) == l {
			return v
		}
	}
	if v, ok := builtinManufacturerAliases[l]; ok {
		return v
	}
	return raw
}

func (p *planner) deviceType(mfr, model string) any {
	mref := p.ensureShared(epManufacturers, levelManufacturers, "manufacturer", mfr, nil, mfr, map[string]any{"name": mfr})
	mid, existing := mref.(int64)
	filter := func(o Object) bool { return existing && int64(refID(o, "manufacturer")) == mid }
	return p.ensureShared(epDeviceTypes, levelDeviceTypes, "device type", model, filter, mfr+"/"+model,
		map[string]any{"manufacturer": mref, "model": model, "slug": slugify(model)})
}

// roleName applies the role rules; a hint without a rule is title-cased; devices without a
// hint get the default role, VMs none.
func (p *planner) roleName(e *Entity, host bool) string {
	kind := string(e.Kind)
	for _, r := range p.cfg.Roles {
		if r.Hint != "" && !strings.EqualFold(r.Hint, e.Role.V) {
			continue
		}
		if r.Kind != "" && r.Kind != kind {
			continue
		}
		if r.Source != "" && !slices.ContainsFunc(e.Sources, func(s SourceRef) bool { return s.Source == r.Source || s.Adapter == r.Source }) {
			continue
		}
		return r.Role
	}
	if h := strings.TrimSpace(e.Role.V); h != "" {
		return roleCase(h)
	}
	switch {
	case host:
		return p.cfg.HostRole
	case e.Kind == sources.KindDevice:
		return p.cfg.DefaultRole
	}
	return ""
}

// roleAcronyms are role words NetBox users write in capitals.
var roleAcronyms = map[string]string{"nas": "NAS", "san": "SAN", "ups": "UPS", "pdu": "PDU", "nvr": "NVR", "dvr": "DVR",
	"ap": "AP", "iot": "IoT", "kvm": "KVM", "dns": "DNS", "dhcp": "DHCP", "vpn": "VPN", "nfs": "NFS", "smb": "SMB",
	"tv": "TV", "voip": "VoIP", "plc": "PLC", "cctv": "CCTV", "vm": "VM", "lb": "LB", "bmc": "BMC", "ipmi": "IPMI"}

// roleCase writes a role hint the way NetBox users name roles: words capitalised, known
// acronyms in capitals, "_" and "-" as spaces ("nas" -> "NAS", "hypervisor" -> "Hypervisor",
// "access_point" -> "Access Point"). A role NetBox already has under another case is reused
// as it is (ensureShared matches names case-insensitively).
func roleCase(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' || r == '-' })
	for i, w := range words {
		if a, ok := roleAcronyms[strings.ToLower(w)]; ok {
			words[i] = a
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// platformName drops version numbers: "Proxmox VE 8.2.4" -> "Proxmox VE", so that every
// upgrade does not create a platform.
func platformName(raw string) string {
	var keep []string
	for _, f := range strings.Fields(raw) {
		if f[0] >= '0' && f[0] <= '9' || f[0] == '(' {
			break
		}
		keep = append(keep, f)
	}
	return strings.Join(keep, " ")
}

func (p *planner) platform(e *Entity) any {
	name := platformName(e.Platform.V)
	if name == "" {
		return nil
	}
	return p.ensureShared(epPlatforms, levelPlatforms, "platform", name, nil, name, map[string]any{"name": name})
}
