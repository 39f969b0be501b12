package proxmoxtest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, s *Server, path, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.APIURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const goodAuth = "PVEAPIToken=" + DefaultTokenID + "=" + DefaultTokenSecret

func smallLab(opts ...Option) []Option {
	return append([]Option{WithCluster("lab"),
		WithNodes(Node{Name: "pve1", Online: true}, Node{Name: "pve2", Online: false}),
		WithGuests(
			Guest{Type: TypeQEMU, VMID: 100, Node: "pve1", Name: "web", Status: "running", MemoryMB: 2048, MemoryAsString: true,
				VMIDAsString: true, Agent: AgentNotRunning},
			Guest{Type: TypeQEMU, VMID: 101, Node: "pve1", Name: "app", Status: "running", MemoryMB: 1024, Agent: AgentRunning,
				Interfaces: []GuestIface{{Name: "ens18", MAC: "BC:24:11:00:00:01", IPs: []string{"10.0.0.5/24"}}}},
			Guest{Type: TypeLXC, VMID: 200, Node: "pve2", Name: "ct", Status: "running", MemoryMB: 512},
		)}, opts...)
}

func TestAPIShapes(t *testing.T) {
	s := NewTestServer(t, smallLab()...)
	tests := []struct {
		name, path, auth string
		wantStatus       int
		wantBody         string // exact when it starts with '{', else a substring
	}{
		{"no token", "/version", "", 401, `"message":"authentication failure\n"`},
		{"wrong secret", "/version", "PVEAPIToken=" + DefaultTokenID + "=nope", 401, "authentication failure"},
		{"version wrapped in data", "/version", goodAuth, 200, `{"data":{"release":"8.2","repoid":"faa83925c9641325","version":"8.2.4"}}`},
		{"agent not running", "/nodes/pve1/qemu/100/agent/network-get-interfaces", goodAuth, 500, `{"data":null,"message":"QEMU guest agent is not running\n"}`},
		{"agent answers", "/nodes/pve1/qemu/101/agent/network-get-interfaces", goodAuth, 200, `"hardware-address":"bc:24:11:00:00:01"`},
		{"memory as string", "/nodes/pve1/qemu/100/config", goodAuth, 200, `"memory":"2048"`},
		{"vmid as string", "/cluster/resources?type=vm", goodAuth, 200, `"vmid":"100"`},
		{"guest on offline node", "/cluster/resources?type=vm", goodAuth, 200, `"status":"unknown"`},
		{"offline node", "/nodes/pve2/lxc/200/config", goodAuth, 595, ""},
		{"wrong node", "/nodes/pve1/qemu/200/config", goodAuth, 500, "does not exist"},
		{"cluster entry", "/cluster/status", goodAuth, 200, `"type":"cluster"`},
		{"node status", "/nodes/pve1/status", goodAuth, 200, `"pveversion":"pve-manager/8.2.4/`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, s, tt.path, tt.auth)
			if code != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", code, body, tt.wantStatus)
			}
			if strings.HasPrefix(tt.wantBody, "{") && body != tt.wantBody || !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %s, want %s", body, tt.wantBody)
			}
		})
	}
}

func TestPrivilegeSeparatedToken(t *testing.T) {
	tok := Token{ID: "u@pve!t", Secret: "s3cr3t-value", ACL: map[string][]string{"/": {PrivSysAudit}, "/vms/101": {PrivVMAudit}}}
	none := Token{ID: "u@pve!none", Secret: "n0ne-value", ACL: map[string][]string{}}
	s := NewTestServer(t, smallLab(WithTokens(tok, none))...)
	auth := "PVEAPIToken=u@pve!t=s3cr3t-value"
	_, body := get(t, s, "/cluster/resources?type=vm", auth)
	var res struct{ Data []map[string]any }
	if err := json.Unmarshal([]byte(body), &res); err != nil || len(res.Data) != 1 || res.Data[0]["vmid"] != float64(101) {
		t.Errorf("filtered resources %s", body)
	}
	if code, body := get(t, s, "/nodes/pve1/qemu/100/config", auth); code != 403 || !strings.Contains(body, "Permission check failed (/vms/100, VM.Audit)") {
		t.Errorf("config of an invisible VM: %d %s", code, body)
	}
	if code, _ := get(t, s, "/nodes/pve1/qemu/101/config", auth); code != 200 {
		t.Errorf("config of a visible VM: %d", code)
	}
	if code, _ := get(t, s, "/cluster/status", "PVEAPIToken=u@pve!none=n0ne-value"); code != 403 {
		t.Errorf("cluster status without Sys.Audit: %d", code)
	}
	if code, body := get(t, s, "/cluster/resources?type=vm", "PVEAPIToken=u@pve!none=n0ne-value"); code != 200 || body != `{"data":[]}` {
		t.Errorf("no-rights token resources: %d %s (PVE filters silently)", code, body)
	}
	if code, _ := get(t, s, "/version", goodAuth); code != 401 {
		t.Errorf("WithTokens must drop the default token: %d", code)
	}
}

func TestKnobs(t *testing.T) {
	s := NewTestServer(t, smallLab(WithLatency(30*time.Millisecond))...)
	start := time.Now()
	get(t, s, "/version", goodAuth)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency knob: answered in %v", d)
	}
	s.SetLatency(0)
	s.AddFault(Fault{PathContains: "/cluster/resources", Malformed: true})
	if code, body := get(t, s, "/cluster/resources", goodAuth); code != 200 || json.Valid([]byte(body)) {
		t.Errorf("malformed fault: %d %q", code, body)
	}
	s.ClearFaults()
	s.AddFault(Fault{PathContains: "/version", Truncated: true})
	if _, body := get(t, s, "/version", goodAuth); json.Valid([]byte(body)) || body == "" {
		t.Errorf("truncated fault: %q", body)
	}
	s.ClearFaults()
	s.AddFault(Fault{PathContains: "/nodes/pve1/status", Status: 503, Message: "busy"})
	if code, body := get(t, s, "/nodes/pve1/status", goodAuth); code != 503 || !strings.Contains(body, "busy") {
		t.Errorf("status fault: %d %s", code, body)
	}
	s.ClearFaults()
	s.AddFault(Fault{PathContains: "/version", Status: 500, Rate: 0.5})
	fails := 0
	for range 200 {
		if code, _ := get(t, s, "/version", goodAuth); code == 500 {
			fails++
		}
	}
	if fails < 60 || fails > 140 {
		t.Errorf("rate 0.5 failed %d of 200", fails)
	}
	if s.RequestsTo("/version") != 202 || s.Requests() != 204 {
		t.Errorf("counters %d / %d", s.RequestsTo("/version"), s.Requests())
	}
	s.ResetRequests()
	if s.Requests() != 0 {
		t.Errorf("reset")
	}
	s.SetNodeOnline("pve2", true)
	if code, _ := get(t, s, "/nodes/pve2/lxc/200/interfaces", goodAuth); code != 200 {
		t.Errorf("node back online: %d", code)
	}
}

func TestGenerateLab(t *testing.T) {
	a := GenerateLab(LabSpec{Nodes: 3, Guests: 1000, Seed: 42})
	b := GenerateLab(LabSpec{Nodes: 3, Guests: 1000, Seed: 42})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different lab")
	}
	if len(a.Nodes) != 3 || len(a.Guests) != 1000 {
		t.Fatalf("%d nodes %d guests", len(a.Nodes), len(a.Guests))
	}
	macs := map[string]bool{}
	kinds := map[string]int{}
	for _, g := range a.Guests {
		kinds[g.Type]++
		if g.Template {
			kinds["template"]++
		}
		if g.MemoryAsString {
			kinds["memstring"]++
		}
		for _, ifc := range g.Interfaces {
			if macs[ifc.MAC] {
				t.Fatalf("duplicate MAC %s", ifc.MAC)
			}
			macs[ifc.MAC] = true
		}
	}
	if kinds[TypeQEMU] < 600 || kinds[TypeLXC] < 200 || kinds["template"] != 20 || kinds["memstring"] < 200 {
		t.Errorf("mix %v", kinds)
	}
}
