package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

func TestJSONWhenNotATerminalAndScrubbed(t *testing.T) {
	const canary = "canary-0f9e8d7c"
	var buf bytes.Buffer
	l := New(Config{Level: "debug"}, &buf, secret.NewScrubber(secret.New(canary)))
	l.Debug("request failed", "err", errors.New("GET https://pve/api?token="+canary+": 401"), "token", secret.New(canary))
	line := buf.String()
	if strings.Contains(line, canary) {
		t.Fatalf("secret in log: %s", line)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("not JSON: %q", line)
	}
	if rec["level"] != "DEBUG" || !strings.Contains(rec["err"].(string), secret.Redacted) {
		t.Fatalf("record = %v", rec)
	}
}

func TestLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	l := New(Config{Level: "warn", Format: "text"}, &buf, nil)
	l.Info("hidden")
	l.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Fatalf("got %q", buf.String())
	}
}

func TestValidate(t *testing.T) {
	errs := Config{Level: "loud", Format: "xml"}.Validate()
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), `level: "loud"`) || !strings.Contains(errs[1].Error(), `format: "xml"`) {
		t.Fatalf("errs = %v", errs)
	}
}

type ttyWrapper struct {
	bytes.Buffer
	tty bool
}

func (w *ttyWrapper) IsTerminal() bool { return w.tty }

// A wrapper that says it writes to a terminal gets the text format under "auto"; one that
// does not gets JSON.
func TestAutoFormatSeesThroughWrappers(t *testing.T) {
	for _, tty := range []bool{true, false} {
		w := &ttyWrapper{tty: tty}
		New(Config{Format: "auto"}, w, nil).Info("hello")
		isJSON := strings.HasPrefix(w.String(), "{")
		if isJSON == tty {
			t.Errorf("tty=%v: wrote %q", tty, w.String())
		}
	}
}
