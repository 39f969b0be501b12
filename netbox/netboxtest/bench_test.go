package netboxtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// BenchmarkValidateDeviceRequest measures spec validation of one device body.
func BenchmarkValidateDeviceRequest(b *testing.B) {
	spec, err := DefaultSpec()
	if err != nil {
		b.Fatal(err)
	}
	body := map[string]any{"name": "web01", "device_type": 1.0, "role": 1.0, "site": 1.0, "status": "active", "serial": "SN1",
		"platform": 2.0, "tags": []any{map[string]any{"name": "agent", "slug": "agent"}},
		"custom_fields": map[string]any{"agent_id": "px:1"}, "description": "seen by proxmox"}
	for _, bc := range []struct {
		name   string
		schema *openapi3.Schema
	}{
		{"as served", spec.eps[pathDevices].post},      // reference properties checked by writeOne
		{"spec as is", spec.eps[pathDevices].specPost}, // kin-openapi's oneOf on every reference
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if fe := validateBody(bc.schema, body); fe != nil {
					b.Fatal(fe)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "validations/s")
		})
	}
}

func doJSON(srv *Server, method, path string, body any) ([]byte, error) {
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", srv.AuthHeader())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("%s %s = %d %s", method, path, resp.StatusCode, out)
	}
	return out, err
}

func post(b *testing.B, srv *Server, method, path string, body any) []byte {
	out, err := doJSON(srv, method, path, body)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkBulkCreateDevices measures the simulator's own cost (no latency knobs) of
// bulk-creating 10,000 devices in batches of 500 and reading them back at 1,000 per page.
func BenchmarkBulkCreateDevices(b *testing.B) {
	const total, batch = 10000, 500
	for b.Loop() {
		b.StopTimer()
		srv := NewServer()
		seedBase(b, srv)
		b.StartTimer()
		start := time.Now()
		for i := 0; i < total; i += batch {
			objs := make([]any, batch)
			for j := range objs {
				objs[j] = map[string]any{"name": fmt.Sprintf("dev%05d", i+j), "device_type": 1, "role": 1, "site": 1,
					"serial": fmt.Sprintf("SN%05d", i+j), "status": "active"}
			}
			post(b, srv, "POST", pathDevices, objs)
		}
		created := time.Since(start)
		start = time.Now()
		for off := 0; off < total; off += 1000 {
			post(b, srv, "GET", fmt.Sprintf("%s?limit=1000&offset=%d", pathDevices, off), nil)
		}
		read := time.Since(start)
		b.ReportMetric(float64(total)/created.Seconds(), "created/s")
		b.ReportMetric(float64(total)/read.Seconds(), "read/s")
		srv.Close()
	}
}

// BenchmarkBulkCreateWithLatency: 10,000 objects in batches of 500, 4 at a time, against
// 2 ms per request + 0.1 ms per object and 4 workers. The simulator's lower bound is
// objects x per-object / workers + batches x per-request / workers = 250 ms + 10 ms;
// ratio says how close its own overhead lets a client get.
func BenchmarkBulkCreateWithLatency(b *testing.B) {
	const total, batch, workers = 10000, 500, 4
	const perReq, perObj = 2 * time.Millisecond, 100 * time.Microsecond
	lower := time.Duration(total)*perObj/workers + time.Duration(total/batch)*perReq/workers
	for b.Loop() {
		b.StopTimer()
		srv := NewServer(WithLatency(perReq, perObj), WithWorkers(workers))
		b.StartTimer()
		start := time.Now()
		sem := make(chan struct{}, workers)
		done := make(chan struct{}, total/batch)
		for i := 0; i < total; i += batch {
			objs := make([]any, batch)
			for j := range objs {
				objs[j] = map[string]any{"name": fmt.Sprintf("t%05d", i+j), "slug": fmt.Sprintf("t%05d", i+j)}
			}
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; done <- struct{}{} }()
				if _, err := doJSON(srv, "POST", pathTags, objs); err != nil {
					b.Error(err)
				}
			}()
		}
		for range total / batch {
			<-done
		}
		elapsed := time.Since(start)
		if srv.Count(pathTags) != total {
			b.Fatalf("created %d", srv.Count(pathTags))
		}
		b.ReportMetric(float64(elapsed.Milliseconds()), "wall-ms")
		b.ReportMetric(float64(lower.Milliseconds()), "lower-bound-ms")
		b.ReportMetric(elapsed.Seconds()/lower.Seconds(), "ratio")
		srv.Close()
	}
}

// BenchmarkReadDevices reads 20,000 devices at 1,000 per page, full and with ?fields.
func BenchmarkReadDevices(b *testing.B) {
	const total = 20000
	srv := NewServer()
	defer srv.Close()
	seedBase(b, srv)
	objs := make([]map[string]any, total)
	for i := range objs {
		objs[i] = map[string]any{"name": fmt.Sprintf("dev%05d", i), "device_type": 1, "role": 1, "site": 1 + i%2, "serial": fmt.Sprintf("SN%05d", i)}
	}
	srv.MustSeed(pathDevices, objs...)
	for _, q := range []string{"", "&fields=id,name,serial,site,custom_fields,last_updated", "&brief=true"} {
		b.Run("query="+q, func(b *testing.B) {
			for b.Loop() {
				start := time.Now()
				for off := 0; off < total; off += 1000 {
					post(b, srv, "GET", fmt.Sprintf("%s?limit=1000&offset=%d%s", pathDevices, off, q), nil)
				}
				b.ReportMetric(float64(total)/time.Since(start).Seconds(), "objects/s")
			}
		})
	}
}
