package netbox

import (
	"net/http"
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
