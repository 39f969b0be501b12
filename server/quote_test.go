package server

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuoteArg(t *testing.T) {
	cases := []struct {
		name, in  string
		want      []string
		maxLength int
	}{
		{"short value quoted whole", "10.0.0.1/33", []string{`"10.0.0.1/33"`}, 20},
		{"900 KiB value elided with its size", strings.Repeat("a", 900<<10) + "END", []string{`"aaaa`, `END"`, "(921603 bytes)"}, 200},
		{"multi-byte runes cut cleanly", strings.Repeat("é", 500), []string{"(1000 bytes)"}, 220},
		{"three-byte runes cut cleanly", strings.Repeat("€", 500), []string{"(1500 bytes)"}, 220},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := quoteArg(tc.in)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("quoteArg = %.80q…, want it to contain %q", got, w)
				}
			}
			if len(got) > tc.maxLength {
				t.Errorf("quoteArg gave %d bytes, want at most %d", len(got), tc.maxLength)
			}
			if !utf8.ValidString(got) || strings.ContainsRune(got, utf8.RuneError) {
				t.Errorf("quoteArg = %q: broken rune", got)
			}
		})
	}
}
