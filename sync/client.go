package sync

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/netbox-agent/netbox-agent/netbox"
)

// clientAdapter makes a *netbox.Client the engine's NetBox.
type clientAdapter struct{ c *netbox.Client }

// FromClient adapts the NetBox client to the engine.
func FromClient(c *netbox.Client) NetBox { return clientAdapter{c} }

func (a clientAdapter) Version(ctx context.Context) (int, int, error) {
	st, err := a.c.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	return st.Major, st.Minor, nil
}

func (a clientAdapter) Snapshot(ctx context.Context, reads []ReadSpec) (map[string][]Object, error) {
	got, err := a.c.Snapshot(ctx, reads)
	if err != nil {
		return nil, err // the engine never plans from a partial snapshot
	}
	return got, nil
}

// Create retries a bulk create that got no answer only after looking its objects up by their
// natural key (netbox.DefaultLookupKey): a dropped connection never makes a duplicate. Objects
// without one (IPs, MACs, services) are reported as of unknown outcome; the next plan finds
// them on their interface or parent.
// Apply needs only the ids of what it wrote: the answers are decoded for "id" alone (NetBox
// answers a bulk write with every object in full).
func (a clientAdapter) Create(ctx context.Context, endpoint string, objs []Object) []WriteResult {
	return a.c.CreateWith(ctx, endpoint, objs, netbox.CreateOptions{LookupKey: netbox.DefaultLookupKey(endpoint),
		AnswerFields: []string{"id"}, Together: together(endpoint, false)})
}

func (a clientAdapter) Update(ctx context.Context, endpoint string, objs []Object) []WriteResult {
	return a.c.UpdateWith(ctx, endpoint, objs, netbox.UpdateOptions{AnswerFields: []string{"id"}, Together: together(endpoint, true)})
}

func (a clientAdapter) Delete(ctx context.Context, endpoint string, ids []int) []WriteResult {
	return a.c.DeleteWith(ctx, endpoint, ids, endpoint == epVirtualDisks)
}

// together keeps a VM's virtual disks in one request: NetBox sums them into the VM's disk
// in each request's transaction, and two requests in flight for one VM leave a wrong total
// that NetBox then refuses on every later edit of the VM (seen on NetBox 4.6.8 with 2,000
// VMs). Updates do not name the VM: they all go in one request.
func together(endpoint string, update bool) func(Object) string {
	if endpoint != epVirtualDisks {
		return nil
	}
	if update {
		return func(Object) string { return "all" }
	}
	return func(o Object) string { return fmt.Sprint(o["virtual_machine"]) }
}

// changeFields are the change log fields the engine reads.
const changeFields = "id,changed_object_type,changed_object_id,action"

func (a clientAdapter) LastChangeID(ctx context.Context) (int, error) {
	o, ok, err := a.c.First(ctx, "core/object-changes", url.Values{"ordering": {"-id"}, "fields": {"id"}})
	if err != nil || !ok {
		return 0, err
	}
	return o.ID(), nil
}

func (a clientAdapter) ChangesAfter(ctx context.Context, after int) ([]LogEntry, error) {
	got, err := a.c.List(ctx, "core/object-changes", url.Values{"id__gt": {strconv.Itoa(after)}, "ordering": {"id"}, "fields": {changeFields}})
	return logEntries(got), err
}

func (a clientAdapter) ChangesByID(ctx context.Context, ids []int) ([]LogEntry, error) {
	got, err := a.c.GetByIDs(ctx, "core/object-changes", ids, strings.Split(changeFields, ",")...)
	return logEntries(got), err
}

func (a clientAdapter) ReadByIDs(ctx context.Context, endpoint string, ids []int, fields string) ([]Object, error) {
	if fields == "" { // every field, as the full read asks for
		return a.c.GetByIDs(ctx, endpoint, ids)
	}
	return a.c.GetByIDs(ctx, endpoint, ids, strings.Split(fields, ",")...)
}

func logEntries(objs []Object) []LogEntry {
	out := make([]LogEntry, 0, len(objs))
	for _, o := range objs {
		out = append(out, LogEntry{ID: o.ID(), Type: o.String("changed_object_type"), ObjectID: netbox.ToInt(o["changed_object_id"]),
			Action: o.String("action")})
	}
	return out
}
