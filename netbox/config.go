package netbox

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// Defaults chosen from BenchmarkBulkCreate / BenchmarkSnapshot (see the package tests) and from
// what a real NetBox tolerates: a batch of 200 devices takes a few seconds there, well inside the
// timeout, and 4 requests in flight match a small NetBox's worker count.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultRPS         = 100
	DefaultMaxInFlight = 4
	DefaultBatchSize   = 200
	DefaultRetries     = 4
	// MaxPageSize is NetBox's MAX_PAGE_SIZE default: the largest page a list request returns.
	MaxPageSize = 1000
)

// Config is the netbox section of the agent's configuration.
type Config struct {
	// URL of NetBox, e.g. https://netbox.example.com (a trailing /api is accepted).
	URL string `yaml:"url"`
	// Token is a v1 token (sent as "Token x") or a v2 token nbt_<key>.<secret> (sent as "Bearer").
	Token secret.Secret `yaml:"token" env:"NETBOX_TOKEN"`
	// Settings are ca_file and insecure_skip_verify (internal/tlsconfig).
	tlsconfig.Settings `yaml:",inline"`
	// Timeout bounds one HTTP request (each attempt). Default 60s.
	Timeout time.Duration `yaml:"timeout"`
	// RequestsPerSecond is the client-side rate limit. 0 means the default (100); negative
	// means unlimited.
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	// MaxInFlight bounds concurrent requests to NetBox. Default 4.
	MaxInFlight int `yaml:"max_in_flight"`
	// BatchSize is the number of objects per bulk write request. Default 200, at most 1000.
	BatchSize int `yaml:"batch_size"`
	// Retries is how often a failed request is retried (429, 502-504, connection errors).
	// 0 means the default (4); negative disables retries.
	Retries int `yaml:"retries"`
	// DisableRemainderRetry stops the client from resending the valid objects of a rejected
	// batch as a new batch; they are then reported with ErrBatchRejected.
	DisableRemainderRetry bool `yaml:"disable_remainder_retry"`
}

// SetDefaults fills zero values with the defaults.
func (c *Config) SetDefaults() {
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.RequestsPerSecond = cmp.Or(c.RequestsPerSecond, DefaultRPS)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultMaxInFlight)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.Retries = cmp.Or(c.Retries, DefaultRetries)
}

// Validate reports every problem; messages start with the yaml field name and never contain
// the token.
func (c Config) Validate() []error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, errors.New("url: is required"))
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url: %q is not an http(s) URL", redactURL(c.URL)))
	} else if u.User != nil {
		errs = append(errs, fmt.Errorf("url: %q must not carry credentials; use token", redactURL(c.URL)))
	} else if u.RawQuery != "" {
		errs = append(errs, fmt.Errorf("url: %q must not have a query", redactURL(c.URL)))
	}
	if !c.Token.IsSet() {
		errs = append(errs, errors.New("token: is required (set it in the file or NETBOX_TOKEN)"))
	} else if strings.ContainsAny(c.Token.Reveal(), " \t\r\n") {
		errs = append(errs, errors.New("token: contains whitespace"))
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", c.Timeout))
	}
	if c.MaxInFlight < 0 || c.MaxInFlight > 64 {
		errs = append(errs, fmt.Errorf("max_in_flight: %d is not between 1 and 64", c.MaxInFlight))
	}
	if c.BatchSize < 0 || c.BatchSize > MaxPageSize {
		errs = append(errs, fmt.Errorf("batch_size: %d is not between 1 and %d", c.BatchSize, MaxPageSize))
	}
	if c.Retries > 20 {
		errs = append(errs, fmt.Errorf("retries: %d is more than 20", c.Retries))
	}
	return errs
}

// redactURL drops userinfo and query from a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
