package inventory

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

const benchLines = 100_000

func genCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("name,ip,mac,serial,site,role,manufacturer,model,platform,tags\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "host-%06d,10.%d.%d.%d,52:54:00:%02X:%02X:%02X,SN%08d,dc1,server,Dell,R650,Debian 12,prod;rack-%d\n",
			i, i>>16&255, i>>8&255, i&255, i>>16&255, i>>8&255, i&255, i, i%40)
	}
	return b.Bytes()
}

func genDnsmasq(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "1763899200 52:54:00:%02X:%02X:%02X 10.%d.%d.%d client-%06d 01:52:54:00:%02X:%02X:%02X\n",
			i>>16&255, i>>8&255, i&255, i>>16&255, i>>8&255, i&255, i, i>>16&255, i>>8&255, i&255)
	}
	return b.Bytes()
}

func genAnsibleINI(n int) []byte {
	var b bytes.Buffer
	for g := 0; g < 100; g++ {
		fmt.Fprintf(&b, "[group%d]\n", g)
		for i := g * n / 100; i < (g+1)*n/100; i++ {
			fmt.Fprintf(&b, "host-%06d ansible_host=10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
		}
	}
	return b.Bytes()
}

func benchParse(b *testing.B, format Format, file string, data []byte, want int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	now := time.Date(2025, 11, 22, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		res, err := Parse(context.Background(), bytes.NewReader(data), file, format, "inv", now)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Observations) != want || len(res.Warnings) != 0 {
			b.Fatalf("%d observations, %d warnings", len(res.Observations), len(res.Warnings))
		}
	}
	b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "hosts/s")
}

// BenchmarkInventoryCSV100k parses a 100,000-row CSV inventory into observations.
func BenchmarkInventoryCSV100k(b *testing.B) {
	benchParse(b, FormatCSV, "hosts.csv", genCSV(benchLines), benchLines)
}

// BenchmarkInventoryDnsmasq100k parses a 100,000-lease dnsmasq file.
func BenchmarkInventoryDnsmasq100k(b *testing.B) {
	benchParse(b, FormatDnsmasq, "dnsmasq.leases", genDnsmasq(benchLines), benchLines)
}

// BenchmarkInventoryAnsibleINI100k parses a 100,000-host INI inventory in 100 groups.
func BenchmarkInventoryAnsibleINI100k(b *testing.B) {
	benchParse(b, FormatAnsibleINI, "hosts.ini", genAnsibleINI(benchLines), benchLines)
}
