package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

// Config is the log section of the config file.
type Config struct {
	// Level: debug, info, warn, error.
	Level string `yaml:"level"`
	// Format: auto (tint on a terminal, JSON otherwise), text (tint), json.
	Format string `yaml:"format"`
}

// Validate names a bad level or format.
func (c Config) Validate() []error {
	var errs []error
	if _, err := parseLevel(c.Level); err != nil {
		errs = append(errs, fmt.Errorf("level: %w", err))
	}
	switch c.Format {
	case "", "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("format: %q is not one of auto, text, json", c.Format))
	}
	return errs
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// New returns a logger writing to w (normally os.Stderr) in the configured format. Every line
// passes through a scrubber holding the configured secrets: a value that reached a message by
// way of a server's error text is still replaced.
func New(cfg Config, w io.Writer, scrub *secret.Scrubber) *slog.Logger {
	level, err := parseLevel(cfg.Level)
	if err != nil {
		level = slog.LevelInfo
	}
	out := &scrubWriter{w: w, scrub: scrub}
	var h slog.Handler
	format := cfg.Format
	if format == "" || format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "text" {
		h = tint.NewHandler(out, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)})
	} else {
		h = slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})
	}
	return slog.New(h)
}

func isTerminal(w io.Writer) bool {
	// A wrapper (a writer that serialises writes) says what it wraps.
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// IsTerminal reports whether w is a terminal (a character device, or a wrapper saying so).
func IsTerminal(w io.Writer) bool { return isTerminal(w) }

// scrubWriter replaces secret values in each formatted record before it is written.
type scrubWriter struct {
	w     io.Writer
	scrub *secret.Scrubber
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	if s.scrub == nil {
		return s.w.Write(p)
	}
	if _, err := io.WriteString(s.w, s.scrub.Scrub(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
