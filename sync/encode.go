package sync

import (
	"strconv"

	"github.com/netbox-agent/netbox-agent/netbox"
)

// appendAction appends what json.Encoder.Encode(&a) writes (the JSON and a newline), without
// reflection for the common values of a body: the plan id hashes every action of a plan.
// Values it has no case for go through encoding/json, which gives the same bytes in place.
func appendAction(b []byte, a *Action) ([]byte, error) {
	b = append(b, `{"key":`...)
	b = netbox.AppendJSONString(b, a.Key)
	b = append(b, `,"op":`...)
	b = netbox.AppendJSONString(b, string(a.Op))
	b = append(b, `,"level":`...)
	b = strconv.AppendInt(b, int64(a.Level), 10)
	b = append(b, `,"endpoint":`...)
	b = netbox.AppendJSONString(b, a.Endpoint)
	b = append(b, `,"type":`...)
	b = netbox.AppendJSONString(b, a.Type)
	if a.ID != 0 {
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, int64(a.ID), 10)
	}
	b = appendIfSet(b, `,"target":`, a.Target)
	b = append(b, `,"name":`...)
	b = netbox.AppendJSONString(b, a.Name)
	b = appendIfSet(b, `,"entity":`, a.Entity)
	b = appendIfSet(b, `,"last_updated":`, a.LastUpdated)
	var err error
	if len(a.Body) > 0 {
		b = append(b, `,"body":`...)
		if b, err = netbox.AppendJSON(b, a.Body); err != nil {
			return nil, err
		}
	}
	if len(a.Changes) > 0 {
		b = append(b, `,"changes":[`...)
		for i := range a.Changes {
			c := &a.Changes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = netbox.AppendJSONString(b, c.Field)
			b = append(b, `,"before":`...)
			if b, err = netbox.AppendJSON(b, c.Before); err != nil {
				return nil, err
			}
			b = append(b, `,"after":`...)
			if b, err = netbox.AppendJSON(b, c.After); err != nil {
				return nil, err
			}
			b = appendIfSet(b, `,"source":`, c.Source)
			b = appendIfSet(b, `,"reason":`, c.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendIfSet(b, `,"reason":`, a.Reason)
	return append(b, '}', '\n'), nil
}

// appendIfSet appends key (`,"name":`) and v as a JSON string, unless v is empty (omitempty).
func appendIfSet(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return netbox.AppendJSONString(append(b, key...), v)
}
