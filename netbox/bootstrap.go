package netbox

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
)

// TagSpec is a tag the agent needs.
type TagSpec struct {
	Name, Slug  string
	Color       string // 6 hex digits, no '#'; NetBox's default (9e9e9e) when empty
	Description string
}

// CustomFieldSpec is a custom field the agent needs. Zero values leave NetBox's defaults.
type CustomFieldSpec struct {
	Name        string // ^[a-z0-9_]+$, no "__"
	Label       string
	Type        string   // text, longtext, integer, decimal, boolean, date, datetime, url, json, select, multiselect, object, multiobject
	ObjectTypes []string // e.g. "dcim.device", "virtualization.virtualmachine"
	Description string
	GroupName   string
	Required    bool
	Default     any
	Weight      int
	FilterLogic string // exact, loose, disabled
	UIVisible   string // always, if-set, hidden
	UIEditable  string // yes, no, hidden
}

// EnsureTags creates the tags that do not exist yet (matched by slug) and returns every
// tag's id by slug. Existing tags are left as they are: a person may have recoloured them.
func (c *Client) EnsureTags(ctx context.Context, tags []TagSpec) (map[string]int, error) {
	if len(tags) == 0 {
		return map[string]int{}, nil
	}
	q := url.Values{}
	for _, t := range tags {
		if t.Slug == "" || t.Name == "" {
			return nil, fmt.Errorf("netbox: ensure tags: tag %q/%q needs a name and a slug", t.Name, t.Slug)
		}
		q.Add("slug", t.Slug)
	}
	existing, err := c.List(ctx, Tags, q)
	if err != nil {
		return nil, fmt.Errorf("netbox: ensure tags: %w", err)
	}
	ids := map[string]int{}
	for _, o := range existing {
		ids[o.String("slug")] = o.ID()
	}
	var create []Object
	for _, t := range tags {
		if _, ok := ids[t.Slug]; ok {
			continue
		}
		o := Object{"name": t.Name, "slug": t.Slug}
		if t.Color != "" {
			o["color"] = t.Color
		}
		if t.Description != "" {
			o["description"] = t.Description
		}
		create = append(create, o)
	}
	var errs []error
	for _, r := range c.Create(ctx, Tags, create) {
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		ids[r.Object.String("slug")] = r.Object.ID()
		c.logger.Info("netbox: created tag", "slug", r.Object.String("slug"), "id", r.Object.ID())
	}
	if len(errs) > 0 {
		return ids, fmt.Errorf("netbox: ensure tags: %w", errors.Join(errs...))
	}
	return ids, nil
}

// EnsureCustomFields creates the custom fields that do not exist yet (matched by name) and
// adds missing object types to those that do. Running it twice writes nothing the second
// time. A field that exists with another type is an error (the agent cannot store its data
// there); the other fields are still ensured.
func (c *Client) EnsureCustomFields(ctx context.Context, fields []CustomFieldSpec) error {
	if len(fields) == 0 {
		return nil
	}
	q := url.Values{}
	for _, f := range fields {
		if f.Name == "" || f.Type == "" || len(f.ObjectTypes) == 0 {
			return fmt.Errorf("netbox: ensure custom fields: field %q needs a name, a type and object types", f.Name)
		}
		q.Add("name", f.Name)
	}
	existing, err := c.List(ctx, CustomFields, q)
	if err != nil {
		return fmt.Errorf("netbox: ensure custom fields: %w", err)
	}
	byName := map[string]Object{}
	for _, o := range existing {
		byName[o.String("name")] = o
	}
	var errs []error
	var create, update []Object
	for _, f := range fields {
		ex, ok := byName[f.Name]
		if !ok {
			create = append(create, customFieldObject(f))
			continue
		}
		if t := ex.String("type"); t != f.Type {
			errs = append(errs, fmt.Errorf("netbox: custom field %q exists with type %q, the agent needs %q: change or remove it in NetBox", f.Name, t, f.Type))
			continue
		}
		have := stringList(ex["object_types"])
		union := slices.Clone(have)
		for _, ot := range f.ObjectTypes {
			if !slices.Contains(union, ot) {
				union = append(union, ot)
			}
		}
		if len(union) > len(have) {
			sort.Strings(union)
			update = append(update, Object{"id": ex.ID(), "object_types": union})
		}
	}
	for _, r := range c.Create(ctx, CustomFields, create) {
		if r.Err != nil {
			errs = append(errs, r.Err)
		} else {
			c.logger.Info("netbox: created custom field", "name", r.Object.String("name"))
		}
	}
	for _, r := range c.Update(ctx, CustomFields, update) {
		if r.Err != nil {
			errs = append(errs, r.Err)
		} else {
			c.logger.Info("netbox: added object types to custom field", "name", r.Object.String("name"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("netbox: ensure custom fields: %w", errors.Join(errs...))
	}
	return nil
}

func customFieldObject(f CustomFieldSpec) Object {
	o := Object{"name": f.Name, "type": f.Type, "object_types": f.ObjectTypes}
	set := func(k, v string) {
		if v != "" {
			o[k] = v
		}
	}
	set("label", f.Label)
	set("description", f.Description)
	set("group_name", f.GroupName)
	set("filter_logic", f.FilterLogic)
	set("ui_visible", f.UIVisible)
	set("ui_editable", f.UIEditable)
	if f.Required {
		o["required"] = true
	}
	if f.Default != nil {
		o["default"] = f.Default
	}
	if f.Weight != 0 {
		o["weight"] = f.Weight
	}
	return o
}

func stringList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, l...)
	}
	return out
}
