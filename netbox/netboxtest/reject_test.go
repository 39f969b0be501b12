package netboxtest

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

var profiles = []Profile{Profile43, Profile47}

// TestRejectsWhatNetBoxRejects sends requests the real NetBox refuses and checks code and body.
func TestRejectsWhatNetBoxRejects(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			ids := seedBase(t, srv)
			srv.MustSeed(pathDevices, map[string]any{"name": "web01", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]})
			srv.MustSeed(pathCustomFields, map[string]any{"name": "agent_id", "type": "text", "object_types": []string{"dcim.device"}})
			device := func(extra map[string]any) map[string]any {
				m := map[string]any{"name": "db01", "device_type": ids["device_type"], "role": ids["role"], "site": ids["site"]}
				for k, v := range extra {
					if v == nil {
						delete(m, k)
					} else {
						m[k] = v
					}
				}
				return m
			}
			unknownCF := map[string]any{"__all__": []any{"Unknown field name 'nope' in custom field data."}}
			if p == Profile47 {
				unknownCF = map[string]any{"custom_fields": map[string]any{"nope": []any{"Unknown field name 'nope' in custom field data."}}}
			}
			tests := []struct {
				name     string
				method   string
				path     string
				body     any
				wantCode int
				wantBody any
			}{
				{"missing device_type", "POST", pathDevices, device(map[string]any{"device_type": nil}), 400,
					map[string]any{"device_type": []any{"This field is required."}}},
				{"unknown status", "POST", pathDevices, device(map[string]any{"status": "bogus"}), 400,
					map[string]any{"status": []any{`"bogus" is not a valid choice.`}}},
				{"string where an id belongs", "POST", pathDevices, device(map[string]any{"site": "three"}), 400,
					map[string]any{"site": []any{"Related objects must be referenced by numeric ID or by dictionary of attributes. Received an unrecognized value: three"}}},
				{"missing referenced id", "POST", pathDevices, device(map[string]any{"site": 999}), 400,
					map[string]any{"site": []any{"Related object not found using the provided numeric ID: 999"}}},
				{"reference by unknown attributes", "POST", pathDevices, device(map[string]any{"site": map[string]any{"name": "Mars"}}), 400,
					map[string]any{"site": []any{"Related object not found using the provided attributes: {'name': 'Mars'}"}}},
				{"duplicate name per site (case-insensitive)", "POST", pathDevices, device(map[string]any{"name": "WEB01"}), 400,
					map[string]any{"__all__": []any{"Device name must be unique per site."}}},
				{"name too long", "POST", pathDevices, device(map[string]any{"name": strings.Repeat("x", 65)}), 400,
					map[string]any{"name": []any{"Ensure this field has no more than 64 characters."}}},
				{"unknown custom field", "POST", pathDevices, device(map[string]any{"custom_fields": map[string]any{"nope": "x"}}), 400, unknownCF},
				{"duplicate site name", "POST", pathSites, map[string]any{"name": "Home", "slug": "home-2"}, 400,
					map[string]any{"name": []any{"site with this name already exists."}}},
				{"bad slug", "POST", pathSites, map[string]any{"name": "New", "slug": "no spaces"}, 400,
					map[string]any{"slug": []any{`Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.`}}},
				{"id=abc", "GET", pathDevices + "?id=abc", nil, 400,
					map[string]any{"id": []any{"Enter a number."}}},
				{"404 by id", "GET", pathDevices + "999/", nil, 404,
					map[string]any{"detail": "No Device matches the given query."}},
				{"404 on patch", "PATCH", pathIPs + "999/", map[string]any{"description": "x"}, 404,
					map[string]any{"detail": "No IPAddress matches the given query."}},
				{"409 site with devices", "DELETE", pathSites + "1/", nil, 409,
					map[string]any{"detail": "Unable to delete object. 1 dependent objects were found: web01 (1)"}},
				{"409 device type with devices", "DELETE", pathDeviceTypes + "1/", nil, 409,
					map[string]any{"detail": "Unable to delete object. 1 dependent objects were found: web01 (1)"}},
				{"IP with /0", "POST", pathIPs, map[string]any{"address": "0.0.0.0/0"}, 400,
					map[string]any{"address": []any{"Cannot create IP address with /0 mask."}}},
				{"interface without type", "POST", pathInterfaces, map[string]any{"device": 1, "name": "eth0"}, 400,
					map[string]any{"type": []any{"This field is required."}}},
				{"VM without site or cluster", "POST", pathVMs, map[string]any{"name": "vm1"}, 400,
					map[string]any{map[Profile]string{Profile43: "cluster", Profile47: "__all__"}[p]: []any{map[Profile]string{
						Profile43: "A virtual machine must be assigned to a site and/or cluster.",
						Profile47: "A virtual machine must be assigned to a site, cluster or device."}[p]}}},
				{"not a dict", "POST", pathSites, "x", 400,
					map[string]any{"non_field_errors": []any{"Invalid data. Expected a dictionary, but got str."}}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					before := srv.Snapshot()
					code, body := call(t, srv, tc.method, tc.path, tc.body)
					if code != tc.wantCode || !reflect.DeepEqual(body, tc.wantBody) {
						t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, code, mustJSON(body), tc.wantCode, mustJSON(tc.wantBody))
					}
					if after := srv.Snapshot(); !reflect.DeepEqual(before, after) {
						t.Errorf("a rejected request changed the state")
					}
				})
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	v1 := "0123456789abcdef0123456789abcdef01234567"
	v2 := "nbt_abc123.0123456789abcdef0123456789"
	tests := []struct {
		profile  Profile
		auth     string
		wantCode int
		wantBody string
	}{
		{Profile43, "", 403, "Authentication credentials were not provided."},
		{Profile43, "Token " + v1, 200, ""},
		{Profile43, "Token ffffffffffffffffffffffffffffffffffffffff", 403, "Invalid token"},
		{Profile43, "Bearer " + v2, 403, "Authentication credentials were not provided."},
		{Profile47, "", 403, "Authentication credentials were not provided."},
		{Profile47, "Bearer " + v2, 200, ""},
		{Profile47, "Token " + v1, 200, ""},
		{Profile47, "Bearer nbt_abc123.wrongwrongwrong", 403, "Invalid v2 token"},
		{Profile47, "Token ffffffffffffffffffffffffffffffffffffffff", 403, "Invalid token"},
		{Profile47, "Bearer nbt_old.0123456789abcdef", 403, "Token expired"},
	}
	for _, tc := range tests {
		t.Run(tc.profile.String()+" "+tc.auth, func(t *testing.T) {
			toks := []Token{{Value: v1}}
			if tc.profile == Profile47 {
				toks = append(toks, Token{Value: v2}, Token{Value: "nbt_old.0123456789abcdef", Expired: true})
			}
			srv := NewTestServer(t, WithProfile(tc.profile), WithTokens(toks...))
			code, body := callAuth(t, srv, tc.auth, "GET", pathStatus, nil)
			if code != tc.wantCode {
				t.Fatalf("code = %d (%s), want %d", code, mustJSON(body), tc.wantCode)
			}
			if tc.wantBody != "" && !reflect.DeepEqual(body, map[string]any{"detail": tc.wantBody}) {
				t.Errorf("body = %s, want detail %q", mustJSON(body), tc.wantBody)
			}
			if tc.wantCode == 200 && body.(map[string]any)["netbox-version"] != tc.profile.NetBoxVersion() {
				t.Errorf("status = %s", mustJSON(body))
			}
		})
	}
}

func TestReadOnlyToken(t *testing.T) {
	tok := "0123456789abcdef0123456789abcdef01234567"
	srv := NewTestServer(t, WithTokens(Token{Value: tok, ReadOnly: true}))
	if code, _ := call(t, srv, "GET", pathSites, nil); code != 200 {
		t.Fatalf("GET = %d", code)
	}
	code, body := call(t, srv, "POST", pathSites, map[string]any{"name": "a", "slug": "a"})
	if code != 403 || !reflect.DeepEqual(body, map[string]any{"detail": "You do not have permission to perform this action."}) {
		t.Errorf("POST = %d %s", code, mustJSON(body))
	}
}

func TestHeaders(t *testing.T) {
	for _, p := range profiles {
		srv := NewTestServer(t, WithProfile(p))
		req, _ := http.NewRequest("GET", srv.URL+pathStatus, nil)
		req.Header.Set("Authorization", srv.AuthHeader())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("API-Version"); got != p.APIVersion() {
			t.Errorf("%s: API-Version = %q", p, got)
		}
		if resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: no X-Request-ID", p)
		}
	}
}

// TestBulkWritesAreAtomic: one invalid object fails the whole batch, reported per object.
func TestBulkWritesAreAtomic(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.String(), func(t *testing.T) {
			srv := NewTestServer(t, WithProfile(p))
			seedBase(t, srv)
			before := srv.Snapshot()
			batch := []any{
				map[string]any{"name": "a", "slug": "a"},
				map[string]any{"name": "Home", "slug": "home-again"}, // duplicate name
				map[string]any{"name": "c", "slug": "c"},
				map[string]any{"name": "a", "slug": "a2"}, // duplicates element 0
			}
			code, body := call(t, srv, "POST", pathSites, batch)
			var want any
			nameErr := map[string]any{"name": []any{"site with this name already exists."}}
			if p == Profile43 {
				want = []any{map[string]any{}, nameErr, map[string]any{}, nameErr}
			} else {
				want = map[string]any{
					"detail": "Bulk operation failed: 2 of 4 objects are invalid.",
					"errors": []any{
						map[string]any{"index": float64(1), "errors": nameErr},
						map[string]any{"index": float64(3), "errors": nameErr},
					},
				}
			}
			if code != 400 || !reflect.DeepEqual(body, want) {
				t.Fatalf("bulk create = %d %s, want 400 %s", code, mustJSON(body), mustJSON(want))
			}
			if !reflect.DeepEqual(before, srv.Snapshot()) {
				t.Fatal("a failed bulk create left objects behind")
			}

			// A valid batch creates everything, in order.
			code, body = call(t, srv, "POST", pathSites, []any{batch[0], batch[2]})
			if code != 201 || len(body.([]any)) != 2 {
				t.Fatalf("bulk create = %d %s", code, mustJSON(body))
			}
			a := int(body.([]any)[0].(map[string]any)["id"].(float64))
			c := int(body.([]any)[1].(map[string]any)["id"].(float64))

			// Bulk update: the second change collides, so neither is applied.
			before = srv.Snapshot()
			code, body = call(t, srv, "PATCH", pathSites, []any{
				map[string]any{"id": a, "description": "changed"},
				map[string]any{"id": c, "name": "Home"},
				map[string]any{"id": 9999, "description": "unknown ids are skipped"},
			})
			if p == Profile43 {
				want = nameErr // NetBox 4.3 raises the first failing object's errors
			} else {
				want = map[string]any{"detail": "Bulk operation failed: 1 of 3 objects are invalid.",
					"errors": []any{map[string]any{"index": float64(1), "errors": nameErr}}}
			}
			if code != 400 || !reflect.DeepEqual(body, want) {
				t.Fatalf("bulk update = %d %s, want 400 %s", code, mustJSON(body), mustJSON(want))
			}
			if !reflect.DeepEqual(before, srv.Snapshot()) {
				t.Fatal("a failed bulk update changed objects")
			}
			// Partial bulk update needs only id + changed fields (the spec would demand name, slug).
			code, body = call(t, srv, "PATCH", pathSites, []any{map[string]any{"id": a, "description": "x"}, map[string]any{"id": 9999, "description": "y"}})
			if code != 200 || len(body.([]any)) != 1 || body.([]any)[0].(map[string]any)["description"] != "x" {
				t.Fatalf("bulk patch = %d %s", code, mustJSON(body))
			}

			// Bulk delete: a site with a device protects the whole batch.
			srv.MustSeed(pathDevices, map[string]any{"name": "d", "device_type": 1, "role": 1, "site": c})
			code, body = call(t, srv, "DELETE", pathSites, []any{map[string]any{"id": a}, map[string]any{"id": c}})
			if code != 409 || !strings.HasPrefix(body.(map[string]any)["detail"].(string), "Unable to delete object. 1 dependent objects were found: d (") {
				t.Fatalf("bulk delete = %d %s", code, mustJSON(body))
			}
			if srv.Object(pathSites, a) == nil {
				t.Fatal("a failed bulk delete deleted an object")
			}
			code, _ = call(t, srv, "DELETE", pathSites, []any{map[string]any{"id": a}, map[string]any{"id": 12345}})
			if code != 204 || srv.Object(pathSites, a) != nil {
				t.Fatalf("bulk delete = %d, object still there: %v", code, srv.Object(pathSites, a) != nil)
			}
			code, body = call(t, srv, "DELETE", pathSites, []any{map[string]any{"name": "x"}})
			if code != 400 || !reflect.DeepEqual(body, []any{map[string]any{"id": []any{"This field is required."}}}) {
				t.Fatalf("bulk delete without id = %d %s", code, mustJSON(body))
			}
		})
	}
}
