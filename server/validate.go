package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// The server validates tool arguments itself instead of mcp-go's WithInputSchemaValidation,
// whose messages print the validator's structs ("/limit: &{Got:500/1 Want:200/1}"): a model
// (and a person reading over its shoulder) needs "limit: must be at most 200 (got 500)".

// argsValidator checks a tool's arguments against its input schema.
type argsValidator struct {
	tool   string
	schema *jsonschema.Schema
}

func newArgsValidator(tool mcp.Tool) (*argsValidator, error) {
	raw := tool.RawInputSchema
	if raw == nil {
		b, err := json.Marshal(tool.InputSchema)
		if err != nil {
			return nil, fmt.Errorf("tool %s: input schema: %w", tool.Name, err)
		}
		raw = b
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", tool.Name, err)
	}
	c := jsonschema.NewCompiler()
	url := "mem:///tools/" + tool.Name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", tool.Name, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", tool.Name, err)
	}
	return &argsValidator{tool: tool.Name, schema: sch}, nil
}

// check returns nil or an error listing every problem as "field: what is wrong (got X)".
func (v *argsValidator) check(args any) error {
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("arguments are not JSON: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("arguments are not JSON: %w", err)
	}
	err = v.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	var msgs []string
	collectLeaves(verr, &msgs)
	return errors.New(strings.Join(msgs, "; "))
}

func collectLeaves(verr *jsonschema.ValidationError, out *[]string) {
	if len(verr.Causes) == 0 {
		*out = append(*out, describe(verr))
		return
	}
	for _, c := range verr.Causes {
		collectLeaves(c, out)
	}
}

var english = message.NewPrinter(language.English)

// describe renders one violation with its field path ("limit", "targets[2]").
func describe(verr *jsonschema.ValidationError) string {
	var path strings.Builder
	for _, seg := range verr.InstanceLocation {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			path.WriteString("[" + seg + "]")
			continue
		}
		if path.Len() > 0 {
			path.WriteByte('.')
		}
		path.WriteString(seg)
	}
	field := path.String()
	var what string
	switch k := verr.ErrorKind.(type) {
	case *kind.Maximum:
		what = fmt.Sprintf("must be at most %s (got %s)", num(k.Want), num(k.Got))
	case *kind.Minimum:
		what = fmt.Sprintf("must be at least %s (got %s)", num(k.Want), num(k.Got))
	case *kind.MaxItems:
		what = fmt.Sprintf("takes at most %d items (got %d)", k.Want, k.Got)
	case *kind.MinItems:
		what = fmt.Sprintf("needs at least %d items (got %d)", k.Want, k.Got)
	case *kind.Type:
		what = fmt.Sprintf("must be %s (got %s)", article(strings.Join(k.Want, " or ")), k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprintf("%v", w)
		}
		what = fmt.Sprintf("must be one of %s (got %v)", strings.Join(want, ", "), k.Got)
	case *kind.Required:
		return "missing required argument " + strings.Join(k.Missing, ", ")
	case *kind.AdditionalProperties:
		names := make([]string, len(k.Properties))
		for i, p := range k.Properties {
			names[i] = strconv.Quote(p)
		}
		return "unknown argument " + strings.Join(names, ", ")
	default:
		what = verr.ErrorKind.LocalizedString(english)
	}
	if field == "" {
		return what
	}
	return field + ": " + what
}

func num(r *big.Rat) string {
	if r.IsInt() {
		return r.RatString()
	}
	return strings.TrimRight(r.FloatString(6), "0")
}

func article(typ string) string {
	if typ == "" {
		return typ
	}
	if strings.ContainsRune("aeiou", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}
