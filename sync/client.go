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
		AnswerFields: []string{"id"}})
}

func (a clientAdapter) Update(ctx context.Context, endpoint string, objs []Object) []WriteResult {
	return a.c.UpdateWith(ctx, endpoint, objs, netbox.UpdateOptions{AnswerFields: []string{"id"}})
}

func (a clientAdapter) Delete(ctx context.Context, endpoint string, ids []int) []WriteResult {
	return a.c.Delete(ctx, endpoint, ids)
}
