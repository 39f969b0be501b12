package netbox

import (
	"context"
	"net/url"
	"strconv"
)

// Result is the outcome of one object of a bulk write, at the object's index in the input.
// Object is NetBox's answer for creates and updates (nil for deletes and failures).
type Result struct {
	Index  int
	Object Object
	Err    error
}

// CreateOptions tunes Create.
type CreateOptions struct {
	// LookupKey gives NetBox filters that find exactly this object once it exists, e.g.
	// url.Values{"cf_netbox_agent_id": {"proxmox:pve1/vm/101"}}.
	// When a bulk create gets no answer (dropped connection, 502/503/504 after sending), the
	// client looks each object up before resending, so a retry never creates duplicates.
	// When it is nil or returns no filters, DefaultLookupKey(endpoint) is used; objects with
	// neither are reported with ErrOutcomeUnknown instead of being resent.
	LookupKey func(Object) url.Values
	// AnswerFields, when set, keeps only these fields (and always "id") of each object NetBox
	// answers with in Result.Object. A caller that needs only the new ids saves decoding
	// whole objects: NetBox answers a bulk write with every object in full.
	AnswerFields []string
	// Together, when set, keeps objects with the same non-empty key in one request (a request
	// may then exceed BatchSize by the rest of a group). NetBox keeps some totals on a parent
	// with a signal that sums its children inside each request's transaction: a VM's disk is
	// the sum of its virtual disks. Two requests holding disks of one VM, in flight at once,
	// each sum what their own transaction sees, and the last to commit leaves a wrong total
	// that NetBox then refuses on every later edit of the VM.
	Together func(Object) string
}

// UpdateOptions tunes UpdateWith.
type UpdateOptions struct {
	// AnswerFields and Together are as in CreateOptions.
	AnswerFields []string
	Together     func(Object) string
}

// DefaultLookupKey gives the natural key NetBox enforces as unique for an endpoint (slug, or
// name within its parent), or nil when there is none the client can build from the object.
func DefaultLookupKey(endpoint string) func(Object) url.Values {
	str := func(o Object, k string) (string, bool) { s := o.String(k); return s, s != "" }
	byField := func(field string) func(Object) url.Values {
		return func(o Object) url.Values {
			if v, ok := str(o, field); ok {
				return url.Values{field: {v}}
			}
			return nil
		}
	}
	withParent := func(field, parent string) func(Object) url.Values {
		return func(o Object) url.Values {
			v, ok := str(o, field)
			p := o.RefID(parent)
			if !ok || p == 0 {
				return nil
			}
			return url.Values{field: {v}, parent + "_id": {strconv.Itoa(p)}}
		}
	}
	// parent is the object a name or slug is unique within; its filter is parent + "_id".
	parent := map[string]string{
		Locations: "site", DeviceTypes: "manufacturer", Devices: "site", Interfaces: "device",
		VMInterfaces: "virtual_machine", VirtualDisks: "virtual_machine", VirtualMachines: "cluster",
	}
	switch endpoint {
	case Tags, Sites, Manufacturers, ClusterTypes, DeviceRoles, Platforms:
		return byField("slug")
	case CustomFields, Clusters:
		return byField("name")
	case Locations, DeviceTypes:
		return withParent("slug", parent[endpoint])
	case Devices, Interfaces, VMInterfaces, VirtualDisks, VirtualMachines:
		return withParent("name", parent[endpoint])
	case IPAddresses:
		return assigned("address", "assigned_object_type", "assigned_object_id")
	case MACAddresses:
		return assigned("mac_address", "assigned_object_type", "assigned_object_id")
	case Services:
		return assigned("name", "parent_object_type", "parent_object_id")
	}
	return nil
}

// assigned builds a key from a value and the object it is assigned to (an interface, or a
// device or VM for services): unique in practice, though NetBox does not enforce it; a lookup
// that finds several objects is reported, never guessed.
func assigned(field, typeField, idField string) func(Object) url.Values {
	filters := map[string]string{
		"dcim.interface": "interface_id", "virtualization.vminterface": "vminterface_id",
		"dcim.device": "device_id", "virtualization.virtualmachine": "virtual_machine_id",
	}
	return func(o Object) url.Values {
		v := o.String(field)
		if v == "" {
			return nil
		}
		q := url.Values{field: {v}}
		if id := o.RefID(idField); id > 0 {
			f, ok := filters[o.String(typeField)]
			if !ok {
				return nil
			}
			q.Set(f, strconv.Itoa(id))
		}
		return q
	}
}

// Create writes new objects with bulk POSTs of BatchSize objects, MaxInFlight at once. It is
// CreateWith without options.
func (c *Client) Create(ctx context.Context, endpoint string, objs []Object) []Result {
	return c.CreateWith(ctx, endpoint, objs, CreateOptions{})
}

// CreateWith writes new objects in bulk. NetBox writes a batch all or nothing: when it
// rejects a batch, the objects it names get an *APIError with NetBox's message, and the
// others are sent again once as a new batch (unless Config.DisableRemainderRetry; then they
// get ErrBatchRejected). When NetBox does not say which object was at fault, the batch is
// split in halves until it does. Results come in input order.
func (c *Client) CreateWith(ctx context.Context, endpoint string, objs []Object, opts CreateOptions) []Result {
	b := c.newBulk(opCreate, endpoint, objs)
	b.lookup = opts.LookupKey
	b.answer = newAnswerDecoder(opts.AnswerFields)
	b.together = opts.Together
	return b.run(ctx)
}

// Update changes objects with bulk PATCHes; each object holds "id" and only the fields to
// change. Failures are reported per object as in CreateWith; an id NetBox does not know
// (it skips those silently) gets ErrNotFound.
func (c *Client) Update(ctx context.Context, endpoint string, objs []Object) []Result {
	return c.newBulk(opUpdate, endpoint, objs).run(ctx)
}

// UpdateWith is Update with options.
func (c *Client) UpdateWith(ctx context.Context, endpoint string, objs []Object, opts UpdateOptions) []Result {
	b := c.newBulk(opUpdate, endpoint, objs)
	b.answer = newAnswerDecoder(opts.AnswerFields)
	b.together = opts.Together
	return b.run(ctx)
}

// Delete removes objects by id with bulk DELETEs. A batch refused because some object has
// dependents (409) is split until the refused objects are isolated.
func (c *Client) Delete(ctx context.Context, endpoint string, ids []int) []Result {
	return c.DeleteWith(ctx, endpoint, ids, false)
}

// DeleteWith is Delete; together sends every id in one request (see CreateOptions.Together:
// deletes do not name the parent, so the only safe grouping is all of them).
func (c *Client) DeleteWith(ctx context.Context, endpoint string, ids []int, together bool) []Result {
	objs := make([]Object, len(ids))
	for i, id := range ids {
		objs[i] = Object{"id": id}
	}
	b := c.newBulk(opDelete, endpoint, objs)
	if together {
		b.together = func(Object) string { return "all" }
	}
	return b.run(ctx)
}

type opKind int

const (
	opCreate opKind = iota
	opUpdate
	opDelete
)
