package truenas

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// AdapterName is the adapter type of every TrueNAS source.
const AdapterName = "truenas"

// API choices for Config.API.
const (
	APIAuto      = "auto"
	APIREST      = "rest"
	APIWebsocket = "websocket"
)

// DefaultTimeout bounds each request (and the websocket handshake) when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config is one TrueNAS system.
type Config struct {
	// Name is the instance name used in observations and logs (default "truenas").
	Name string `yaml:"name"`
	// URL is the system's address: https://nas.lan (both APIs are reached below it) or
	// wss://nas.lan[/api/current] (the websocket API only). Plain http:// and ws:// are refused
	// unless AllowInsecureTransport is set: TrueNAS revokes an API key that arrives unencrypted.
	URL string `yaml:"url"`
	// APIKey is a TrueNAS API key (System > API Keys); a read-only admin's key is enough.
	APIKey secret.Secret `yaml:"api_key" env:"API_KEY"`
	// Username owns the API key. When set, the websocket logs in with auth.login_ex
	// (API_KEY_PLAIN, the 25.04+ way); when empty it uses auth.login_with_api_key, which needs
	// no user name. REST ignores it.
	Username string `yaml:"username"`
	// API is "auto" (default), "rest" or "websocket". auto tries the websocket at /api/current
	// first (the only API from TrueNAS 26 on) and falls back to REST v2.0 when that endpoint
	// does not exist (CORE 13, SCALE before 25.04).
	API string `yaml:"api"`
	// Settings are ca_file, a PEM bundle for a self-signed NAS certificate, and
	// insecure_skip_verify (internal/tlsconfig).
	tlsconfig.Settings `yaml:",inline"`
	// AllowInsecureTransport permits http:// and ws:// URLs with an API key.
	AllowInsecureTransport bool `yaml:"allow_insecure_transport"`
	// Timeout bounds each request (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// Site is an optional site hint for the NAS device.
	Site string `yaml:"site"`
}

// SetDefaults fills the documented defaults.
func (c *Config) SetDefaults() {
	c.Name = cmp.Or(c.Name, AdapterName)
	c.API = cmp.Or(c.API, APIAuto)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
}

// Validate reports every problem, each message starting with the field's yaml path.
func (c Config) Validate() []error {
	var errs []error
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, fmt.Errorf("name: must not be empty"))
	}
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("url: must be set (https://nas.example or wss://nas.example)"))
	} else if _, err := parseEndpoints(c.URL); err != nil {
		errs = append(errs, err)
	} else if u, _ := url.Parse(c.URL); (u.Scheme == "http" || u.Scheme == "ws") && !c.AllowInsecureTransport {
		errs = append(errs, fmt.Errorf("url: %q is not encrypted and TrueNAS revokes an API key sent in clear text: "+
			"use https:// or wss://, or set allow_insecure_transport: true", c.URL))
	}
	if !c.APIKey.IsSet() {
		errs = append(errs, fmt.Errorf("api_key: must be set (or the API_KEY environment variable)"))
	}
	switch c.API {
	case "", APIAuto, APIREST, APIWebsocket:
	default:
		errs = append(errs, fmt.Errorf("api: %q is not one of auto, rest, websocket", c.API))
	}
	if c.API == APIREST && c.URL != "" {
		if u, err := url.Parse(c.URL); err == nil && (u.Scheme == "ws" || u.Scheme == "wss") {
			errs = append(errs, fmt.Errorf("api: \"rest\" does not go with the websocket url %q", c.URL))
		}
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", c.Timeout))
	}
	return errs
}

// endpoints are the two API addresses derived from Config.URL.
type endpoints struct {
	rest      string // https://nas/api/v2.0
	websocket string // wss://nas/api/current
	// websocketOnly is set when the URL named the websocket (ws:// or wss://).
	websocketOnly bool
}

func parseEndpoints(raw string) (endpoints, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return endpoints{}, fmt.Errorf("url: %q: %v", raw, err)
	}
	var secure bool
	switch u.Scheme {
	case "https", "wss":
		secure = true
	case "http", "ws":
	default:
		return endpoints{}, fmt.Errorf("url: %q is not an https://, wss://, http:// or ws:// URL", raw)
	}
	if u.Host == "" {
		return endpoints{}, fmt.Errorf("url: %q has no host", raw)
	}
	if u.User != nil {
		return endpoints{}, fmt.Errorf("url: %q must not carry credentials: use api_key", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return endpoints{}, fmt.Errorf("url: %q must not have a query or fragment", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, suffix := range []string{"/api/current", "/api/v2.0", "/websocket"} {
		p = strings.TrimSuffix(p, suffix)
	}
	httpScheme, wsScheme := "http", "ws"
	if secure {
		httpScheme, wsScheme = "https", "wss"
	}
	return endpoints{
		rest:          httpScheme + "://" + u.Host + p + "/api/v2.0",
		websocket:     wsScheme + "://" + u.Host + p + "/api/current",
		websocketOnly: u.Scheme == "ws" || u.Scheme == "wss",
	}, nil
}
