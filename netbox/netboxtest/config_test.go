package netboxtest

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfig(t *testing.T) {
	var c Config
	src := "profile: \"4.7\"\nlatency_per_request: 2ms\nlatency_per_object: 100us\nworkers: 4\ntokens: [\"nbt_lab.0123456789abcdef\"]\n"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if errs := c.Validate(); len(errs) != 0 {
		t.Fatalf("valid config: %v", errs)
	}
	if c.LatencyPerRequest != 2*time.Millisecond || c.LatencyPerObject != 100*time.Microsecond {
		t.Errorf("latencies = %v %v", c.LatencyPerRequest, c.LatencyPerObject)
	}
	opts, err := c.Options()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Profile() != Profile47 || srv.AuthHeader() != "Bearer nbt_lab.0123456789abcdef" || cap(srv.sem) != 4 {
		t.Errorf("server from config: profile %v, auth %q, workers %d", srv.Profile(), srv.AuthHeader(), cap(srv.sem))
	}

	bad := Config{Profile: "5.0", Tokens: []string{"short"}, Workers: -1, FaultRate: 2, Faults: []string{"explode"}, LatencyPerObject: -time.Second}
	want := []string{"profile: \"5.0\"", "tokens[0]: ", "latency_per_object: -1s", "workers: -1", "fault_rate: 2", "faults[0]: \"explode\""}
	errs := bad.Validate()
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, e, want[i])
		}
		if strings.Contains(e.Error(), "short") {
			t.Errorf("error %d shows the token: %q", i, e)
		}
	}
}
