package homeassistant

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/internal/tlsconfig"
)

// AdapterName is the adapter type, and the default instance name.
const AdapterName = "homeassistant"

// Defaults.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultMaxMessageBytes bounds one websocket message. Registries of large homes exceed 4 MiB
	// in one message (coder/websocket's own default is 32 KiB).
	DefaultMaxMessageBytes = 64 << 20
)

// Tracker modes (Config.Trackers).
const (
	// TrackersAll reports every router device tracker: "home" ones as active with their IP,
	// the others as offline without an IP (a DHCP address of an absent client is stale).
	TrackersAll = "all"
	// TrackersHome reports only trackers whose state is "home".
	TrackersHome = "home"
	// TrackersNone reports no trackers.
	TrackersNone = "none"
)

// Config is one Home Assistant instance. In YAML:
//
//	name: ha-main
//	url: https://homeassistant.lan:8123
//	token: ...              # or the TOKEN environment variable
//	ca_file: /etc/ssl/ha-ca.pem
//	timeout: 30s
//	site: Home              # areas become locations under this NetBox site
//	include:
//	  integrations: [unifi, hue, shelly]
//	exclude:
//	  areas: [Garage]
//	trackers: all           # all | home | none
//	include_without_network: false  # true: also sensors without MAC or IP, role "IoT Device"
type Config struct {
	// Name is the instance name used in observations and logs (default "homeassistant").
	Name string `yaml:"name"`
	// URL is the base URL of Home Assistant ("http://homeassistant.local:8123"); a path prefix
	// from a reverse proxy is kept.
	URL string `yaml:"url"`
	// Token is a long-lived access token (profile page, "Long-lived access tokens"). The
	// commands and paths read need no administrator.
	Token secret.Secret `yaml:"token" env:"TOKEN"`
	// Settings are ca_file and insecure_skip_verify (internal/tlsconfig).
	tlsconfig.Settings `yaml:",inline"`
	// Timeout bounds each request and each websocket step (default 30s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxMessageBytes bounds one websocket message (default 64 MiB).
	MaxMessageBytes int64 `yaml:"max_message_bytes"`
	// Site is the NetBox site the instance's devices go under; areas become locations in it.
	Site string `yaml:"site"`
	// Include keeps only what matches every non-empty list; Exclude drops what matches any list.
	Include Filter `yaml:"include"`
	Exclude Filter `yaml:"exclude"`
	// IncludeServices also reports entry_type "service" devices (integrations' virtual devices).
	IncludeServices bool `yaml:"include_services"`
	// IncludeDisabled also reports devices disabled in Home Assistant (status offline).
	IncludeDisabled bool `yaml:"include_disabled"`
	// Trackers is "all" (default), "home" or "none"; see the Trackers* constants.
	Trackers string `yaml:"trackers"`
	// IncludeWithoutNetwork also reports devices with neither a MAC nor an IP (Zigbee, Z-Wave,
	// Bluetooth sensors), with the role hint "IoT Device". Off by default: they are not on
	// the network NetBox documents, and are counted as skipped ("no network identity").
	IncludeWithoutNetwork bool `yaml:"include_without_network"`
}

// Filter selects devices and trackers. Matching is case-insensitive and exact.
type Filter struct {
	// Integrations are integration domains ("hue", "unifi"). A device's integrations are the
	// domains of its identifiers plus the platforms of its entities; a tracker's are its own
	// entity's platform plus its device's integrations.
	Integrations []string `yaml:"integrations"`
	// Manufacturers as Home Assistant reports them ("Signify Netherlands B.V.").
	Manufacturers []string `yaml:"manufacturers"`
	// Areas by area id ("living_room") or name ("Living Room").
	Areas []string `yaml:"areas"`
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	c.Name = cmp.Or(c.Name, AdapterName)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxMessageBytes = cmp.Or(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.Trackers = cmp.Or(c.Trackers, TrackersAll)
}

// Validate reports every problem; each message starts with the field path. Zero values that
// SetDefaults fills are accepted.
func (c Config) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.ContainsAny(c.Name, "/ \t\n") {
		add("name: %q must not contain '/' or spaces (it prefixes native ids)", c.Name)
	}
	if c.URL == "" {
		add("url: required (for example http://homeassistant.local:8123)")
	} else if u, err := url.Parse(c.URL); err != nil {
		add("url: %q is not a URL: %v", redactURL(c.URL), err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			add("url: %q is not an http(s) URL", redactURL(c.URL))
		case u.Host == "":
			add("url: %q has no host", redactURL(c.URL))
		case u.User != nil:
			add("url: %q must not carry credentials: put the token in token (or the TOKEN environment variable)", redactURL(c.URL))
		case u.RawQuery != "" || u.Fragment != "":
			add("url: %q must not have a query or fragment", redactURL(c.URL))
		}
	}
	if !c.Token.IsSet() {
		add("token: required: a long-lived access token (set token or the TOKEN environment variable)")
	}
	if err := c.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.CAFile != "" {
		if c.InsecureSkipVerify {
			add("insecure_skip_verify: true makes ca_file %q pointless: set one of them", c.CAFile)
		}
	}
	if c.Timeout < 0 {
		add("timeout: %s is negative", c.Timeout)
	}
	if c.MaxMessageBytes < 0 || (c.MaxMessageBytes > 0 && c.MaxMessageBytes < 1<<20) {
		add("max_message_bytes: %d is below 1 MiB (registries of large homes exceed 4 MiB)", c.MaxMessageBytes)
	}
	if c.Trackers != "" && !slices.Contains([]string{TrackersAll, TrackersHome, TrackersNone}, c.Trackers) {
		add("trackers: %q is not one of all, home, none", c.Trackers)
	}
	errs = append(errs, c.Include.validate("include")...)
	errs = append(errs, c.Exclude.validate("exclude")...)
	return errs
}

func (f Filter) validate(path string) []error {
	var errs []error
	for name, list := range map[string][]string{"integrations": f.Integrations, "manufacturers": f.Manufacturers, "areas": f.Areas} {
		for i, v := range list {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("%s.%s[%d]: empty value", path, name, i))
			}
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// redactURL drops user info from a URL meant for a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		at, scheme := strings.LastIndex(raw, "@"), strings.Index(raw, "//")
		if scheme >= 0 && at > scheme {
			return raw[:scheme+2] + raw[at+1:]
		}
		return raw
	}
	if u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
