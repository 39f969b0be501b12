package sources

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

type testConfig struct {
	Name  string
	Depth int
}

func (c *testConfig) SetDefaults() {
	if c.Name == "" {
		c.Name = "t"
	}
}

func (c *testConfig) Validate() []error {
	var errs []error
	if c.Depth < 0 {
		errs = append(errs, errors.New("depth: negative"))
	}
	if c.Depth > 9 {
		errs = append(errs, errors.New("depth: over 9"))
	}
	return errs
}

func TestConfigure(t *testing.T) {
	for _, tt := range []struct {
		cfg     testConfig
		wantErr string
	}{
		{testConfig{Depth: 1}, ""},
		{testConfig{Depth: -1}, "depth: negative"},
		{testConfig{Name: "x", Depth: 10}, "depth: over 9"},
	} {
		cfg := tt.cfg
		err := Configure(&cfg)
		if cfg.Name == "" {
			t.Errorf("%+v: defaults not applied", tt.cfg)
		}
		if got := errString(err); got != tt.wantErr {
			t.Errorf("Configure(%+v) = %q, want %q", tt.cfg, got, tt.wantErr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestAdapterLogger(t *testing.T) {
	AdapterLogger(nil, "a", "b").Info("dropped") // nil discards, and does not panic
	var buf bytes.Buffer
	AdapterLogger(slog.New(slog.NewTextHandler(&buf, nil)), "pve", "proxmox").Info("hello")
	if !strings.Contains(buf.String(), "source=pve adapter=proxmox") {
		t.Fatalf("log line %q lacks the source attributes", buf.String())
	}
}
