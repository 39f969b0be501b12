package inventory

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/netbox-agent/netbox-agent/sources"
)

// parseAnsibleINI reads an Ansible INI inventory: hosts before any section are ungrouped;
// [g] lists hosts (with key=value vars and ranges), [g:vars] sets group vars, [g:children]
// nests groups.
func parseAnsibleINI(r io.Reader, file string) ([]*record, []sources.Warning, error) {
	inv := newAnsibleInventory()
	var warns []sources.Warning
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	section, kind := "ungrouped", "hosts"
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if text[0] == '[' {
			if !strings.HasSuffix(text, "]") {
				warns = append(warns, warnf(file, line, "section header %q lacks ']': section ignored", clip(text)))
				section, kind = "", "skip"
				continue
			}
			name := strings.TrimSpace(text[1 : len(text)-1])
			kind = "hosts"
			if g, k, ok := strings.Cut(name, ":"); ok {
				name, kind = g, k
			}
			if name == "" || strings.ContainsAny(name, " \t[]") || (kind != "hosts" && kind != "vars" && kind != "children") {
				warns = append(warns, warnf(file, line, "section %q is not [group], [group:vars] or [group:children]: section ignored", clip(text)))
				section, kind = "", "skip"
				continue
			}
			section = name
			inv.group(section)
			continue
		}
		toks, err := splitINIFields(text)
		if err != nil {
			warns = append(warns, warnf(file, line, "%v: skipped", err))
			continue
		}
		if len(toks) == 0 {
			continue
		}
		switch kind {
		case "skip":
			continue
		case "vars":
			k, v, ok := strings.Cut(text, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				warns = append(warns, warnf(file, line, "%q in [%s:vars] is not key=value: skipped", clip(text), section))
				continue
			}
			inv.group(section).vars[k] = unquoteINI(strings.TrimSpace(v))
		case "children":
			if len(toks) != 1 || strings.Contains(toks[0], "=") {
				warns = append(warns, warnf(file, line, "%q in [%s:children] is not a group name: skipped", clip(text), section))
				continue
			}
			inv.addChild(section, toks[0])
		default:
			vars := map[string]string{}
			bad := ""
			for _, t := range toks[1:] {
				k, v, ok := strings.Cut(t, "=")
				if !ok || k == "" {
					bad = t
					break
				}
				vars[k] = v
			}
			if bad != "" {
				warns = append(warns, warnf(file, line, "host %q: %q is not key=value: skipped", clip(toks[0]), clip(bad)))
				continue
			}
			if strings.Contains(toks[0], "=") {
				warns = append(warns, warnf(file, line, "%q: a host line starts with the host name: skipped", clip(toks[0])))
				continue
			}
			hosts, err := expandHostPattern(toks[0], maxRangeHosts)
			if err != nil {
				warns = append(warns, warnf(file, line, "%v: skipped", err))
				continue
			}
			for _, h := range hosts {
				inv.addHost(section, h, line, vars)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, warns, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	recs, w := inv.records(file)
	return recs, append(warns, w...), nil
}

// splitINIFields splits a line on blanks, keeping quoted values together and dropping an
// inline comment (" # ...").
func splitINIFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inTok := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) && quote == '"' {
				i++
				cur.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inTok = true
		case c == ' ' || c == '\t':
			if inTok {
				out = append(out, cur.String())
				cur.Reset()
				inTok = false
			}
		case c == '#' && !inTok:
			return out, nil
		default:
			cur.WriteByte(c)
			inTok = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, clip(s))
	}
	if inTok {
		out = append(out, cur.String())
	}
	return out, nil
}

func unquoteINI(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return strings.TrimSpace(v[:i])
	}
	return v
}
