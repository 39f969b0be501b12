package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
)

// SourcesConfig is the sources: section, any number of instances of each adapter kind of a table
// (adapterKinds): sources.<kind> is a list of that adapter's Config. The table is the only list
// of adapters; the section is decoded through fileShape.
type SourcesConfig struct {
	kinds []adapterKind
	lists []any // per kind, in table order: *[]C as decoded
}

// instances lists every configured source instance, in table order then config order.
func (s *SourcesConfig) instances() []instance {
	var out []instance
	for i, k := range s.kinds {
		out = append(out, k.instances(s.lists[i])...)
	}
	return out
}

// serve hands each adapter's sources to the MCP server.
func (s *SourcesConfig) serve(d *server.Deps, all []sources.Source) {
	for i, k := range s.kinds {
		k.serve(d, s.lists[i], all)
	}
}

// configsOf returns the configs of the adapter whose Config is C, in file order.
func configsOf[C any](s *SourcesConfig) []C {
	for _, l := range s.lists {
		if p, ok := l.(*[]C); ok {
			return *p
		}
	}
	return nil
}

// MarshalJSON writes the effective config's sources as the file has them: kind name to list,
// in table order.
func (s SourcesConfig) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range s.kinds {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(k.name)
		val, err := json.Marshal(s.lists[i])
		if err != nil {
			return nil, fmt.Errorf("sources.%s: %w", k.name, err)
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// fileShape is the config file's type for one adapter table, built at run time: Config's own
// sections inline and sources.<kind> for each kind. Decoding into it strictly keeps yaml.v3's
// unknown-field and type errors, each with its line, for the adapters' sections too (a custom
// unmarshaller of the sources section would decode it loosely). A kind not in the table lands
// in an inline map and is reported by unknownKinds.
type fileShape struct {
	kinds         []adapterKind
	file, sources reflect.Type
}

func newFileShape(kinds []adapterKind) fileShape {
	fields := make([]reflect.StructField, 0, len(kinds)+1)
	for i, k := range kinds {
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Kind%d", i), Type: k.list, Tag: reflect.StructTag(fmt.Sprintf("yaml:%q", k.name))})
	}
	fields = append(fields, reflect.StructField{Name: "Unknown", Type: reflect.TypeFor[map[string]yaml.Node](), Tag: `yaml:",inline"`})
	src := reflect.StructOf(fields)
	file := reflect.StructOf([]reflect.StructField{
		{Name: "Config", Type: reflect.TypeFor[Config](), Tag: `yaml:",inline"`},
		{Name: "Sources", Type: src, Tag: `yaml:"sources"`},
	})
	return fileShape{kinds: kinds, file: file, sources: src}
}

// decode decodes data into cfg (whose defaults it keeps) and cfg.Sources; see decodeYAML.
func (f fileShape) decode(path string, data []byte, cfg *Config) (*yaml.Node, error) {
	v := reflect.New(f.file)
	v.Elem().Field(0).Set(reflect.ValueOf(*cfg))
	root, err := decodeYAML(path, data, v.Interface())
	*cfg = v.Elem().Field(0).Interface().(Config)
	src := v.Elem().Field(1)
	cfg.Sources = SourcesConfig{kinds: f.kinds, lists: make([]any, len(f.kinds))}
	for i := range f.kinds {
		cfg.Sources.lists[i] = src.Field(i).Addr().Interface()
	}
	if es, ok := err.(ConfigErrors); ok {
		// yaml.v3 names the struct it decodes into: name the run-time types as the file's parts.
		for i := range es {
			es[i].Msg = strings.ReplaceAll(es[i].Msg, f.file.String(), "main.Config")
			es[i].Msg = strings.ReplaceAll(es[i].Msg, f.sources.String(), "main.SourcesConfig")
		}
	}
	if root != nil {
		if unknown := f.unknownKinds(path, root, src.Field(len(f.kinds)).Interface().(map[string]yaml.Node)); len(unknown) > 0 {
			es, _ := err.(ConfigErrors)
			return root, append(es, unknown...)
		}
	}
	return root, err
}

// unknownKinds reports each key under sources: that no adapter of the table has.
func (f fileShape) unknownKinds(path string, root *yaml.Node, unknown map[string]yaml.Node) ConfigErrors {
	var es ConfigErrors
	known := make([]string, len(f.kinds))
	for i, k := range f.kinds {
		known[i] = k.name
	}
	for _, name := range slices.Sorted(maps.Keys(unknown)) {
		p := "sources." + name
		es = append(es, ConfigError{File: path, Line: nodeLine(root, p), Path: p,
			Msg: fmt.Sprintf("%q is not a source kind (known kinds: %s)", name, strings.Join(known, ", "))})
	}
	return es
}
