package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/netbox-agent/netbox-agent/sources"
)

// parseAnsibleJSON reads the output of `ansible-inventory --list`: groups with hosts, children
// and vars at the top level, and every host's resolved vars under _meta.hostvars.
func parseAnsibleJSON(r io.Reader, file string) ([]*record, []sources.Warning, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, jsonErrLine(data, err))
	}
	inv := newAnsibleInventory()
	var warns []sources.Warning
	type group struct {
		Hosts    []string       `json:"hosts"`
		Children []string       `json:"children"`
		Vars     map[string]any `json:"vars"`
	}
	names := make([]string, 0, len(top))
	for k := range top {
		names = append(names, k)
	}
	sort.Strings(names)
	hostvars := map[string]map[string]any{}
	for _, name := range names {
		raw := top[name]
		if name == "_meta" {
			var meta struct {
				Hostvars map[string]map[string]any `json:"hostvars"`
			}
			if err := json.Unmarshal(raw, &meta); err != nil {
				warns = append(warns, warnf(file, 0, "_meta: %v: host vars ignored", err))
				continue
			}
			hostvars = meta.Hostvars
			continue
		}
		var g group
		if err := json.Unmarshal(raw, &g); err != nil {
			// Old inventory scripts may give a group as a bare list of hosts.
			var hosts []string
			if err2 := json.Unmarshal(raw, &hosts); err2 != nil {
				warns = append(warns, warnf(file, 0, "group %q: %v: ignored", clip(name), err))
				continue
			}
			g.Hosts = hosts
		}
		inv.group(name)
		for _, c := range g.Children {
			inv.addChild(name, c)
		}
		for k, v := range g.Vars {
			if s, ok := scalarString(v); ok {
				inv.group(name).vars[k] = s
			}
		}
		for _, h := range g.Hosts {
			inv.addHost(name, h, 0, nil)
		}
	}
	// Hosts only in hostvars are still hosts.
	extra := make([]string, 0)
	for h := range hostvars {
		if _, ok := inv.hostLine[h]; !ok {
			extra = append(extra, h)
		}
	}
	sort.Strings(extra)
	for _, h := range extra {
		inv.addHost("ungrouped", h, 0, nil)
	}
	for h, vars := range hostvars {
		if _, ok := inv.hostVars[h]; !ok {
			continue
		}
		for k, v := range vars {
			if s, ok := scalarString(v); ok {
				inv.hostVars[h][k] = s
			}
		}
	}
	recs, w := inv.records(file)
	return recs, append(warns, w...), nil
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// jsonErrLine adds the line of a JSON syntax error.
func jsonErrLine(data []byte, err error) error {
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
		line := 1
		for _, c := range data[:min(int(se.Offset), len(data))] {
			if c == '\n' {
				line++
			}
		}
		return fmt.Errorf("line %d: %w", line, err)
	}
	return err
}
