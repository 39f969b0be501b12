package sync

import (
	"context"

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
	specs := make([]netbox.ReadSpec, len(reads))
	for i, r := range reads {
		specs[i] = netbox.ReadSpec{Key: r.Key, Endpoint: r.Endpoint, Query: r.Query}
		if tf := r.Transform; tf != nil {
			specs[i].Transform = func(o netbox.Object) netbox.Object { return netbox.Object(tf(Object(o))) }
		}
	}
	got, err := a.c.Snapshot(ctx, specs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Object, len(got))
	for k, list := range got {
		objs := make([]Object, len(list))
		for i, o := range list {
			objs[i] = Object(o)
		}
		out[k] = objs
	}
	return out, nil
}

func toNB(objs []Object) []netbox.Object {
	out := make([]netbox.Object, len(objs))
	for i, o := range objs {
		out[i] = netbox.Object(o)
	}
	return out
}

func fromNB(res []netbox.Result) []WriteResult {
	out := make([]WriteResult, len(res))
	for i, r := range res {
		out[i] = WriteResult{Index: r.Index, Object: Object(r.Object), Err: r.Err}
	}
	return out
}

// Create retries a bulk create that got no answer only after looking its objects up by their
// natural key (netbox.DefaultLookupKey): a dropped connection never makes a duplicate. Objects
// without one (IPs, MACs, services) are reported as of unknown outcome; the next plan finds
// them on their interface or parent.
// Apply needs only the ids of what it wrote: the answers are decoded for "id" alone (NetBox
// answers a bulk write with every object in full).
func (a clientAdapter) Create(ctx context.Context, endpoint string, objs []Object) []WriteResult {
	return fromNB(a.c.CreateWith(ctx, endpoint, toNB(objs), netbox.CreateOptions{LookupKey: netbox.DefaultLookupKey(endpoint),
		AnswerFields: []string{"id"}}))
}

func (a clientAdapter) Update(ctx context.Context, endpoint string, objs []Object) []WriteResult {
	return fromNB(a.c.UpdateWith(ctx, endpoint, toNB(objs), netbox.UpdateOptions{AnswerFields: []string{"id"}}))
}

func (a clientAdapter) Delete(ctx context.Context, endpoint string, ids []int) []WriteResult {
	return fromNB(a.c.Delete(ctx, endpoint, ids))
}
