package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func copyFixture(t *testing.T, dir, name, as string) string {
	t.Helper()
	data, err := os.ReadFile(fixturePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, as)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "inv"
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	return s
}

func TestConfigYAML(t *testing.T) {
	var cfg Config
	doc := "name: files\nfiles:\n  - /etc/hosts\n  - {path: /srv/inv/*.txt, format: csv}\nwatch: true\n"
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	if len(cfg.Files) != 2 || cfg.Files[0].Path != "/etc/hosts" || cfg.Files[1].Format != FormatCSV || !cfg.Watch || cfg.Debounce != DefaultDebounce {
		t.Errorf("decoded %+v", cfg)
	}
	bad := Config{Name: "x", Files: []FileSpec{{Path: ""}, {Path: "/a[", Format: "xml"}}, ReadDirs: []string{"rel"}}
	errs := bad.Validate()
	want := []string{"files[0].path: empty", `files[1].path: "/a[" is not a valid glob`, `files[1].format: "xml" is not a known format`, `read_dirs[0]: "rel"`}
	if len(errs) != len(want) {
		t.Fatalf("errors %v", errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %q does not start with %q", errs[i], w)
		}
	}
}

func TestDiscoverGlobsAndFormats(t *testing.T) {
	dir := t.TempDir()
	copyFixture(t, dir, "hosts.csv", "a.csv")
	copyFixture(t, dir, "hosts.csv", "b.csv")
	copyFixture(t, dir, "dnsmasq.leases", "leases.txt")
	s := newTestSource(t, Config{Files: []FileSpec{
		{Path: filepath.Join(dir, "*.csv")},
		{Path: filepath.Join(dir, "leases.txt"), Format: FormatDnsmasq},
		{Path: filepath.Join(dir, "missing.ini")},
	}})
	var reports int
	res, err := s.Discover(context.Background(), func(done, total int, msg string) { reports++ })
	if err != nil {
		t.Fatal(err)
	}
	// 5 hosts from each CSV, 4 leases; file base names keep the NativeIDs apart.
	if len(res.Observations) != 14 {
		t.Fatalf("got %d observations", len(res.Observations))
	}
	ids := map[string]bool{}
	for _, o := range res.Observations {
		if ids[o.NativeID] {
			t.Errorf("duplicate native id %s", o.NativeID)
		}
		ids[o.NativeID] = true
	}
	for _, id := range []string{"inv/a.csv/pve1", "inv/b.csv/pve1", "inv/leases.txt/BC:24:11:2E:C5:4A"} {
		if !ids[id] {
			t.Errorf("missing %s", id)
		}
	}
	var missing, lineWarn bool
	for _, w := range res.Warnings {
		missing = missing || (strings.HasSuffix(w.Item, "missing.ini") && w.Message == "no such file")
		lineWarn = lineWarn || w.Item == filepath.Join(dir, "a.csv")+":6"
	}
	if !missing || !lineWarn {
		t.Errorf("warnings %+v: want the missing file and a.csv:6", res.Warnings)
	}
	if reports < 2 {
		t.Errorf("%d progress reports", reports)
	}
	if err := s.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "missing.ini") {
		t.Errorf("Check: %v", err)
	}
}

func TestDiscoverFailsWhenNothingReadable(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSource(t, Config{Files: []FileSpec{{Path: bad}, {Path: filepath.Join(dir, "none.csv")}}})
	res, err := s.Discover(context.Background(), nil)
	if err == nil || len(res.Observations) != 0 {
		t.Fatalf("Discover = %+v, %v; want a failure", res, err)
	}
	if !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "none.csv") {
		t.Errorf("error %q should name both files", err)
	}
}

func TestReadFileOnlyConfiguredOrReadDirs(t *testing.T) {
	dir, extra := t.TempDir(), t.TempDir()
	csvPath := copyFixture(t, dir, "hosts.csv", "hosts.csv")
	other := copyFixture(t, extra, "hosts", "hosts")
	s := newTestSource(t, Config{Files: []FileSpec{{Path: filepath.Join(dir, "*.csv")}}})
	res, err := s.ReadFile(context.Background(), csvPath, "")
	if err != nil || len(res.Observations) != 5 {
		t.Fatalf("ReadFile(configured) = %d hosts, %v", len(res.Observations), err)
	}
	for _, p := range []string{other, "/etc/passwd", filepath.Join(dir, "..", filepath.Base(extra), "hosts"), "hosts.csv"} {
		if _, err := s.ReadFile(context.Background(), p, ""); err == nil || !strings.Contains(err.Error(), "neither a configured file nor inside read_dirs") {
			t.Errorf("ReadFile(%s): %v, want a refusal", p, err)
		}
	}
	s2 := newTestSource(t, Config{Files: []FileSpec{{Path: csvPath}}, ReadDirs: []string{extra}})
	res, err = s2.ReadFile(context.Background(), other, FormatHosts)
	if err != nil || len(res.Observations) != 3 {
		t.Fatalf("ReadFile(read_dirs) = %+v, %v", res, err)
	}
	if _, err := s2.ReadFile(context.Background(), other, "xml"); err == nil || !strings.Contains(err.Error(), `"xml" is not a known format`) {
		t.Errorf("bad format: %v", err)
	}
}

func TestWatchDebounces(t *testing.T) {
	dir := t.TempDir()
	path := copyFixture(t, dir, "hosts.csv", "hosts.csv")
	s := newTestSource(t, Config{Files: []FileSpec{{Path: filepath.Join(dir, "*.csv")}}, Watch: true, Debounce: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, func() { calls.Add(1) }) }()
	time.Sleep(200 * time.Millisecond) // let the watcher start

	// A burst of writes is one change.
	for i := 0; i < 5; i++ {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("new" + string(rune('a'+i)) + ",192.168.10.8" + string(rune('0'+i)) + ",,,,,,,,,,,,\n")
		f.Close()
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, func() bool { return calls.Load() == 1 }, "one call after the burst")
	time.Sleep(500 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls after one burst, want 1", n)
	}
	// Files that match no pattern are ignored; a new file matching the glob counts.
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("an unrelated file triggered discovery (%d calls)", n)
	}
	// Replace by rename, as editors and config tools do.
	tmp := filepath.Join(dir, ".tmp")
	if err := os.WriteFile(tmp, []byte("name,ip\nx,10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new.csv")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return calls.Load() == 2 }, "a call after a file appeared by rename")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestWatchMissingDirectory(t *testing.T) {
	s := newTestSource(t, Config{Files: []FileSpec{{Path: "/nonexistent-netbox-agent/x.csv"}}})
	if err := s.Watch(context.Background(), func() {}); err == nil || !strings.Contains(err.Error(), "/nonexistent-netbox-agent") {
		t.Fatalf("Watch = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
