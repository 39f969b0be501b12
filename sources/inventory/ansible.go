package inventory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// ansibleInventory is the group tree all three Ansible formats describe.
type ansibleInventory struct {
	groups    map[string]*ansibleGroup
	hostOrder []string
	hostLine  map[string]int
	hostVars  map[string]map[string]string // vars given on the host itself
}

type ansibleGroup struct {
	name     string
	hosts    []string
	hostSet  map[string]bool
	children []string
	vars     map[string]string
}

func newAnsibleInventory() *ansibleInventory {
	inv := &ansibleInventory{groups: map[string]*ansibleGroup{}, hostLine: map[string]int{}, hostVars: map[string]map[string]string{}}
	inv.group("all")
	inv.group("ungrouped")
	return inv
}

func (inv *ansibleInventory) group(name string) *ansibleGroup {
	g, ok := inv.groups[name]
	if !ok {
		g = &ansibleGroup{name: name, vars: map[string]string{}, hostSet: map[string]bool{}}
		inv.groups[name] = g
	}
	return g
}

// addHost puts host in group with its own vars (later definitions add to earlier ones, as
// Ansible merges them).
func (inv *ansibleInventory) addHost(group, host string, line int, vars map[string]string) {
	if _, ok := inv.hostLine[host]; !ok {
		inv.hostLine[host] = line
		inv.hostOrder = append(inv.hostOrder, host)
		inv.hostVars[host] = map[string]string{}
	}
	g := inv.group(group)
	if !g.hostSet[host] {
		g.hostSet[host] = true
		g.hosts = append(g.hosts, host)
	}
	for k, v := range vars {
		inv.hostVars[host][k] = v
	}
}

func (inv *ansibleInventory) addChild(parent, child string) {
	p := inv.group(parent)
	inv.group(child)
	if parent != child && !slices.Contains(p.children, child) {
		p.children = append(p.children, child)
	}
}

// records resolves group membership and variable precedence (all, then groups from parent
// to child, then the host's own vars) and maps the vars to records.
func (inv *ansibleInventory) records(file string) ([]*record, []sources.Warning) {
	// Groups that are nobody's child hang under all.
	isChild := map[string]bool{}
	for _, g := range inv.groups {
		for _, c := range g.children {
			isChild[c] = true
		}
	}
	for name := range inv.groups {
		if name != "all" && !isChild[name] {
			inv.addChild("all", name)
		}
	}
	// Depth from all (breadth first; the first path found wins, cycles are cut).
	depth := map[string]int{"all": 0}
	queue := []string{"all"}
	for len(queue) > 0 {
		g := inv.groups[queue[0]]
		queue = queue[1:]
		for _, c := range g.children {
			if _, ok := depth[c]; !ok {
				depth[c] = depth[g.name] + 1
				queue = append(queue, c)
			}
		}
	}
	parents := map[string][]string{}
	for _, g := range inv.groups {
		for _, c := range g.children {
			parents[c] = append(parents[c], g.name)
		}
	}
	direct := map[string][]string{}
	for _, g := range inv.groups {
		for _, h := range g.hosts {
			direct[h] = append(direct[h], g.name)
		}
	}

	// Hosts in the same groups share their resolved group vars and tags: resolve each set once.
	type resolved struct {
		vars map[string]string
		tags []string
	}
	cache := map[string]resolved{}
	resolve := func(host string) resolved {
		key := strings.Join(direct[host], "\x00")
		if r, ok := cache[key]; ok {
			return r
		}
		member := map[string]bool{}
		stack := append([]string(nil), direct[host]...)
		for len(stack) > 0 {
			g := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if member[g] {
				continue
			}
			member[g] = true
			stack = append(stack, parents[g]...)
		}
		member["all"] = true
		groups := make([]string, 0, len(member))
		for g := range member {
			groups = append(groups, g)
		}
		slices.SortFunc(groups, func(a, b string) int {
			if depth[a] != depth[b] {
				return depth[a] - depth[b]
			}
			return strings.Compare(a, b)
		})
		r := resolved{vars: map[string]string{}}
		for _, g := range groups {
			for k, v := range inv.groups[g].vars {
				r.vars[k] = v
			}
			if g != "all" && g != "ungrouped" {
				r.tags = append(r.tags, g)
			}
		}
		cache[key] = r
		return r
	}

	var recs []*record
	var warns []sources.Warning
	for _, host := range inv.hostOrder {
		if strings.TrimSpace(host) == "" {
			warns = append(warns, warnf(file, inv.hostLine[host], "empty host name: skipped"))
			continue
		}
		gr := resolve(host)
		vars := make(map[string]string, len(gr.vars)+len(inv.hostVars[host]))
		for k, v := range gr.vars {
			vars[k] = v
		}
		for k, v := range inv.hostVars[host] {
			vars[k] = v
		}
		rec, err := ansibleRecord(host, inv.hostLine[host], vars)
		if err != nil {
			warns = append(warns, warnf(file, inv.hostLine[host], "host %q: %v: skipped", host, err))
			continue
		}
		rec.tags = slices.Clone(gr.tags)
		recs = append(recs, &rec)
	}
	return recs, warns
}

// ansibleRecord maps the variables the agent understands. Others are not copied: inventories
// carry credentials (ansible_password, ansible_become_pass, vault values).
func ansibleRecord(host string, line int, vars map[string]string) (record, error) {
	rec := record{key: host, line: line, name: host}
	if a := vars["ansible_host"]; a != "" {
		if err := rec.addIP(a); err != nil {
			if looksNumeric(a) {
				return rec, fmt.Errorf("ansible_host: %w", err)
			}
			if short, fqdn := sources.SplitFQDN(a); short == "" {
				return rec, fmt.Errorf("ansible_host %q is neither an address nor a host name", clip(a))
			} else if fqdn != "" {
				rec.fqdn = fqdn
			}
		}
	} else if err := rec.addIP(host); err == nil {
		rec.name = ""
	}
	for _, k := range []string{"ip", "ipv4", "ip_address", "ansible_ssh_host"} {
		if v := vars[k]; v != "" {
			if err := rec.addIP(v); err != nil {
				return rec, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	for _, k := range []string{"mac", "mac_address", "macaddress"} {
		if v := vars[k]; v != "" {
			if err := rec.addMAC(v); err != nil {
				return rec, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(vars[k]); v != "" {
				return v
			}
		}
		return ""
	}
	rec.serial = first("serial", "serial_number")
	rec.site = first("site", "netbox_site")
	rec.role = first("role", "device_role", "netbox_role")
	rec.manufacturer = first("manufacturer", "vendor")
	rec.model = first("model", "device_type")
	rec.platform = first("platform")
	rec.location = first("location")
	rec.descr = first("description")
	rec.status = strings.ToLower(first("status"))
	if f := first("fqdn"); f != "" {
		rec.fqdn = f
	}
	k, err := parseKind(first("kind", "netbox_kind"))
	if err != nil {
		rec.notes = append(rec.notes, err.Error()+": kind left to the merge")
	}
	rec.kind = k
	return rec, nil
}

// expandHostPattern expands Ansible host ranges: "web[01:20]" (width kept), "db-[a:c]",
// "node[0:10:2]"; several ranges multiply. limit bounds the number of names.
func expandHostPattern(p string, limit int) ([]string, error) {
	open := strings.IndexByte(p, '[')
	if open < 0 {
		if strings.ContainsAny(p, "]") {
			return nil, fmt.Errorf("host %q: ']' without '['", clip(p))
		}
		return []string{p}, nil
	}
	end := strings.IndexByte(p[open:], ']')
	if end < 0 {
		return nil, fmt.Errorf("host %q: '[' without ']'", clip(p))
	}
	end += open
	prefix, spec, suffix := p[:open], p[open+1:end], p[end+1:]
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return nil, fmt.Errorf("host %q: range [%s] is not [start:end] or [start:end:step]", clip(p), clip(spec))
	}
	step := 1
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 {
			return nil, fmt.Errorf("host %q: range step %q is not a positive number", clip(p), parts[2])
		}
		step = s
	}
	var items []string
	lo, hi := parts[0], parts[1]
	if isLetter(lo) && isLetter(hi) {
		if lo[0] > hi[0] {
			return nil, fmt.Errorf("host %q: range [%s] ends before it starts", clip(p), spec)
		}
		for c := int(lo[0]); c <= int(hi[0]); c += step {
			items = append(items, string(rune(c)))
		}
	} else {
		if lo == "" {
			lo = "0"
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("host %q: range [%s] is not numeric start <= end", clip(p), clip(spec))
		}
		if (b-a)/step+1 > limit {
			return nil, fmt.Errorf("host %q: range [%s] expands to more than %d hosts", clip(p), spec, limit)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo)
		}
		for n := a; n <= b; n += step {
			items = append(items, fmt.Sprintf("%0*d", width, n))
		}
	}
	rest, err := expandHostPattern(suffix, limit)
	if err != nil {
		return nil, err
	}
	if len(items)*len(rest) > limit {
		return nil, fmt.Errorf("host %q expands to more than %d hosts", clip(p), limit)
	}
	out := make([]string, 0, len(items)*len(rest))
	for _, it := range items {
		for _, r := range rest {
			out = append(out, prefix+it+r)
		}
	}
	return out, nil
}

func isLetter(s string) bool {
	return len(s) == 1 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
}

// maxRangeHosts bounds one host pattern, so "h[0:999999999]" cannot exhaust memory.
const maxRangeHosts = 65536

// looksNumeric tells a mistyped address ("192.168.10.400", "fd00::zz") from a host name: a
// name has a letter outside hex or no dot-separated digits only.
func looksNumeric(s string) bool {
	if strings.Contains(s, ":") {
		return true
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' && c != '/' {
			return false
		}
	}
	return true
}
