package netscan

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Profile is what a scan looks for.
type Profile string

const (
	// ProfilePing finds live hosts only (nmap -sn).
	ProfilePing Profile = "ping"
	// ProfilePorts also checks the configured ports.
	ProfilePorts Profile = "ports"
	// ProfileServices also asks open ports what they run (nmap -sV).
	ProfileServices Profile = "services"
	// ProfileOS adds OS detection (nmap -O), which needs raw sockets (root or CAP_NET_RAW).
	ProfileOS Profile = "os"
)

// Privilege says whether nmap may use raw sockets: "auto" (detect root or CAP_NET_RAW),
// "true" or "false". YAML booleans are accepted.
type Privilege string

// Privilege values.
const (
	PrivilegeAuto  Privilege = "auto"
	PrivilegeTrue  Privilege = "true"
	PrivilegeFalse Privilege = "false"
)

// Defaults.
const (
	DefaultName        = "netscan"
	DefaultMaxHosts    = 1024
	DefaultHostTimeout = 5 * time.Minute
	DefaultTimeout     = 30 * time.Minute
)

// DefaultPorts are checked by the ports, services and os profiles when none are configured:
// what a homelab usually runs.
var defaultPorts = []string{"22", "53", "80", "443", "445", "2049", "3306", "5432", "8006", "8080", "8123", "8443", "9100"}

// Config configures one netscan instance.
type Config struct {
	// Name is the instance name; default "netscan".
	Name string `yaml:"name"`
	// AllowedNetworks bounds every scan; required: there is no default that allows anything.
	AllowedNetworks []string `yaml:"allowed_networks"`
	// MaxHosts caps the number of addresses in one scan; default 1024.
	MaxHosts int `yaml:"max_hosts"`
	// Targets are scanned by Discover (the scheduled or --run-once pipeline).
	Targets []string `yaml:"targets"`
	// Profile is ping, ports, services or os; default ping.
	Profile Profile `yaml:"profile"`
	// Ports checked by the ports/services/os profiles ("22", "8000-8100"); default a homelab list.
	Ports []string `yaml:"ports"`
	// Privileged is auto, true or false; default auto.
	Privileged Privilege `yaml:"privileged"`
	// HostTimeout gives up on one host after this long (nmap --host-timeout); default 5m.
	HostTimeout time.Duration `yaml:"host_timeout"`
	// Timeout bounds a whole scan; default 30m.
	Timeout time.Duration `yaml:"timeout"`
	// NmapPath is the nmap binary; default "nmap" from PATH.
	NmapPath string `yaml:"nmap_path"`
	// ReverseDNS looks up PTR names of live hosts; default true (nil).
	ReverseDNS *bool `yaml:"reverse_dns"`
}

// SetDefaults fills the zero values with defaults.
func (c *Config) SetDefaults() {
	c.Name = cmp.Or(c.Name, DefaultName)
	c.MaxHosts = cmp.Or(c.MaxHosts, DefaultMaxHosts)
	c.Profile = cmp.Or(c.Profile, ProfilePing)
	if len(c.Ports) == 0 {
		c.Ports = append([]string(nil), defaultPorts...)
	}
	c.Privileged = cmp.Or(c.Privileged, PrivilegeAuto)
	c.HostTimeout = cmp.Or(c.HostTimeout, DefaultHostTimeout)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	if c.ReverseDNS == nil {
		t := true
		c.ReverseDNS = &t
	}
}

// Validate checks the config; each error starts with the field path.
func (c Config) Validate() []error {
	var errs []error
	if strings.TrimSpace(c.Name) == "" {
		errs = append(errs, fmt.Errorf("name: empty"))
	}
	if len(c.AllowedNetworks) == 0 {
		errs = append(errs, fmt.Errorf("allowed_networks: required: list the networks scans may touch"))
	}
	allowed, perr := parseAllowed(c.AllowedNetworks)
	errs = append(errs, perr...)
	if c.MaxHosts < 1 {
		errs = append(errs, fmt.Errorf("max_hosts: %d is not a positive number", c.MaxHosts))
	}
	if len(c.Targets) > 0 && len(perr) == 0 && len(allowed) > 0 && c.MaxHosts > 0 {
		if _, err := ParseTargets(c.Targets, allowed, c.MaxHosts); err != nil {
			errs = append(errs, fmt.Errorf("targets: %w", err))
		}
	}
	if _, err := ParseProfile(string(c.Profile)); err != nil {
		errs = append(errs, fmt.Errorf("profile: %w", err))
	}
	if _, err := PortList(c.Ports); err != nil {
		errs = append(errs, fmt.Errorf("ports: %w", err))
	}
	switch c.Privileged {
	case "", PrivilegeAuto, PrivilegeTrue, PrivilegeFalse:
	default:
		errs = append(errs, fmt.Errorf("privileged: %q is not auto, true or false", c.Privileged))
	}
	if c.HostTimeout < 0 {
		errs = append(errs, fmt.Errorf("host_timeout: %s is negative", c.HostTimeout))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: %s is negative", c.Timeout))
	}
	return errs
}

func parseAllowed(nets []string) ([]netip.Prefix, []error) {
	var out []netip.Prefix
	var errs []error
	for i, s := range nets {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("allowed_networks[%d]: %q is not a CIDR", i, s))
			continue
		}
		if p.Bits() == 0 {
			errs = append(errs, fmt.Errorf("allowed_networks[%d]: %q allows every address: list real networks", i, s))
			continue
		}
		out = append(out, p.Masked())
	}
	return out, errs
}

// ParseProfile checks a profile name; "" is ping.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return ProfilePing, nil
	case ProfilePing, ProfilePorts, ProfileServices, ProfileOS:
		return p, nil
	default:
		return "", fmt.Errorf("%q is not ping, ports, services or os", s)
	}
}

// PortList parses ports ("22", "8000-8100") and returns them rebuilt as one nmap -p value,
// so no user text reaches nmap's command line.
func PortList(ports []string) (string, error) {
	var out []string
	for _, raw := range ports {
		for _, item := range strings.Split(raw, ",") {
			item = strings.TrimSpace(item)
			lo, hi, isRange := strings.Cut(item, "-")
			a, err := parsePort(lo)
			if err != nil {
				return "", fmt.Errorf("%q: %w", raw, err)
			}
			if !isRange {
				out = append(out, strconv.Itoa(a))
				continue
			}
			b, err := parsePort(hi)
			if err != nil {
				return "", fmt.Errorf("%q: %w", raw, err)
			}
			if b < a {
				return "", fmt.Errorf("%q: range end before start", raw)
			}
			out = append(out, strconv.Itoa(a)+"-"+strconv.Itoa(b))
		}
	}
	return strings.Join(out, ","), nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port 1-65535", s)
	}
	return n, nil
}

// UnmarshalYAML accepts booleans as well as "auto", "true", "false".
func (p *Privilege) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	*p = Privilege(strings.ToLower(strings.TrimSpace(s)))
	return nil
}
