package truenastest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
)

// modelsJSON is testdata/truenas-api-models.json; see Models.
//
//go:embed testdata/truenas-api-models.json
var modelsJSON []byte

// Models are the result models of the methods the truenas adapter calls, transcribed from
// TrueNAS's own pydantic API models (truenas/middleware; Origin names the commit and files).
// The simulator is held to them, and the adapter is fed the shapes they allow. Schemas use a
// JSON Schema subset: type (one or a list, with "datetime" for {"$date": ms} and "any"),
// properties, required, additionalProperties (false unless true), items, enum, minLength,
// maxLength, pattern, minimum, maximum, format "ip-or-empty", $ref (a definition's name),
// anyOf and oneOf.
type Models struct {
	Origin      string                    `json:"origin"`
	Methods     map[string]map[string]any `json:"methods"`
	Definitions map[string]map[string]any `json:"definitions"`
	// Versions change definitions for a later release: each adds required fields and adds or
	// replaces properties of the definition of its name (or is new).
	Versions map[string]struct {
		Origin      string                    `json:"origin"`
		Definitions map[string]map[string]any `json:"definitions"`
	} `json:"versions"`
}

// LoadModels returns the models of TrueNAS 25.10; ForVersion gives a later release's.
func LoadModels() (Models, error) {
	var m Models
	if err := json.Unmarshal(modelsJSON, &m); err != nil {
		return Models{}, fmt.Errorf("testdata/truenas-api-models.json: %w", err)
	}
	return m, nil
}

// ForVersion returns the models of release v ("26").
func (m Models) ForVersion(v string) (Models, error) {
	ver, ok := m.Versions[v]
	if !ok {
		return Models{}, fmt.Errorf("no models for version %q", v)
	}
	out := m
	out.Origin = ver.Origin
	out.Definitions = map[string]map[string]any{}
	for name, def := range m.Definitions {
		out.Definitions[name] = def
	}
	for name, change := range ver.Definitions {
		base, ok := m.Definitions[name]
		if !ok {
			out.Definitions[name] = change
			continue
		}
		merged := map[string]any{}
		for k, v := range base {
			merged[k] = v
		}
		req, _ := base["required"].([]any)
		more, _ := change["required"].([]any)
		merged["required"] = append(slices.Clone(req), more...)
		props := map[string]any{}
		baseProps, _ := base["properties"].(map[string]any)
		for k, v := range baseProps {
			props[k] = v
		}
		changed, _ := change["properties"].(map[string]any)
		for k, v := range changed {
			props[k] = v
		}
		merged["properties"] = props
		out.Definitions[name] = merged
	}
	return out, nil
}
