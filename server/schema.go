package server

import (
	"encoding/json"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

// portableTool rewrites a tool's generated schemas for clients that map JSON Schema onto a
// single-type dialect: `"type": ["null", X]` (how Go slices and pointers come out) becomes
// `"type": X`, which is what the tools actually send (empty lists and absent values are
// omitted or sent as [], never null). It also adds the bounds the Go types cannot carry.
func portableTool(tool mcp.Tool) mcp.Tool {
	if raw := tool.RawInputSchema; raw != nil {
		tool.RawInputSchema = rewriteSchema(raw, inputBounds)
	}
	if tool.RawOutputSchema == nil && tool.OutputSchema.Type != "" {
		if b, err := json.Marshal(tool.OutputSchema); err == nil {
			tool.RawOutputSchema = shallowSchema(rewriteSchema(b, nil))
			tool.OutputSchema = mcp.ToolOutputSchema{}
		}
	}
	return tool
}

// shallowSchema keeps an output schema's top level (each field's type and description) and
// drops what lies below: every conversation pays for tools/list, and the full nesting of
// nine outputs was two thirds of it (26 KB). The structured results still conform; the
// shape below the top level is shown by the results themselves.
func shallowSchema(raw json.RawMessage) json.RawMessage {
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		return raw
	}
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return raw
	}
	for name, p := range props {
		prop, ok := p.(map[string]any)
		if !ok {
			continue
		}
		slim := map[string]any{}
		for _, k := range []string{"type", "description", "enum"} {
			if v, ok := prop[k]; ok {
				slim[k] = v
			}
		}
		if items, ok := prop["items"].(map[string]any); ok {
			if typ, ok := items["type"].(string); ok && typ != "object" && typ != "array" {
				slim["items"] = map[string]any{"type": typ}
			}
		}
		props[name] = slim
	}
	delete(schema, "$defs")
	delete(schema, "definitions")
	b, err := json.Marshal(schema)
	if err != nil {
		return raw
	}
	return b
}

// withEnum sets the allowed values of a top-level input property from a list an adapter owns
// (a struct tag would be a copy of it). It goes after mcp.WithInputSchema.
func withEnum(prop string, values []string) mcp.ToolOption {
	return func(t *mcp.Tool) {
		var schema map[string]any
		if err := json.Unmarshal(t.RawInputSchema, &schema); err != nil {
			return
		}
		props, _ := schema["properties"].(map[string]any)
		p, ok := props[prop].(map[string]any)
		if !ok {
			return
		}
		p["enum"] = values
		if b, err := json.Marshal(schema); err == nil {
			t.RawInputSchema = b
		}
	}
}

// inputBounds are added to top-level input properties of these names.
var inputBounds = map[string]map[string]any{
	"limit":   {"minimum": 0, "maximum": maxPageLimit},
	"offset":  {"minimum": 0},
	"targets": {"minItems": 1, "maxItems": maxScanTargets},
	"sources": {"maxItems": maxToolTargets},
}

func rewriteSchema(raw json.RawMessage, bounds map[string]map[string]any) json.RawMessage {
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		return raw
	}
	dropNullTypes(schema)
	if props, ok := schema["properties"].(map[string]any); ok {
		for name, extra := range bounds {
			if p, ok := props[name].(map[string]any); ok {
				for k, v := range extra {
					p[k] = v
				}
			}
		}
	}
	b, err := json.Marshal(schema)
	if err != nil {
		return raw
	}
	return b
}

func dropNullTypes(v any) {
	switch x := v.(type) {
	case map[string]any:
		if types, ok := x["type"].([]any); ok {
			rest := slices.DeleteFunc(slices.Clone(types), func(t any) bool { return t == "null" })
			if len(rest) == 1 {
				x["type"] = rest[0]
			}
		}
		for _, child := range x {
			dropNullTypes(child)
		}
	case []any:
		for _, child := range x {
			dropNullTypes(child)
		}
	}
}
