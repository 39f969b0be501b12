package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

// section is one part of the config owned by one package: where it sits in the file, how its
// secrets are named in the environment, and how it validates itself.
type section struct {
	path string // yaml path: "netbox", "sources.proxmox[0]"
	// envPrefixes are prepended to the env tags of its secret fields, applied in order so the
	// most specific ("PROXMOX_PVE_LAB_") overrides the general ("PROXMOX_").
	envPrefixes []string
	target      any // pointer to the package's Config
	validate    func() []error
}

// ConfigError is one problem in the config: where (file and line when known, field path) and what.
type ConfigError struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ConfigErrors is every problem found, in file order.
type ConfigErrors []ConfigError

func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

var yamlLineRe = regexp.MustCompile(`^line (\d+): (.*)$`)

// decodeYAML decodes strictly (unknown fields are errors) and returns the node tree for line
// lookups. Every type error yaml.v3 finds is reported, each with its line.
func decodeYAML(file string, data []byte, into any) (*yaml.Node, error) {
	// The node tree is nil only after a syntax error.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, ConfigErrors{yamlError(file, err.Error())}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &root, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var es ConfigErrors
			for _, msg := range te.Errors {
				e := yamlError(file, msg)
				e.Path = pathAtLine(&root, e.Line)
				es = append(es, e)
			}
			return &root, es
		}
		return &root, ConfigErrors{yamlError(file, err.Error())}
	}
	return &root, nil
}

func yamlError(file, msg string) ConfigError {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return ConfigError{File: file, Line: line, Msg: m[2]}
	}
	return ConfigError{File: file, Msg: msg}
}

// pathAtLine names the field whose value starts on a line ("netbox.timeout"), or "".
func pathAtLine(root *yaml.Node, line int) string {
	if line <= 0 || len(root.Content) == 0 {
		return ""
	}
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if v.Line == line && (v.Kind == yaml.ScalarNode || k.Line == line) {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if found := walk(c, fmt.Sprintf("%s[%d]", path, i)); found != "" {
					return found
				}
			}
		}
		return ""
	}
	return walk(root.Content[0], "")
}

// nodeLine finds the line of the deepest node on a path such as "sources.proxmox[0].url".
func nodeLine(root *yaml.Node, path string) int {
	if root == nil || len(root.Content) == 0 {
		return 0
	}
	n := root.Content[0]
	line := 0
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		key, next := mappingValue(n, name)
		if next == nil {
			return line
		}
		n, line = next, key.Line
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n, line = n.Content[idx], n.Content[idx].Line
		}
	}
	return line
}

func mappingValue(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// applyEnv sets each section's secrets from the environment: NAME and NAME_FILE (a file holding
// the value, as Docker and systemd credentials provide), the prefixed name first.
func applyEnv(sections []section, environ map[string]string) ConfigErrors {
	var es ConfigErrors
	for _, s := range sections {
		prefixes := s.envPrefixes
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, prefix := range prefixes {
			es = append(es, applyEnvPrefix(s, prefix, environ)...)
		}
	}
	return es
}

func applyEnvPrefix(s section, prefix string, environ map[string]string) ConfigErrors {
	var es ConfigErrors
	if err := env.ParseWithOptions(s.target, env.Options{Prefix: prefix, Environment: environ}); err != nil {
		es = append(es, ConfigError{Path: s.path, Msg: "environment: " + err.Error()})
	}
	for _, f := range secretFields(s.target) {
		name := prefix + f.env + "_FILE"
		file, ok := environ[name]
		if !ok || file == "" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			es = append(es, ConfigError{Path: s.path + "." + f.yaml, Msg: fmt.Sprintf("%s names a file that cannot be read: %v", name, unwrapPathError(err))})
			continue
		}
		if err := f.value.UnmarshalText(data); err != nil {
			es = append(es, ConfigError{Path: s.path + "." + f.yaml, Msg: name + ": " + err.Error()})
		}
	}
	return es
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

type secretField struct {
	env, yaml string
	value     *secret.Secret
}

// secretFields lists the secret.Secret fields with an env tag, in nested structs too.
func secretFields(target any) []secretField {
	var out []secretField
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			if !f.IsExported() {
				continue
			}
			if s, ok := fv.Addr().Interface().(*secret.Secret); ok {
				if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
					y, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
					out = append(out, secretField{env: name, yaml: y, value: s})
				}
				continue
			}
			if fv.Kind() == reflect.Struct {
				walk(fv)
			}
		}
	}
	v := reflect.ValueOf(target)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		walk(v.Elem())
	}
	return out
}

// validateSections runs every section's validation and places each error at its line. Package
// errors start with the field path relative to their Config ("url: ..."), which becomes
// "sources.proxmox[0].url" here.
func validateSections(file string, root *yaml.Node, sections []section) ConfigErrors {
	var es ConfigErrors
	for _, s := range sections {
		if s.validate == nil {
			continue
		}
		for _, err := range s.validate() {
			msg := err.Error()
			path := s.path
			if field, rest, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(field, " \"") {
				path, msg = s.path+"."+field, rest
			}
			es = append(es, ConfigError{File: file, Line: nodeLine(root, path), Path: path, Msg: s.envNames(msg)})
		}
	}
	return es
}

// environMap turns os.Environ into a map.
func environMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// envName turns an instance name into an environment variable part: "pve-lab" -> "PVE_LAB".
func envName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// envNames rewrites a package's bare variable name in a message ("TOKEN_SECRET") into the
// names this instance reads ("PROXMOX_TOKEN_SECRET or PROXMOX_PVE_TOKEN_SECRET").
func (s section) envNames(msg string) string {
	if len(s.envPrefixes) == 0 {
		return msg
	}
	for _, f := range secretFields(s.target) {
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(f.env) + `\b`)
		names := make([]string, len(s.envPrefixes))
		for i, p := range s.envPrefixes {
			names[i] = p + f.env
		}
		msg = re.ReplaceAllLiteralString(msg, strings.Join(names, " or "))
	}
	return msg
}
