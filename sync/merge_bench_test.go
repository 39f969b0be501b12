package sync

import (
	"fmt"
	"testing"
)

// BenchmarkMerge merges synthetic estates with about 30% overlap between sources; the time
// per observation should stay flat from 10k to 1M (linear growth).
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		obs := syntheticObservations(n, 0.3, 42)
		b.Run(fmt.Sprintf("obs=%d", n), func(b *testing.B) {
			var entities int
			for b.Loop() {
				entities = len(Merge(obs, DefaultMergeConfig()).Entities)
			}
			b.ReportMetric(float64(entities), "entities")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/obs")
		})
	}
}
