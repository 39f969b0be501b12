package inventory

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/sources"
)

// record is one host as a parser read it, before it becomes an observation.
type record struct {
	key  string // unique within the file; the last part of the NativeID
	line int    // where the host was defined (for warnings)

	name string // a display name or host name; split into short name and FQDN when it is one
	ips  []netip.Prefix
	macs []sources.MAC

	kind                                                       sources.Kind
	serial, fqdn                                               string
	site, role, manufacturer, model, platform, location, descr string
	status, os                                                 string
	tags                                                       []string
	attrs                                                      map[string]string

	// notes are problems that did not cost the host; they become warnings.
	notes []string
}

func (r *record) setAttr(k, v string) {
	if v == "" {
		return
	}
	if r.attrs == nil {
		r.attrs = map[string]string{}
	}
	r.attrs[k] = v
}

// addIP parses an address or address/prefix; the error names the value.
func (r *record) addIP(s string) error {
	return addNew(&r.ips, s, sources.ParseInterfaceIP, func(a, b netip.Prefix) bool { return a.Addr() == b.Addr() })
}

func (r *record) addMAC(s string) error {
	return addNew(&r.macs, s, sources.ParseMAC, func(a, b sources.MAC) bool { return a == b })
}

// addNew parses s (blank is nothing) and appends it to list unless it holds the same already.
func addNew[T any](list *[]T, s string, parse func(string) (T, error), same func(a, b T) bool) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	v, err := parse(s)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(*list, func(have T) bool { return same(have, v) }) {
		*list = append(*list, v)
	}
	return nil
}

// merge adds what o knows to r (the same host seen on several lines: /etc/hosts v4 and v6,
// two leases of one MAC).
func (r *record) merge(o record) {
	for _, p := range o.ips {
		_ = r.addIP(p.String())
	}
	for _, m := range o.macs {
		_ = r.addMAC(string(m))
	}
	if r.name == "" {
		r.name = o.name
	}
	if r.fqdn == "" {
		r.fqdn = o.fqdn
	}
	for k, v := range o.attrs {
		if _, ok := r.attrs[k]; !ok {
			r.setAttr(k, v)
		}
	}
}

// parseKind maps the words people put in a kind/type column to a Kind.
func parseKind(s string) (sources.Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "device", "physical", "server", "hardware", "dcim.device":
		return sources.KindDevice, nil
	case "vm", "virtual_machine", "virtual-machine", "virtual machine", "virtual", "container", "lxc", "virtualization.virtualmachine":
		return sources.KindVM, nil
	case "host":
		return sources.KindHost, nil
	default:
		return "", fmt.Errorf("kind %q is not device, vm or host", s)
	}
}

// observation turns a record into a normalised observation.
func (r *record) observation(source, fileBase string, seenAt time.Time) sources.Observation {
	o := sources.Observation{
		Source:   source,
		Adapter:  AdapterName,
		NativeID: source + "/" + fileBase + "/" + r.key,
		Kind:     r.kind,
		SeenAt:   seenAt,
		Keys:     sources.Keys{Serial: r.serial},
		Facts: sources.Facts{
			Manufacturer: r.manufacturer,
			Model:        r.model,
			Platform:     r.platform,
			Role:         r.role,
			Site:         r.site,
			Location:     r.location,
			Status:       r.status,
			OS:           r.os,
			Description:  r.descr,
			Tags:         append([]string(nil), r.tags...),
		},
	}
	if o.Kind == "" {
		o.Kind = sources.KindHost
	}
	if len(r.attrs) > 0 {
		o.Facts.Attributes = make(map[string]string, len(r.attrs))
		for k, v := range r.attrs {
			o.Facts.Attributes[k] = v
		}
	}
	// A host name gives a short name and maybe an FQDN; anything else ("Core switch 1") is
	// kept as the display name.
	name := strings.TrimSpace(r.name)
	if short, fqdn := sources.SplitFQDN(name); short != "" {
		if _, err := netip.ParseAddr(name); err == nil {
			name = "" // an address is not a name
		} else {
			name = short
			if o.Keys.FQDN == "" {
				o.Keys.FQDN = fqdn
			}
		}
	}
	o.Name = name
	if r.fqdn != "" {
		if short, fqdn := sources.SplitFQDN(r.fqdn); fqdn != "" {
			o.Keys.FQDN = fqdn
			if o.Name == "" {
				o.Name = short
			}
		} else if o.Name == "" {
			o.Name = short
		}
	}
	switch {
	case len(r.macs) <= 1:
		ifc := sources.Interface{IPs: append([]netip.Prefix(nil), r.ips...)}
		if len(r.macs) == 1 {
			ifc.MAC = r.macs[0]
		}
		if ifc.MAC != "" || len(ifc.IPs) > 0 {
			o.Interfaces = []sources.Interface{ifc}
		}
	default:
		// Several MACs and no way to tell which IP is on which: keys only.
		o.Keys.MACs = append(o.Keys.MACs, r.macs...)
		for _, p := range r.ips {
			o.Keys.IPs = append(o.Keys.IPs, p.Addr())
		}
	}
	o.Normalize()
	return o
}

// warnf builds a warning naming file:line.
func warnf(file string, line int, format string, args ...any) sources.Warning {
	item := file
	if line > 0 {
		item = fmt.Sprintf("%s:%d", file, line)
	}
	return sources.Warning{Item: item, Message: fmt.Sprintf(format, args...)}
}

// expired marks a warning as a lease left out because it is no longer active: such leases are
// counted (sources.ReasonExpiredLease) so a stale lease file does not give nothing silently.
func expired(w sources.Warning) sources.Warning {
	w.Reason = sources.ReasonExpiredLease
	return w
}

// clip shortens a value quoted in a warning, so a binary or huge line does not flood logs.
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
