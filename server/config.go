package server

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

// Config configures the MCP server. The zero value (after SetDefaults) serves stdio only,
// with writes off.
type Config struct {
	// Listen is the streamable-HTTP address ("127.0.0.1:8080"); "" means no HTTP server.
	Listen string `yaml:"listen"`
	// AuthToken is the bearer token HTTP clients must send. Required unless Listen is a
	// loopback address and AllowUnauthenticatedLoopback is set.
	AuthToken                    secret.Secret `yaml:"auth_token" env:"MCP_TOKEN"`
	AllowUnauthenticatedLoopback bool          `yaml:"allow_unauthenticated_loopback"`
	// AllowedOrigins are browser origins ("https://claude.example") allowed besides the
	// server's own; any other Origin header gets 403.
	AllowedOrigins []string `yaml:"allowed_origins"`
	TLSCertFile    string   `yaml:"tls_cert_file"`
	TLSKeyFile     string   `yaml:"tls_key_file"`
	// WritesEnabled lets apply_sync write to NetBox. Off by default.
	WritesEnabled bool `yaml:"writes_enabled"`
	// MaxBodyBytes bounds an HTTP request body (default 1 MiB); larger gets 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ShutdownGrace is how long a shutdown waits for a running apply before cancelling it
	// (default 30s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// Defaults.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultShutdownGrace = 30 * time.Second
)

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, DefaultShutdownGrace)
}

// Validate reports every problem, each starting with its yaml field path.
func (c Config) Validate() []error {
	var errs []error
	if c.Listen != "" {
		loopback, err := isLoopbackListen(c.Listen)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("listen: %q: %w", c.Listen, err))
		case !c.AuthToken.IsSet() && !loopback:
			errs = append(errs, fmt.Errorf("auth_token: required when listen %q is not a loopback address (set MCP_TOKEN)", c.Listen))
		case !c.AuthToken.IsSet() && !c.AllowUnauthenticatedLoopback:
			errs = append(errs, fmt.Errorf("auth_token: required (set MCP_TOKEN), or set allow_unauthenticated_loopback: true to serve %q without authentication", c.Listen))
		}
	}
	for i, o := range c.AllowedOrigins {
		if _, err := normalizeOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("allowed_origins[%d]: %q: %w", i, o, err))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, fmt.Errorf("tls_cert_file: %q and tls_key_file: %q must be set together", c.TLSCertFile, c.TLSKeyFile))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max_body_bytes: %d is negative", c.MaxBodyBytes))
	}
	if c.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("shutdown_grace: %s is negative", c.ShutdownGrace))
	}
	return errs
}

// isLoopbackListen reports whether a listen address binds only loopback. An empty host
// (":8080") binds every interface.
func isLoopbackListen(addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("not host:port: %w", err)
	}
	if port == "" {
		return false, fmt.Errorf("no port")
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	if host == "" {
		return false, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, fmt.Errorf("host %q is neither an IP address nor localhost", host)
	}
	return ip.IsLoopback(), nil
}

// normalizeOrigin returns scheme://host[:port] in lower case.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("not an http(s) origin")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("an origin has only scheme, host and port")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
