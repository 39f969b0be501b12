package truenastest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func get(t *testing.T, s *Server, path, key string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func getList(t *testing.T, s *Server, path string) []map[string]any {
	t.Helper()
	code, body := get(t, s, path, s.APIKey())
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var out []map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return out
}

func TestRESTShapesPerFlavour(t *testing.T) {
	core := NewTestServer(t, WithFlavour(Core13))
	scale := NewTestServer(t, WithFlavour(Scale2410))
	nfsCore := getList(t, core, "/api/v2.0/sharing/nfs")
	if _, ok := nfsCore[0]["paths"].([]any); !ok || nfsCore[0]["path"] != nil {
		t.Errorf("CORE NFS share should carry paths only: %v", nfsCore[0])
	}
	nfsScale := getList(t, scale, "/api/v2.0/sharing/nfs")
	if nfsScale[0]["path"] != "/mnt/tank/media" || nfsScale[0]["paths"] != nil {
		t.Errorf("SCALE NFS share should carry path only: %v", nfsScale[0])
	}
	info := map[string]any{}
	_, body := get(t, scale, "/api/v2.0/system/info", scale.APIKey())
	_ = json.Unmarshal(body, &info)
	if d, ok := info["boottime"].(map[string]any); !ok || d["$date"] == nil {
		t.Errorf("boottime should be a $date object: %v", info["boottime"])
	}
	if info["system_serial"] != "To Be Filled By O.E.M." {
		t.Errorf("serial: %v", info["system_serial"])
	}
}

func TestRESTDatasetsNestedAndFlat(t *testing.T) {
	s := NewTestServer(t)
	all := getList(t, s, "/api/v2.0/pool/dataset")
	if len(all) != len(DefaultState().Datasets) {
		t.Fatalf("every dataset at top level: got %d", len(all))
	}
	var tank map[string]any
	for _, d := range all {
		if d["id"] == "tank" {
			tank = d
		}
	}
	kids, _ := tank["children"].([]any)
	if len(kids) != 2 {
		t.Fatalf("tank should nest its 2 children by default, got %d", len(kids))
	}
	// The JSON body form of query-options turns nesting off.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v2.0/pool/dataset",
		strings.NewReader(`{"query-filters": [["id", "=", "tank"]], "query-options": {"extra": {"retrieve_children": false}}}`))
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var flat []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&flat); err != nil || len(flat) != 1 {
		t.Fatalf("filtered flat query: %v %v", flat, err)
	}
	if k, _ := flat[0]["children"].([]any); len(k) != 0 {
		t.Errorf("retrieve_children=false should leave children empty, got %d", len(k))
	}
}

func TestRESTPagingFiltersAndIDs(t *testing.T) {
	s := NewTestServer(t)
	page := getList(t, s, "/api/v2.0/pool/dataset?limit=2&offset=1")
	if len(page) != 2 || page[0]["id"] != "tank/media" {
		t.Errorf("limit/offset: %v", page)
	}
	byName := getList(t, s, "/api/v2.0/pool?name=fast")
	if len(byName) != 1 || byName[0]["guid"] != "9120398470123984711" {
		t.Errorf("filter: %v", byName)
	}
	code, body := get(t, s, "/api/v2.0/pool/dataset/id/tank%2Fmedia", s.APIKey())
	if code != 200 || !strings.Contains(string(body), `"id": "tank/media"`) {
		t.Errorf("URL-encoded id: %d %s", code, body)
	}
	if code, _ := get(t, s, "/api/v2.0/pool/dataset/id/tank/media", s.APIKey()); code != 404 {
		t.Errorf("unencoded id should not route: %d", code)
	}
	if code, _ := get(t, s, "/api/v2.0/pool", "wrong"); code != 401 {
		t.Errorf("bad key: %d", code)
	}
	if code, _ := get(t, NewTestServer(t, WithFlavour(TrueNAS26)), "/api/v2.0/system/info", DefaultAPIKey); code != 404 {
		t.Errorf("TrueNAS 26 has no REST: %d", code)
	}
}

type rpc struct {
	t    *testing.T
	c    *websocket.Conn
	next int
}

func dialRPC(t *testing.T, s *Server) (*rpc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, s.WebsocketURL(), &websocket.DialOptions{HTTPClient: s.Client()})
	if err != nil {
		if resp != nil {
			return nil, &statusErr{resp.StatusCode}
		}
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &rpc{t: t, c: c}, nil
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return http.StatusText(e.code) }

func (r *rpc) call(method string, params ...any) map[string]any {
	r.t.Helper()
	r.next++
	if params == nil {
		params = []any{}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": r.next, "method": method, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.c.Write(ctx, websocket.MessageText, b); err != nil {
		r.t.Fatal(err)
	}
	_, msg, err := r.c.Read(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(msg, &out); err != nil {
		r.t.Fatalf("%s: %v: %s", method, err, msg)
	}
	return out
}

func TestWebsocketLoginAndQueries(t *testing.T) {
	s := NewTestServer(t, WithFlavour(Scale2504))
	r, err := dialRPC(t, s)
	if err != nil {
		t.Fatal(err)
	}
	ans := r.call("pool.query")
	reason, _ := ans["error"].(map[string]any)["data"].(map[string]any)["reason"].(string)
	if reason != "Not authenticated" {
		t.Fatalf("before login: %v", ans)
	}
	ans = r.call("auth.login_ex", map[string]any{"mechanism": "API_KEY_PLAIN", "username": "root", "api_key": s.APIKey()})
	if ans["result"].(map[string]any)["response_type"] != "AUTH_ERR" {
		t.Fatalf("wrong user should fail: %v", ans)
	}
	ans = r.call("auth.login_ex", map[string]any{"mechanism": "API_KEY_PLAIN", "username": s.Username(), "api_key": s.APIKey()})
	if ans["result"].(map[string]any)["response_type"] != "SUCCESS" {
		t.Fatalf("login: %v", ans)
	}
	ans = r.call("pool.dataset.query", []any{[]any{"pool", "=", "fast"}}, map[string]any{"extra": map[string]any{"retrieve_children": false}})
	rows, _ := ans["result"].([]any)
	if len(rows) != 2 {
		t.Fatalf("filtered datasets: %v", ans)
	}
	ans = r.call("pool.query", []any{}, map[string]any{"count": true})
	if ans["result"] != float64(2) {
		t.Errorf("count: %v", ans)
	}
	ans = r.call("nope.query")
	if ans["error"].(map[string]any)["code"] != float64(-32601) {
		t.Errorf("unknown method: %v", ans)
	}
	s.Fail("disk.query", Fault{Status: 500, Reason: "[EFAULT] disk cache busy", Times: 1})
	ans = r.call("disk.query")
	if ans["error"].(map[string]any)["data"].(map[string]any)["reason"] != "[EFAULT] disk cache busy" {
		t.Errorf("fault: %v", ans)
	}
	if rows, _ := r.call("disk.query")["result"].([]any); len(rows) != 3 {
		t.Errorf("fault should fire once only")
	}
	if s.RequestsFor("disk.query") != 2 || s.Requests() < 9 {
		t.Errorf("counters: disk.query=%d total=%d", s.RequestsFor("disk.query"), s.Requests())
	}
}

func TestWebsocketAbsentOnCore(t *testing.T) {
	s := NewTestServer(t, WithFlavour(Core13))
	_, err := dialRPC(t, s)
	if se, ok := err.(*statusErr); !ok || se.code != 404 {
		t.Fatalf("CORE 13 has no /api/current: %v", err)
	}
}

func TestPlainTransportRevokesKey(t *testing.T) {
	s := NewServer(WithKeyRevocationOnPlainTransport())
	defer s.Close()
	if code, _ := get(t, s, "/api/v2.0/system/info", s.APIKey()); code != 401 {
		t.Errorf("key over plain HTTP: %d", code)
	}
	if !s.KeyRevoked() {
		t.Fatal("key should be revoked")
	}
}

// TestSetAnswer: a raw answer replaces the rendered one on both APIs, whatever the filters,
// Render shows it, and ClearAnswers restores the state's answer.
func TestSetAnswer(t *testing.T) {
	s := NewTestServer(t, WithFlavour(Scale2510))
	raw := `[{"id": 9, "name": "odd", "size": null}]`
	s.SetAnswer("pool.query", json.RawMessage(raw))
	if got := getList(t, s, "/api/v2.0/pool?name=tank"); len(got) != 1 || got[0]["name"] != "odd" || got[0]["size"] != nil {
		t.Errorf("REST: %v", got)
	}
	r, err := dialRPC(t, s)
	if err != nil {
		t.Fatal(err)
	}
	r.call("auth.login_with_api_key", s.APIKey())
	if rows, _ := r.call("pool.query", []any{[]any{"name", "=", "tank"}})["result"].([]any); len(rows) != 1 || rows[0].(map[string]any)["name"] != "odd" {
		t.Errorf("websocket: %v", rows)
	}
	if b, err := s.Render("pool.query"); err != nil || string(b) != `[{"id":9,"name":"odd","size":null}]` {
		t.Errorf("Render: %s %v", b, err)
	}
	s.ClearAnswers()
	if got := getList(t, s, "/api/v2.0/pool"); len(got) != 2 || got[0]["name"] != "tank" {
		t.Errorf("after ClearAnswers: %v", got)
	}
	if _, err := s.Render("nope.query"); err == nil {
		t.Error("Render of an unknown method should fail")
	}
}
