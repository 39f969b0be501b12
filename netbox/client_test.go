package netbox

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

const (
	v1Token = "0123456789abcdef0123456789abcdef01234567"
	v2Token = "nbt_abcdefgh1234.0123456789abcdefSECRET0123456789"
)

// profiles are the NetBox versions the tests run against, with the token and header each uses.
var profiles = []struct {
	name, version, token, header string
}{
	{"4.3", "4.3.7", v1Token, "Token " + v1Token},
	{"4.7", "4.7.1", v2Token, "Bearer " + v2Token},
}

func testClient(t *testing.T, rawURL, token string, mut func(*Config), opts ...Option) *Client {
	t.Helper()
	cfg := Config{URL: rawURL, Token: secret.New(token), Timeout: 2 * time.Second, RequestsPerSecond: -1}
	if mut != nil {
		mut(&cfg)
	}
	opts = append([]Option{WithBackoff(time.Millisecond, 20*time.Millisecond)}, opts...)
	c, err := New(cfg, nil, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings, one per expected error, in order
	}{
		{"ok", Config{URL: "https://nb.example", Token: secret.New("x1234")}, nil},
		{"missing", Config{}, []string{"url: is required", "token: is required"}},
		{"ftp", Config{URL: "ftp://x", Token: secret.New("x1234")}, []string{`url: "ftp://x" is not an http(s) URL`}},
		{"userinfo", Config{URL: "https://u:pw@nb", Token: secret.New("x1234")}, []string{"url: \"https://nb\" must not carry credentials"}},
		{"ranges", Config{URL: "https://nb", Token: secret.New("x1234"), BatchSize: 5000, MaxInFlight: -1, Retries: 99, Timeout: -1},
			[]string{"timeout: -1ns is negative", "max_in_flight: -1", "batch_size: 5000", "retries: 99"}},
		{"ca", Config{URL: "https://nb", Token: secret.New("x1234"), Settings: tlsconfig.Settings{CAFile: filepath.Join(dir, "nope.pem")}},
			[]string{`ca_file: "` + filepath.Join(dir, "nope.pem") + `": no such file or directory`}},
		{"ca not PEM", Config{URL: "https://nb", Token: secret.New("x1234"), Settings: tlsconfig.Settings{CAFile: notPEM}},
			[]string{`ca_file: "` + notPEM + `": no PEM certificates found`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.SetDefaults()
			errs := tt.cfg.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v, want %d", len(errs), errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(errs[i].Error(), w) && !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], w)
				}
				if strings.Contains(errs[i].Error(), "pw") {
					t.Errorf("error %d leaks the URL password: %q", i, errs[i])
				}
			}
		})
	}
}

func TestCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"netbox-version": "4.3.7"})
	}))
	defer srv.Close()
	// Verification is on by default: the test server's self-signed certificate is refused.
	c := testClient(t, srv.URL, v1Token, func(c *Config) { c.Retries = -1 })
	if _, err := c.Status(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Status with unknown CA: err = %v, want a certificate error", err)
	}
	pemPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pemPath, certPEM(srv), 0o600); err != nil {
		t.Fatal(err)
	}
	c = testClient(t, srv.URL, v1Token, func(c *Config) { c.CAFile = pemPath })
	if st, err := c.Status(context.Background()); err != nil || st.Version != "4.3.7" {
		t.Fatalf("Status with ca_file: %v %v", st, err)
	}
	var logs bytes.Buffer
	c, err := New(Config{URL: srv.URL, Token: secret.New(v1Token), Settings: tlsconfig.Settings{InsecureSkipVerify: true}}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatalf("Status with insecure_skip_verify: %v", err)
	}
	if n := strings.Count(logs.String(), "netbox: TLS certificate verification is OFF"); n != 1 {
		t.Errorf("want one warning naming netbox, got %d:\n%s", n, logs.String())
	}
}

func TestObjectAccessors(t *testing.T) {
	o := Object{
		"id": float64(12), "name": "pve1", "status": map[string]any{"value": "active", "label": "Active"},
		"site": map[string]any{"id": float64(3), "name": "home"}, "cluster": 7, "vcpus": 2.5,
		"custom_fields": map[string]any{"agent_id": "pve:1", "sel": map[string]any{"value": "a", "label": "A"}},
		"tags":          []any{map[string]any{"id": float64(1), "slug": "netbox-agent"}},
	}
	checks := []struct {
		got, want any
	}{
		{o.ID(), 12}, {o.String("name"), "pve1"}, {o.String("status"), "active"}, {o.String("id"), "12"},
		{o.String("vcpus"), "2.5"}, {o.String("missing"), ""}, {o.RefID("site"), 3}, {o.RefID("cluster"), 7},
		{o.RefID("missing"), 0}, {o.CustomField("agent_id"), "pve:1"}, {o.CustomField("sel"), "a"},
		{strings.Join(o.TagSlugs(), ","), "netbox-agent"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %v, want %v", i, c.got, c.want)
		}
	}
}

func TestBatchErrorShapes(t *testing.T) {
	tests := []struct {
		name, body string
		n          int
		ok         bool
		bad        map[int]string
	}{
		{"4.3 list", `[{}, {"name": ["This field may not be blank."]}, {}]`, 3, true, map[int]string{1: "name: This field may not be blank."}},
		{"4.7 indexed", `{"detail": "Bulk operation failed", "errors": [{"index": 2, "errors": {"status": ["\"bogus\" is not a valid choice."]}}]}`, 3, true, map[int]string{2: `status: "bogus" is not a valid choice.`}},
		{"single dict", `{"__all__": ["Device name must be unique per site."]}`, 3, false, nil},
		{"wrong length", `[{}, {"name": ["x"]}]`, 3, false, nil},
		{"not json", `<html>Bad Request</html>`, 3, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, per, ok := batchErrors([]byte(tt.body), tt.n)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			for idx, want := range tt.bad {
				e := &APIError{StatusCode: 400, Method: "POST", Path: "/api/dcim/devices/", Fields: per[idx], Index: idx}
				if !strings.Contains(e.Error(), want) {
					t.Errorf("index %d: %q does not contain %q", idx, e.Error(), want)
				}
			}
			if len(per) != len(tt.bad) {
				t.Errorf("got %d bad objects, want %d", len(per), len(tt.bad))
			}
		})
	}
}

func TestBadTokenIsClearAndSecret(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(t, p.version, "Token someone-else-token")
			c := testClient(t, f.srv.URL, p.token, nil)
			_, err := c.Status(context.Background())
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "refused the token") || !strings.Contains(msg, "Invalid token") {
				t.Errorf("message %q does not say the token was refused", msg)
			}
			if strings.Contains(msg, p.token) || strings.Contains(msg, "SECRET") {
				t.Errorf("message leaks the token: %q", msg)
			}
		})
	}
}

func TestV2TokenOnOldNetBox(t *testing.T) {
	f := newFake(t, "4.3.7", "Bearer "+v2Token)
	c := testClient(t, f.srv.URL, v2Token, nil)
	_, err := c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "v2 token") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v, want a clear v2-token error without the token", err)
	}
}

func TestFakeClientCalls(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t, p.version, p.header)
			var obsMu sync.Mutex
			observed := map[string]int{}
			c := testClient(t, f.srv.URL, p.token, func(c *Config) { c.BatchSize = 100 },
				WithObserver(func(method, path string, status int, d time.Duration) {
					obsMu.Lock()
					observed[fmt.Sprintf("%s %d", method, status)]++
					obsMu.Unlock()
				}))
			st, err := c.Status(ctx)
			if err != nil || st.Version != p.version || st.Major != 4 {
				t.Fatalf("Status = %+v, %v", st, err)
			}
			f.seed(Devices, 2500, func(i int) Object { return Object{"name": fmt.Sprintf("dev%04d", i)} })
			before := f.count("GET /api/dcim/devices/")
			devs, err := c.List(ctx, Devices, nil)
			if err != nil || len(devs) != 2500 {
				t.Fatalf("List: %d objects, %v", len(devs), err)
			}
			if n := f.count("GET /api/dcim/devices/") - before; n != 3 {
				t.Errorf("List of 2500 took %d requests, want 3", n)
			}
			ids := []int{devs[10].ID(), devs[2000].ID(), 999999}
			got, err := c.GetByIDs(ctx, Devices, ids, "name")
			if err != nil || len(got) != 2 || got[0].ID() != ids[0] || got[1].ID() != ids[1] {
				t.Fatalf("GetByIDs = %v, %v", got, err)
			}
			snap, err := c.Snapshot(ctx, []ReadSpec{
				{Key: "devices", Endpoint: Devices},
				{Key: "one", Endpoint: Devices, Query: url.Values{"name": {"dev0007"}}},
				{Key: "tags", Endpoint: Tags},
			})
			if err != nil || len(snap["devices"]) != 2500 || len(snap["one"]) != 1 || snap["tags"] != nil && len(snap["tags"]) != 0 {
				t.Fatalf("Snapshot: %d %d, %v", len(snap["devices"]), len(snap["one"]), err)
			}
			if _, ok := snap["tags"]; !ok {
				t.Errorf("Snapshot lacks the empty tags read")
			}
			obsMu.Lock()
			if observed["GET 200"] == 0 {
				t.Errorf("observer saw nothing: %v", observed)
			}
			obsMu.Unlock()
		})
	}
}

func TestFakeBulkWrites(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t, p.version, p.header)
			c := testClient(t, f.srv.URL, p.token, func(c *Config) { c.BatchSize = 4 })

			// A batch with one invalid object: it is reported with NetBox's message, the first
			// request writes nothing, and the valid rest is written by a second request.
			objs := []Object{{"name": "a"}, {"name": "b"}, {"name": ""}, {"name": "c"}, {"name": "d"}}
			res := c.Create(ctx, Devices, objs)
			if len(res) != 5 {
				t.Fatalf("%d results", len(res))
			}
			var ae *APIError
			if !errors.As(res[2].Err, &ae) || ae.Index != 2 || !strings.Contains(ae.Error(), "name: This field may not be blank.") {
				t.Fatalf("result 2 = %v, want NetBox's blank-name message for object 2", res[2].Err)
			}
			for _, i := range []int{0, 1, 3, 4} {
				if res[i].Err != nil || res[i].Object.ID() == 0 || res[i].Object.String("name") != objs[i].String("name") {
					t.Errorf("result %d = %+v", i, res[i])
				}
			}
			if n := len(f.all(Devices)); n != 4 {
				t.Errorf("%d devices stored, want 4", n)
			}
			if n := f.count("POST"); n != 3 { // batch [a b "" c] rejected, [a b c] resent, [d]
				t.Errorf("%d POSTs, want 3", n)
			}

			// An object that cannot be encoded fails alone.
			res = c.Create(ctx, Devices, []Object{{"name": "nan", "weight": math.NaN()}, {"name": "fine"}})
			if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "object 0: cannot encode") || res[1].Err != nil {
				t.Fatalf("unencodable object: %v / %v", res[0].Err, res[1].Err)
			}
			if n := len(f.all(Devices)); n != 5 {
				t.Errorf("%d devices stored, want 5", n)
			}

			// Without the remainder retry the valid objects get ErrBatchRejected.
			c2 := testClient(t, f.srv.URL, p.token, func(c *Config) { c.BatchSize = 4; c.DisableRemainderRetry = true })
			res = c2.Create(ctx, Devices, []Object{{"name": "e"}, {"name": "a"}})
			if !errors.Is(res[0].Err, ErrBatchRejected) || !strings.Contains(res[1].Err.Error(), "must be unique") {
				t.Fatalf("results = %v / %v", res[0].Err, res[1].Err)
			}

			// Update: one bad object among valid ones, one unknown id.
			all := f.all(Devices)
			upd := []Object{
				{"id": all[0].ID(), "serial": "S1"}, {"id": all[1].ID(), "name": "INVALID"},
				{"id": all[2].ID(), "serial": "S3"}, {"id": 424242, "serial": "x"},
			}
			res = c.Update(ctx, Devices, upd)
			if res[0].Err != nil || res[0].Object.String("serial") != "S1" || res[2].Err != nil {
				t.Errorf("valid updates: %v / %v", res[0].Err, res[2].Err)
			}
			if !errors.As(res[1].Err, &ae) || ae.Index != 1 || !strings.Contains(ae.Error(), "blank") {
				t.Errorf("invalid update: %v", res[1].Err)
			}
			if !errors.Is(res[3].Err, ErrNotFound) {
				t.Errorf("unknown id: %v", res[3].Err)
			}

			// Delete: one object has dependents (409); the others go.
			f.seed(Devices, 1, func(int) Object { return Object{"name": "keep", "protected": true} })
			all = f.all(Devices)
			var ids []int
			for _, o := range all {
				ids = append(ids, o.ID())
			}
			res = c.Delete(ctx, Devices, ids)
			for i, r := range res {
				protected := all[i]["protected"] == true
				if protected != (r.Err != nil) {
					t.Errorf("delete %d (protected=%v): %v", i, protected, r.Err)
				}
				if protected && !strings.Contains(r.Err.Error(), "dependent objects") {
					t.Errorf("delete error lacks NetBox's text: %v", r.Err)
				}
			}
			if left := f.all(Devices); len(left) != 1 {
				t.Errorf("%d devices left, want 1", len(left))
			}
		})
	}
}

// certPEM gives the test server's certificate as PEM, the way a user's CA file holds it.
func certPEM(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}
