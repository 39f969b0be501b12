package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const canary = "canary-7f3a9c-do-not-print"

func TestSecretNeverPrintsItself(t *testing.T) {
	s := New(canary)
	type holder struct {
		Token Secret `json:"token" yaml:"token"`
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder{s}), fmt.Sprintf(verb, &holder{s}))
	}
	j, _ := json.Marshal(holder{s})
	y, _ := yaml.Marshal(holder{s})
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "token", s, "h", holder{s})
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "token", s)
	outs = append(outs, string(j), string(y), logBuf.String(), s.String())
	for _, o := range outs {
		if strings.Contains(o, canary) {
			t.Fatalf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(string(j), Redacted) {
		t.Fatalf("json should show %s, got %s", Redacted, j)
	}
	if s.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
}

func TestUnmarshalTrimsNewline(t *testing.T) {
	var s Secret
	if err := s.UnmarshalText([]byte("abc\n")); err != nil || s.Reveal() != "abc" {
		t.Fatalf("got %q, %v", s.Reveal(), err)
	}
	var h struct {
		T Secret `yaml:"t"`
	}
	if err := yaml.Unmarshal([]byte("t: xyz\n"), &h); err != nil || h.T.Reveal() != "xyz" {
		t.Fatalf("yaml: got %q, %v", h.T.Reveal(), err)
	}
}

func TestScrubber(t *testing.T) {
	sc := NewScrubber(New(canary), New("ab"))
	got := sc.Scrub("GET https://x/?token=" + canary + " ab")
	if strings.Contains(got, canary) || !strings.Contains(got, "ab") {
		t.Fatalf("scrub: %q", got)
	}
}
