package netbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// Example shows the calls sync makes, in order, against the simulator.
func Example() {
	srv := netboxtest.NewServer(netboxtest.WithProfile(netboxtest.Profile47))
	defer srv.Close()
	ctx := context.Background()

	var requests atomic.Int64 // the observer is called from concurrent requests
	c, err := netbox.New(netbox.Config{URL: srv.URL, Token: secret.New(srv.Token())}, slog.New(slog.DiscardHandler),
		netbox.WithObserver(func(method, path string, status int, d time.Duration) { requests.Add(1) }))
	if err != nil {
		panic(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("NetBox", st.Version)

	if _, err := c.EnsureTags(ctx, []netbox.TagSpec{{Name: "netbox-agent", Slug: "netbox-agent"}}); err != nil {
		panic(err)
	}
	if err := c.EnsureCustomFields(ctx, []netbox.CustomFieldSpec{{Name: "netbox_agent_id", Type: "text",
		ObjectTypes: []string{"dcim.device"}, FilterLogic: "exact"}}); err != nil {
		panic(err)
	}
	sites := c.Create(ctx, netbox.Sites, []netbox.Object{{"name": "Home", "slug": "home"}, {"name": "", "slug": "nameless"}})
	fmt.Println("site 0:", sites[0].Object.String("slug"), sites[0].Err)
	fmt.Println("site 1:", sites[1].Err != nil)

	snap, err := c.Snapshot(ctx, []netbox.ReadSpec{
		{Key: "sites", Endpoint: netbox.Sites, Query: url.Values{"fields": {"id,name,slug"}}},
		{Key: "owned", Endpoint: netbox.Devices, Query: url.Values{"tag": {"netbox-agent"}}},
	})
	fmt.Println("snapshot:", len(snap["sites"]), "sites,", len(snap["owned"]), "owned devices,", err)
	fmt.Println("requests:", requests.Load())
	// Output:
	// NetBox 4.7.1
	// site 0: home <nil>
	// site 1: true
	// snapshot: 1 sites, 0 owned devices, <nil>
	// requests: 9
}
