package secret

import (
	"fmt"
	"log/slog"
	"strings"
)

// Redacted is what a Secret prints in place of its value.
const Redacted = "[redacted]"

// Secret is a credential. Every way of printing it (fmt verbs, JSON, YAML, text, slog) gives
// Redacted; only Reveal returns the value, and only code that sends it to its server calls it.
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the value: call it only where the credential is sent to its server.
func (s Secret) Reveal() string { return s.v }

// IsSet reports a non-empty value.
func (s Secret) IsSet() bool { return s.v != "" }

func (s Secret) String() string   { return s.mask() }
func (s Secret) GoString() string { return "secret.Secret(" + s.mask() + ")" }

// Format covers every verb, %x and %q included.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.mask())) }

// LogValue keeps slog from reaching the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalText also serves JSON and YAML encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// MarshalYAML is for gopkg.in/yaml.v3, which prefers it to MarshalText.
func (s Secret) MarshalYAML() (any, error) { return s.mask(), nil }

// UnmarshalText reads a value from config or environment; a trailing newline, as files from
// `echo secret > file` have, is dropped.
func (s *Secret) UnmarshalText(b []byte) error {
	s.v = strings.TrimRight(string(b), "\r\n")
	return nil
}

func (s Secret) mask() string {
	if s.v == "" {
		return ""
	}
	return Redacted
}

// Scrubber replaces known secret values in text: a last line of defence for errors and log
// lines that quote a server's answer or a URL.
type Scrubber struct{ values []string }

// NewScrubber returns a scrubber for the set secrets (values shorter than 4 bytes are ignored:
// replacing them would garble ordinary text).
func NewScrubber(secrets ...Secret) *Scrubber {
	sc := &Scrubber{}
	for _, s := range secrets {
		if len(s.v) >= 4 {
			sc.values = append(sc.values, s.v)
		}
	}
	return sc
}

// Scrub returns text with every known secret value replaced by Redacted.
func (sc *Scrubber) Scrub(text string) string {
	if sc == nil {
		return text
	}
	for _, v := range sc.values {
		text = strings.ReplaceAll(text, v, Redacted)
	}
	return text
}
