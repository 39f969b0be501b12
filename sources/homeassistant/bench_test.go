package homeassistant_test

import (
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
)

// BenchmarkDiscoverLargeHome reads a 7,500-device home (device registry > 5 MiB in one
// websocket message) with 5 ms latency per answer, and reports wall time, requests and the
// size of the largest message.
func BenchmarkDiscoverLargeHome(b *testing.B) {
	srv := homeassistanttest.NewTestServer(b,
		homeassistanttest.WithToken(testToken),
		homeassistanttest.WithDataset(homeassistanttest.Generate(7500, 40)),
		homeassistanttest.WithLatency(5*time.Millisecond))
	cfg := baseConfig(srv.URL)
	cfg.Timeout = time.Minute
	src, err := homeassistant.New(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	before := srv.TotalRequests()
	b.ReportAllocs()
	var observations int
	b.ResetTimer()
	for b.Loop() {
		res, err := src.Discover(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		observations = len(res.Observations)
	}
	b.StopTimer()
	b.ReportMetric(float64(observations), "observations")
	b.ReportMetric(float64(srv.TotalRequests()-before)/float64(b.N), "requests/op")
	b.ReportMetric(float64(srv.BytesSent("config/device_registry/list"))/(1<<20), "MiB-device-registry")
}
