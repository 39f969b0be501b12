package netbox

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in           string
		major, minor int
	}{
		{"4.3.7", 4, 3}, {"v4.7.1", 4, 7}, {"4.5.0-Docker-3.3.0", 4, 5}, {"4.10", 4, 10}, {"garbage", 0, 0},
	}
	for _, tt := range tests {
		if ma, mi := parseVersion(tt.in); ma != tt.major || mi != tt.minor {
			t.Errorf("parseVersion(%q) = %d.%d, want %d.%d", tt.in, ma, mi, tt.major, tt.minor)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0.5", 500 * time.Millisecond}, {"9999", time.Minute}, {"soon", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		if got := retryAfter(h, time.Minute); got != tt.want {
			t.Errorf("Retry-After %q: %s, want %s", tt.header, got, tt.want)
		}
	}
	h := http.Header{"Retry-After": {time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)}}
	if got := retryAfter(h, time.Minute); got < 8*time.Second || got > 10*time.Second {
		t.Errorf("Retry-After as a date: %s", got)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	c := &Client{opts: options{backoffBase: 100 * time.Millisecond, backoffMax: time.Second}}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := c.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestLookupGroupingAndExactMatch(t *testing.T) {
	keys := []url.Values{
		{"cf_agent_id": {"a:1"}}, {"cf_agent_id": {"a:2"}}, nil,
		{"name": {"x"}, "site_id": {"1"}}, {"name": {"y"}, "site_id": {"1"}}, {"name": {"z"}, "site_id": {"2"}},
		{"address": {"192.0.2.1/24"}, "interface_id": {"4"}},
	}
	tasks := lookupTasks(keys)
	var grouped, singles int
	for _, tk := range tasks {
		if tk.valueKey == "" {
			singles++
		} else {
			grouped += len(tk.members)
		}
	}
	// cf group {0,1}, site 1 group {3,4}, site 2 group {5}; the address key cannot be read back.
	if len(tasks) != 4 || singles != 1 || grouped != 5 {
		t.Fatalf("tasks = %+v", tasks)
	}
	// NetBox's default "loose" custom-field filter matches substrings: only the exact one counts.
	objs := []Object{
		{"id": 1.0, "custom_fields": map[string]any{"agent_id": "a:1"}},
		{"id": 2.0, "custom_fields": map[string]any{"agent_id": "a:10"}},
	}
	if got := exactMatches(objs, url.Values{"cf_agent_id": {"a:1"}}); len(got) != 1 || got[0].ID() != 1 {
		t.Errorf("exactMatches = %v", got)
	}
}

func TestChunkKeepsGroupsTogether(t *testing.T) {
	keys := []string{"", "vm1", "vm2", "vm1", "", "vm1", "vm3", "vm2"}
	idxs := []int{0, 1, 2, 3, 4, 5, 6, 7}
	cases := []struct {
		size int
		want string
	}{
		{1, "[[0] [1 3 5] [2 7] [4] [6]]"},
		{3, "[[0] [1 3 5] [2 7 4] [6]]"},
		{8, "[[0 1 3 5 2 7 4 6]]"},
	}
	for _, c := range cases {
		got := fmt.Sprint(chunk(idxs, c.size, func(i int) string { return keys[i] }))
		if got != c.want {
			t.Errorf("size %d: %s, want %s", c.size, got, c.want)
		}
	}
	if got := fmt.Sprint(chunk(idxs, 3, func(int) string { return "" })); got != "[[0 1 2] [3 4 5] [6 7]]" {
		t.Errorf("no keys: %s, want plain batches of 3", got)
	}
}
