package netboxtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// call sends one request with the server's token and decodes the JSON answer.
func call(t testing.TB, srv *Server, method, path string, body any) (int, any) {
	t.Helper()
	return callAuth(t, srv, srv.AuthHeader(), method, path, body)
}

func callAuth(t testing.TB, srv *Server, auth, method, path string, body any) (int, any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, v
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// seedBase creates a site, manufacturer, device type, role, cluster type and cluster and
// returns their ids by name.
func seedBase(t testing.TB, srv *Server) map[string]int {
	t.Helper()
	ids := map[string]int{}
	ids["site"] = srv.MustSeed(pathSites, map[string]any{"name": "Home", "slug": "home"})[0]
	ids["site2"] = srv.MustSeed(pathSites, map[string]any{"name": "Lab", "slug": "lab"})[0]
	ids["manufacturer"] = srv.MustSeed(pathManufacturers, map[string]any{"name": "Dell", "slug": "dell"})[0]
	ids["device_type"] = srv.MustSeed(pathDeviceTypes, map[string]any{"manufacturer": ids["manufacturer"], "model": "R730", "slug": "r730"})[0]
	ids["role"] = srv.MustSeed(pathDeviceRoles, map[string]any{"name": "Server", "slug": "server"})[0]
	ids["cluster_type"] = srv.MustSeed(pathClusterTypes, map[string]any{"name": "Proxmox", "slug": "proxmox"})[0]
	ids["cluster"] = srv.MustSeed(pathClusters, map[string]any{"name": "pve", "type": ids["cluster_type"]})[0]
	return ids
}
