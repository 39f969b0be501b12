package reliability

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netbox-agent/netbox-agent/sources/inventory"
)

// heapPeak samples the Go heap every few milliseconds until stop is called; it returns the
// highest HeapInuse seen, in MiB.
func heapPeak() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg gosync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

// inventoryRows: hostile inventory files read by the inventory adapter as configured files.
func inventoryRows(t *testing.T, m *matrix) {
	const group = "Bad inputs: inventory files"
	dir := t.TempDir()
	junk := make([]byte, 4<<20)
	_, _ = rand.Read(junk)
	wide := strings.Repeat("c,", 1_000_000) + "name\n" + strings.Repeat("x,", 1_000_000) + "host1\n"
	cases := []struct {
		name, file, format string
		content            string
		hosts              int // observations the valid part holds (0: an error or warning is expected)
	}{
		{"one 32 MiB line without a newline", "huge.csv", "csv", "name,ip\n" + strings.Repeat("a", 32<<20), 0},
		{"4 MiB of random binary", "junk.csv", "", string(junk), 0},
		{"NUL bytes inside rows", "nul.csv", "csv", "name,ip\nalpha\x00,192.168.1.5\nbeta,192.168.1.6\x00\x00\n", 0},
		{"1,000,000 columns", "wide.csv", "csv", wide, 0},
		{"YAML alias bomb (ansible)", "bomb.yaml", "ansible-yaml", yamlBomb(), 1},
		{"JSON nested 1,000,000 deep (ansible)", "deep.json", "ansible-json", strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000), 0},
		{"dhcpd.leases with an unterminated block", "open.leases", "dhcpd", "lease 192.168.1.9 {\n  hardware ethernet 00:11:22:33:44:55;\n  client-hostname \"" + strings.Repeat("z", 1<<20), 0},
		{"hosts file with 200,000 aliases on one line", "many.hosts", "hosts", "192.168.1.7 " + strings.Repeat("alias ", 200_000) + "\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			must(t, os.WriteFile(path, []byte(tc.content), 0o600))
			src, err := inventory.New(inventory.Config{Name: "inv", Files: []inventory.FileSpec{{Path: path, Format: inventory.Format(tc.format)}}}, nil)
			must(t, err)
			runtime.GC()
			stop := heapPeak()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			res, derr := src.Discover(ctx, nil)
			took := time.Since(start)
			peak := stopAnd(stop)
			var what string
			switch {
			case derr != nil:
				what = "error: " + shorten(strings.ReplaceAll(derr.Error(), dir, "$DIR"), 160)
			default:
				what = fmt.Sprintf("%d observations, %d warnings", len(res.Observations), len(res.Warnings))
				if len(res.Warnings) > 0 {
					what += ": " + shorten(strings.ReplaceAll(res.Warnings[0].Item+": "+res.Warnings[0].Message, dir, "$DIR"), 120)
				}
			}
			named := tc.hosts > 0 && derr == nil && len(res.Observations) >= tc.hosts ||
				derr != nil && strings.Contains(derr.Error(), tc.file) || len(res.Warnings) > 0 && strings.Contains(res.Warnings[0].Item, tc.file)
			happened := fmt.Sprintf("%s; %s; heap peak %.0f MiB", what, took.Round(time.Millisecond), peak)
			m.check(t, group, fmt.Sprintf("%s (%s)", tc.name, sizeOf(len(tc.content))),
				"an error or warnings naming the file (or the valid hosts read), no panic, bounded time (<30s) and memory (<512 MiB heap)",
				happened, named && took < 30*time.Second && peak < 512)
		})
	}
}

func stopAnd(stop func() float64) float64 { return stop() }

func sizeOf(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func yamlBomb() string {
	s := "all:\n  vars:\n    a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for c := 'b'; c <= 'j'; c++ {
		s += fmt.Sprintf("    %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	return s + "  hosts:\n    h1:\n      ansible_host: 192.168.1.8\n      bomb: *j\n"
}
