package promdecl

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Each constructor keeps the name, help, labels and buckets it is given.
func TestDeclarations(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, gv, cv, hv := Gauge("a_gauge", "A."), GaugeVec("b_gauge", "B.", "x"), CounterVec("c_total", "C.", "x", "y"),
		HistogramVec("d_seconds", "D.", []float64{1, 2}, "z")
	reg.MustRegister(g, gv, cv, hv)
	g.Set(1)
	gv.WithLabelValues("1").Set(2)
	cv.WithLabelValues("1", "2").Inc()
	hv.WithLabelValues("1").Observe(1.5)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		help   string
		labels int
	}{"a_gauge": {"A.", 0}, "b_gauge": {"B.", 1}, "c_total": {"C.", 2}, "d_seconds": {"D.", 1}}
	if len(mfs) != len(want) {
		t.Fatalf("gathered %d families, want %d", len(mfs), len(want))
	}
	for _, mf := range mfs {
		w, ok := want[mf.GetName()]
		if !ok || mf.GetHelp() != w.help || len(mf.GetMetric()[0].GetLabel()) != w.labels {
			t.Errorf("%s: help %q, %d labels; want %+v", mf.GetName(), mf.GetHelp(), len(mf.GetMetric()[0].GetLabel()), w)
		}
		if h := mf.GetMetric()[0].GetHistogram(); h != nil && len(h.GetBucket()) != 2 {
			t.Errorf("%s: %d buckets, want 2", mf.GetName(), len(h.GetBucket()))
		}
	}
}
