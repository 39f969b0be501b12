package inventory

import (
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/sources"
)

// parseAnsibleYAML reads a YAML inventory: `all: {hosts: {h: {vars}}, vars: {}, children:
// {g: {...}}}` (other top-level groups are children of all).
func parseAnsibleYAML(r io.Reader, file string) ([]*record, []sources.Warning, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(io.LimitReader(r, maxFileBytes)).Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("%s: YAML: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d: an inventory is a mapping of groups, got %s", file, root.Line, nodeKind(root))
	}
	inv := newAnsibleInventory()
	p := yamlInv{inv: inv, file: file}
	for i := 0; i+1 < len(root.Content); i += 2 {
		name := root.Content[i].Value
		p.group(name, root.Content[i+1], 0)
	}
	recs, w := inv.records(file)
	return recs, append(p.warns, w...), nil
}

type yamlInv struct {
	inv   *ansibleInventory
	file  string
	warns []sources.Warning
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", clip(n.Value))
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func (p *yamlInv) warn(n *yaml.Node, format string, args ...any) {
	p.warns = append(p.warns, warnf(p.file, n.Line, format, args...))
}

// mapping reports whether n is a mapping. A null is none, silently; anything else is warned
// about: "<what>, got <its kind>: ignored".
func (p *yamlInv) mapping(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return false
	}
	if n.Kind != yaml.MappingNode {
		p.warn(n, "%s, got %s: ignored", what, nodeKind(n))
		return false
	}
	return true
}

// group reads one group body; depth guards against alias loops.
func (p *yamlInv) group(name string, body *yaml.Node, depth int) {
	if depth > 64 {
		p.warn(body, "group %q nested more than 64 deep: ignored", clip(name))
		return
	}
	p.inv.group(name)
	if body.Kind == yaml.ScalarNode && body.Value == "" ||
		!p.mapping(body, fmt.Sprintf("group %q: want a mapping with hosts, vars or children", clip(name))) {
		return
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		key, val := body.Content[i], body.Content[i+1]
		switch key.Value {
		case "hosts":
			p.hosts(name, val)
		case "vars":
			vars, ok := p.vars(val, "group "+name)
			if ok {
				for k, v := range vars {
					p.inv.group(name).vars[k] = v
				}
			}
		case "children":
			if !p.mapping(val, fmt.Sprintf("group %q: children must be a mapping", clip(name))) {
				continue
			}
			for j := 0; j+1 < len(val.Content); j += 2 {
				child := val.Content[j].Value
				p.inv.addChild(name, child)
				p.group(child, val.Content[j+1], depth+1)
			}
		default:
			p.warn(key, "group %q: unknown key %q (want hosts, vars or children): ignored", clip(name), clip(key.Value))
		}
	}
}

func (p *yamlInv) hosts(group string, n *yaml.Node) {
	if !p.mapping(n, fmt.Sprintf("group %q: hosts must be a mapping of host names", clip(group))) {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		vars, ok := p.vars(val, "host "+key.Value)
		if !ok {
			continue
		}
		hosts, err := expandHostPattern(key.Value, maxRangeHosts)
		if err != nil || key.Value == "" {
			p.warn(key, "%v: skipped", errOr(err, "empty host name"))
			continue
		}
		for _, h := range hosts {
			p.inv.addHost(group, h, key.Line, vars)
		}
	}
}

func errOr(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// vars reads a mapping of scalars; nested values (lists, dicts) are not facts the agent maps.
func (p *yamlInv) vars(n *yaml.Node, what string) (map[string]string, bool) {
	out := map[string]string{}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "") {
		return out, true
	}
	if n.Kind != yaml.MappingNode {
		p.warn(n, "%s: vars must be a mapping, got %s: skipped", clip(what), nodeKind(n))
		return nil, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
			out[k.Value] = v.Value
		}
	}
	return out, true
}
