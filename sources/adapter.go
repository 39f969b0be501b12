package sources

import (
	"errors"
	"log/slog"
)

// Configurable is what every adapter's Config offers (pointer receiver).
type Configurable interface {
	SetDefaults()
	Validate() []error
}

// Configure fills cfg's defaults and validates it: the start of every adapter's New, so a
// source built without the config loader is checked the same way. The error joins every
// problem found.
func Configure(cfg Configurable) error {
	cfg.SetDefaults()
	return errors.Join(cfg.Validate()...)
}

// AdapterLogger is logger (nil: discard) with the attributes that name a source instance in
// every line it logs.
func AdapterLogger(logger *slog.Logger, source, adapter string) *slog.Logger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logger.With("source", source, "adapter", adapter)
}
