package netbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// dropConn closes the connection without an answer.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func TestFakeFaults(t *testing.T) {
	type check func(t *testing.T, f *fakeNetBox, c *Client)
	status := func(code int, hdr map[string]string, body string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
			return true
		}
	}
	listOK := func(t *testing.T, f *fakeNetBox, c *Client) {
		t.Helper()
		objs, err := c.List(context.Background(), Devices, nil)
		if err != nil || len(objs) != 3 {
			t.Fatalf("List after fault: %d objects, %v", len(objs), err)
		}
	}
	tests := []struct {
		name   string
		faults func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool
		check  check
	}{
		{"429 honours Retry-After", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{status(429, map[string]string{"Retry-After": "0.3"}, `{"detail":"slow down"}`)}
		}, func(t *testing.T, f *fakeNetBox, c *Client) {
			start := time.Now()
			listOK(t, f, c)
			if d := time.Since(start); d < 300*time.Millisecond {
				t.Errorf("retried after %s, before Retry-After", d)
			}
		}},
		{"502 and 503 recovered", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{status(502, nil, "bad gateway"), status(503, nil, "unavailable")}
		}, listOK},
		{"dropped connection recovered", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{func(w http.ResponseWriter, r *http.Request) bool { dropConn(w); return true }}
		}, listOK},
		{"500 reported with NetBox's text", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{status(500, nil, `{"error": "division by zero", "exception": "ZeroDivisionError", "netbox_version": "4.3.7"}`)}
		}, func(t *testing.T, f *fakeNetBox, c *Client) {
			_, err := c.List(context.Background(), Devices, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != 500 || !strings.Contains(err.Error(), "division by zero") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"503 forever gives up clearly", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			var fs []func(http.ResponseWriter, *http.Request) bool
			for range 10 {
				fs = append(fs, status(503, nil, "maintenance"))
			}
			return fs
		}, func(t *testing.T, f *fakeNetBox, c *Client) {
			_, err := c.List(context.Background(), Devices, nil)
			if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "after 3 attempts") {
				t.Fatalf("err = %v", err)
			}
		}},
		{"slow answer within timeout", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{func(w http.ResponseWriter, r *http.Request) bool {
				time.Sleep(100 * time.Millisecond)
				return false
			}}
		}, listOK},
		{"answer slower than timeout is retried", func(f *fakeNetBox) []func(http.ResponseWriter, *http.Request) bool {
			return []func(http.ResponseWriter, *http.Request) bool{func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
				return true
			}}
		}, listOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, "4.3.7", "Token "+v1Token)
			c := testClient(t, f.srv.URL, v1Token, func(c *Config) { c.Retries = 2; c.Timeout = 400 * time.Millisecond })
			if _, err := c.Status(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.seed(Devices, 3, func(i int) Object { return Object{"name": fmt.Sprintf("d%d", i)} })
			f.faults = tt.faults(f)
			tt.check(t, f, c)
		})
	}
}

func TestTimeoutReportedClearly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := testClient(t, srv.URL, v1Token, func(c *Config) { c.Retries = 1; c.Timeout = 100 * time.Millisecond })
	_, err := c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "timeout") || !strings.Contains(err.Error(), "2 attempts") {
		t.Fatalf("err = %v, want a timeout after 2 attempts", err)
	}
}

// A bulk POST whose answer is lost (the server wrote, then the connection dropped; or a
// gateway answered 502 after NetBox wrote) is not blindly resent: the client looks the objects
// up and creates only the missing ones.
func TestCreateLostAnswerNoDuplicates(t *testing.T) {
	afterWrite := func(f *fakeNetBox, drop bool) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodPost {
				return false
			}
			f.handle(httptest.NewRecorder(), r) // NetBox commits the batch...
			if drop {
				dropConn(w) // ...and the answer is lost
			} else {
				w.WriteHeader(http.StatusBadGateway)
			}
			return true
		}
	}
	beforeWrite := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		dropConn(w)
		return true
	}
	tests := []struct {
		name   string
		fault  func(f *fakeNetBox) func(w http.ResponseWriter, r *http.Request) bool
		lookup func(Object) url.Values
		posts  int
	}{
		{"dropped after write, default slug key", func(f *fakeNetBox) func(http.ResponseWriter, *http.Request) bool { return afterWrite(f, true) }, nil, 1},
		{"502 after write, default slug key", func(f *fakeNetBox) func(http.ResponseWriter, *http.Request) bool { return afterWrite(f, false) }, nil, 1},
		{"dropped before write", func(f *fakeNetBox) func(http.ResponseWriter, *http.Request) bool { return beforeWrite }, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, "4.3.7", "Token "+v1Token)
			c := testClient(t, f.srv.URL, v1Token, nil)
			if _, err := c.Status(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.faults = append(f.faults, tt.fault(f))
			var objs []Object
			for i := range 5 {
				objs = append(objs, Object{"name": fmt.Sprintf("s%d", i), "slug": fmt.Sprintf("s%d", i),
					"custom_fields": map[string]any{"agent_id": fmt.Sprintf("id-%d", i)}})
			}
			res := c.CreateWith(context.Background(), Sites, objs, CreateOptions{LookupKey: tt.lookup})
			for i, r := range res {
				if r.Err != nil || r.Object.String("slug") != objs[i].String("slug") || r.Object.ID() == 0 {
					t.Errorf("result %d = %+v", i, r)
				}
			}
			if n := len(f.all(Sites)); n != 5 {
				t.Errorf("%d sites stored, want 5 (no duplicates)", n)
			}
			if n := f.count("POST"); n != tt.posts {
				t.Errorf("%d POSTs, want %d", n, tt.posts)
			}
		})
	}
	t.Run("retries off: reported, not resent", func(t *testing.T) {
		f := newFake(t, "4.3.7", "Token "+v1Token)
		c := testClient(t, f.srv.URL, v1Token, func(c *Config) { c.Retries = -1 })
		f.faults = append(f.faults, afterWrite(f, true))
		res := c.Create(context.Background(), Sites, []Object{{"name": "a", "slug": "a"}})
		if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "gave up") || f.count("POST") != 1 {
			t.Fatalf("err = %v, POSTs = %d", res[0].Err, f.count("POST"))
		}
	})
	t.Run("no lookup key: not resent, outcome unknown", func(t *testing.T) {
		f := newFake(t, "4.3.7", "Token "+v1Token)
		c := testClient(t, f.srv.URL, v1Token, nil)
		f.faults = append(f.faults, afterWrite(f, true))
		res := c.Create(context.Background(), "dcim/cables", []Object{{"label": "c1"}})
		if !errors.Is(res[0].Err, ErrOutcomeUnknown) || f.count("POST") != 1 {
			t.Fatalf("err = %v, POSTs = %d", res[0].Err, f.count("POST"))
		}
	})
}

func TestRateLimitSpacesRequests(t *testing.T) {
	f := newFake(t, "4.3.7", "Token "+v1Token)
	c := testClient(t, f.srv.URL, v1Token, func(c *Config) { c.RequestsPerSecond = 20; c.MaxInFlight = 2 })
	start := time.Now()
	for range 6 {
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 2 (MaxInFlight), then 4 requests 50 ms apart.
	if d := time.Since(start); d < 180*time.Millisecond {
		t.Errorf("6 requests at 20/s took %s, want at least 200ms", d)
	}
}

func TestCancelledBulkReportsEveryObject(t *testing.T) {
	f := newFake(t, "4.3.7", "Token "+v1Token)
	c := testClient(t, f.srv.URL, v1Token, func(c *Config) { c.BatchSize = 1; c.MaxInFlight = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	f.faults = append(f.faults, func(w http.ResponseWriter, r *http.Request) bool {
		cancel() // the caller gives up while the first batch is in flight
		return false
	})
	res := c.Create(ctx, Sites, []Object{{"name": "a", "slug": "a"}, {"name": "b", "slug": "b"}, {"name": "c", "slug": "c"}})
	for i, r := range res[1:] {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("object %d: %v, want context.Canceled", i+1, r.Err)
		}
	}
}
