package netboxtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/netbox/netboxtest"
)

func Example() {
	srv := netboxtest.NewServer(
		netboxtest.WithProfile(netboxtest.Profile47),
		netboxtest.WithLatency(2*time.Millisecond, 100*time.Microsecond),
		netboxtest.WithWorkers(4),
		// The 2nd bulk create of devices is answered 502 after it was applied.
		netboxtest.WithFaultFunc(netboxtest.FailNth("POST", "/api/dcim/devices/", 2,
			netboxtest.Fault{Kind: netboxtest.FaultBadGateway, AfterApply: true})),
	)
	defer srv.Close()
	srv.MustSeed("/api/dcim/sites/", map[string]any{"name": "Home", "slug": "home"})

	// A device without device_type and role: NetBox's field errors.
	req, _ := http.NewRequest("POST", srv.URL+"/api/dcim/devices/", strings.NewReader(`{"name": "web01", "site": {"slug": "home"}}`))
	req.Header.Set("Authorization", srv.AuthHeader())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body map[string][]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, resp.Header.Get("API-Version"), body["device_type"], body["role"])
	fmt.Println(srv.Counts()["POST /api/dcim/devices/"], srv.Count("/api/dcim/sites/"))
	// Output:
	// 400 4.7 [This field is required.] [This field is required.]
	// 1 1
}
