package proxmox

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// AdapterName is the adapter type in observations and config.
const AdapterName = "proxmox"

// ClusterType is the NetBox cluster type of every Proxmox cluster.
const ClusterType = "Proxmox VE"

// Defaults for zero config values.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 8
	maxConcurrency     = 64
)

// Config configures one Proxmox VE cluster (or standalone node).
type Config struct {
	// Name is the instance name used in observations and logs (default "proxmox").
	Name string `yaml:"name"`
	// URL of any node of the cluster: "https://pve1.lan:8006" ("/api2/json" is appended when
	// missing). Plain http is accepted only for loopback addresses (simulators): PVE itself
	// serves https only.
	URL string `yaml:"url"`
	// TokenID is the API token id, "user@realm!tokenid".
	TokenID string `yaml:"token_id"`
	// TokenSecret is the token's UUID secret.
	TokenSecret secret.Secret `yaml:"token_secret" env:"TOKEN_SECRET"`
	// Settings are ca_file, a PEM bundle to verify the cluster's certificate with (e.g. a copy
	// of /etc/pve/pve-root-ca.pem), and insecure_skip_verify (internal/tlsconfig).
	tlsconfig.Settings `yaml:",inline"`
	// Timeout bounds each API request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many API requests run at once (default 8, at most 64).
	Concurrency int `yaml:"concurrency"`
	// IncludeTemplates reports VM and container templates too (default false).
	IncludeTemplates bool `yaml:"include_templates"`
	// ClusterName names a standalone node's "cluster" (the API reports none); default: the
	// node's name. Ignored when the API reports a cluster name.
	ClusterName string `yaml:"cluster_name"`
}

// SetDefaults fills zero values.
func (c *Config) SetDefaults() {
	c.Name = cmp.Or(c.Name, AdapterName)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
}

var (
	tokenIDPattern  = regexp.MustCompile(`^[^\s@!:=]+@[^\s@!:=]+![A-Za-z][A-Za-z0-9._-]*$`)
	namePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	clusterNameOkay = regexp.MustCompile(`^[^/\s][^/]*$`)
)

// Validate checks the config after SetDefaults; each error starts with the field path.
func (c Config) Validate() []error {
	var errs []error
	if !namePattern.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("name: %q must be letters, digits, '.', '_' or '-'", c.Name))
	}
	if err := validateURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	switch {
	case c.TokenID == "":
		errs = append(errs, fmt.Errorf("token_id: missing (want user@realm!tokenid)"))
	case !tokenIDPattern.MatchString(c.TokenID):
		errs = append(errs, fmt.Errorf("token_id: %q is not of the form user@realm!tokenid", c.TokenID))
	}
	if !c.TokenSecret.IsSet() {
		errs = append(errs, fmt.Errorf("token_secret: missing (set it in the config or the TOKEN_SECRET environment variable)"))
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout: %s must be positive", c.Timeout))
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		errs = append(errs, fmt.Errorf("concurrency: %d must be between 1 and %d", c.Concurrency, maxConcurrency))
	}
	if c.ClusterName != "" && !clusterNameOkay.MatchString(c.ClusterName) {
		errs = append(errs, fmt.Errorf("cluster_name: %q must not contain '/' or start with a space", c.ClusterName))
	}
	return errs
}

func validateURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("url: missing (want https://host:8006)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("url: %q is not an http(s) URL", raw)
	case u.Host == "":
		return fmt.Errorf("url: %q has no host", raw)
	case u.User != nil:
		return fmt.Errorf("url: %q must not carry credentials: use token_id and token_secret", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("url: %q must not have a query or fragment", u.Redacted())
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return fmt.Errorf("url: %q: plain http would send the API token in clear; Proxmox VE serves https on port 8006", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// apiBase returns the URL with "/api2/json" and no trailing slash.
func apiBase(raw string) string {
	u := strings.TrimRight(raw, "/")
	if !strings.HasSuffix(u, "/api2/json") {
		u += "/api2/json"
	}
	return u
}
