package netbox_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/netbox"
	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

// The simulator's cost model for the benchmarks: 2 ms per request plus 0.1 ms per object,
// 4 requests served at once (like a small NetBox's workers).
const (
	benchPerRequest = 2 * time.Millisecond
	benchPerObject  = 100 * time.Microsecond
	benchWorkers    = 4
)

// lowerBound is the simulator's own floor for moving n objects: n x per-object cost / workers.
func lowerBound(n int) time.Duration { return time.Duration(n) * benchPerObject / benchWorkers }

func benchSim(b *testing.B, p netboxtest.Profile, batch, inFlight int) (*netboxtest.Server, *netbox.Client) {
	b.Helper()
	srv, err := netboxtest.Start(netboxtest.WithProfile(p), netboxtest.WithLatency(benchPerRequest, benchPerObject), netboxtest.WithWorkers(benchWorkers))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	c, err := netbox.New(netbox.Config{URL: srv.URL, Token: secret.New(srv.Token()), BatchSize: batch, MaxInFlight: inFlight, RequestsPerSecond: -1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Status(context.Background()); err != nil {
		b.Fatal(err)
	}
	return srv, c
}

func benchBase(b *testing.B, srv *netboxtest.Server) map[string]int {
	ids := map[string]int{}
	ids["site"] = srv.MustSeed("/api/dcim/sites/", map[string]any{"name": "Home", "slug": "home"})[0]
	ids["manufacturer"] = srv.MustSeed("/api/dcim/manufacturers/", map[string]any{"name": "Dell", "slug": "dell"})[0]
	ids["device_type"] = srv.MustSeed("/api/dcim/device-types/", map[string]any{"manufacturer": ids["manufacturer"], "model": "R730", "slug": "r730"})[0]
	ids["role"] = srv.MustSeed("/api/dcim/device-roles/", map[string]any{"name": "Server", "slug": "server"})[0]
	return ids
}

func report(b *testing.B, srv *netboxtest.Server, start time.Time, objects int) {
	wall := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(len(srv.Requests()))/float64(b.N), "requests/op")
	b.ReportMetric(float64(wall.Microseconds())/1000, "wall-ms/op")
	b.ReportMetric(float64(lowerBound(objects).Microseconds())/1000, "bound-ms")
	b.ReportMetric(float64(wall)/float64(lowerBound(objects)), "x-bound")
}

// BenchmarkSnapshot reads a 20,000-object snapshot: 4,000 devices, 12,000 interfaces and
// 4,000 IP addresses, the shape of what sync reads.
func BenchmarkSnapshot(b *testing.B) {
	for _, p := range []netboxtest.Profile{netboxtest.Profile43, netboxtest.Profile47} {
		b.Run(p.String(), func(b *testing.B) {
			srv, c := benchSim(b, p, netbox.DefaultBatchSize, netbox.DefaultMaxInFlight)
			ids := benchBase(b, srv)
			devs := make([]map[string]any, 4000)
			for i := range devs {
				devs[i] = map[string]any{"name": fmt.Sprintf("d%05d", i), "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]}
			}
			devIDs := srv.MustSeed("/api/dcim/devices/", devs...)
			ifaces := make([]map[string]any, 0, 12000)
			for _, id := range devIDs {
				for j := range 3 {
					ifaces = append(ifaces, map[string]any{"device": id, "name": fmt.Sprintf("eth%d", j), "type": "1000base-t"})
				}
			}
			srv.MustSeed("/api/dcim/interfaces/", ifaces...)
			ips := make([]map[string]any, 4000)
			for i := range ips {
				ips[i] = map[string]any{"address": fmt.Sprintf("10.0.%d.%d/16", i/250, i%250+1)}
			}
			srv.MustSeed("/api/ipam/ip-addresses/", ips...)
			full := []netbox.ReadSpec{
				{Key: "devices", Endpoint: netbox.Devices},
				{Key: "interfaces", Endpoint: netbox.Interfaces},
				{Key: "ips", Endpoint: netbox.IPAddresses},
			}
			// What sync needs of each object, via fields=: less to render, send and decode.
			lean := []netbox.ReadSpec{
				{Key: "devices", Endpoint: netbox.Devices, Query: url.Values{"fields": {"id,name,serial,site,custom_fields,tags,last_updated"}}},
				{Key: "interfaces", Endpoint: netbox.Interfaces, Query: url.Values{"fields": {"id,device,name,mac_address,last_updated"}}},
				{Key: "ips", Endpoint: netbox.IPAddresses, Query: url.Values{"fields": {"id,address,assigned_object_id,last_updated"}}},
			}
			for _, variant := range []struct {
				name  string
				specs []netbox.ReadSpec
			}{{"full", full}, {"fields", lean}} {
				b.Run(variant.name, func(b *testing.B) {
					srv.ResetLog()
					b.ResetTimer()
					start := time.Now()
					for range b.N {
						snap, err := c.Snapshot(context.Background(), variant.specs)
						if err != nil || len(snap["devices"])+len(snap["interfaces"])+len(snap["ips"]) != 20000 {
							b.Fatalf("snapshot: %d %d %d, %v", len(snap["devices"]), len(snap["interfaces"]), len(snap["ips"]), err)
						}
					}
					b.StopTimer()
					report(b, srv, start, 20000)
				})
			}
		})
	}
}

// BenchmarkBulkCreate creates 10,000 devices, for batch sizes and in-flight bounds around
// the defaults.
func BenchmarkBulkCreate(b *testing.B) {
	type shape struct{ batch, inFlight int }
	shapes := []shape{{50, 4}, {100, 4}, {200, 4}, {500, 4}, {1000, 4}, {200, 2}, {200, 8}}
	for _, p := range []netboxtest.Profile{netboxtest.Profile43, netboxtest.Profile47} {
		for _, sh := range shapes {
			b.Run(fmt.Sprintf("%s/batch=%d/inflight=%d", p, sh.batch, sh.inFlight), func(b *testing.B) {
				srv, c := benchSim(b, p, sh.batch, sh.inFlight)
				ids := benchBase(b, srv)
				srv.ResetLog()
				b.ResetTimer()
				start := time.Now()
				for n := range b.N {
					objs := make([]netbox.Object, 10000)
					for i := range objs {
						objs[i] = netbox.Object{"name": fmt.Sprintf("r%d-d%05d", n, i), "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]}
					}
					for _, r := range c.Create(context.Background(), netbox.Devices, objs) {
						if r.Err != nil {
							b.Fatal(r.Err)
						}
					}
				}
				b.StopTimer()
				report(b, srv, start, 10000)
			})
		}
	}
}
