package sync

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Config holds the mapping rules, ownership and orphan policy of the sync engine.
// Zero values are filled by SetDefaults.
type Config struct {
	// Instance names this agent when several share one NetBox (one per site or per source
	// scope): ownership records carry it, and an agent never writes, marks stale or deletes
	// what another instance owns; an object two instances both see is a conflict in the plan
	// of the one that does not own it. Empty (the default): a single agent, records as
	// earlier versions wrote them.
	Instance string `yaml:"instance"`
	// Tag marks every object the agent created or adopted (default "netbox-agent").
	Tag string `yaml:"tag"`
	// StaleTag marks owned objects no source sees any more (default "netbox-agent-stale").
	StaleTag string `yaml:"stale_tag"`
	// CustomField is the JSON custom field holding the agent's ownership record
	// (default "netbox_agent").
	CustomField string `yaml:"custom_field"`

	// Site is the one site everything goes to unless a rule below says otherwise
	// (default "Homelab"). The agent never creates one site per node, area or subnet unless
	// the rules ask for it.
	Site string `yaml:"site"`
	// SitePerSource maps a source instance (or adapter) name to a site.
	SitePerSource map[string]string `yaml:"site_per_source"`
	// SitePerSubnet maps a prefix to a site; the first rule holding one of the entity's IPs wins.
	SitePerSubnet []SubnetSite `yaml:"site_per_subnet"`
	// UseSiteHints uses a source's own site hint (Facts.Site) as the site name.
	UseSiteHints bool `yaml:"use_site_hints"`
	// Locations maps a source's location hint (a Home Assistant area, an inventory column) to
	// a NetBox location inside the device's site, created when missing. Off by default.
	Locations bool `yaml:"locations"`

	// Roles maps role hints ("hypervisor", "nas") to NetBox device role names; the first rule
	// matching wins. Hints without a rule are title-cased.
	Roles []RoleRule `yaml:"roles"`
	// DefaultRole is the role of a device without a hint (default "Server").
	DefaultRole string `yaml:"default_role"`
	// ManufacturerAliases maps lower-case spellings to one manufacturer name
	// (built in: ubnt -> Ubiquiti, hp -> HPE, ...).
	ManufacturerAliases map[string]string `yaml:"manufacturer_aliases"`
	// UnknownManufacturer and UnknownModel name the device type of devices no source gave a
	// model for (defaults "Generic", "Unknown").
	UnknownManufacturer string `yaml:"unknown_manufacturer"`
	UnknownModel        string `yaml:"unknown_model"`
	// DefaultClusterType is the cluster type of clusters no source typed (default "Virtual").
	DefaultClusterType string `yaml:"default_cluster_type"`

	// Hosts says what an entity seen only on the network (nmap, DHCP, hosts files; inventory
	// rows without kind and without hardware facts) becomes: "ip" (default: an IP address
	// object, nothing more; its MACs and services are listed in the plan as not written) or
	// "device" (a device with role HostRole and the unknown device type).
	Hosts string `yaml:"hosts"`
	// HostRole is the device role of hosts when Hosts is "device" (default "Unknown").
	HostRole string `yaml:"host_role"`

	// Authoritative lists, per field, sources (instance or adapter names) whose value
	// overwrites even a person's later edit. Fields: name, status, role, site, platform,
	// serial, description, vcpus, memory, disk, device_type.
	Authoritative map[string][]string `yaml:"authoritative"`
	// Adopt says what the agent writes on objects it did not create but matched by a strong
	// key: "fill_empty" (default) or "overwrite".
	Adopt string `yaml:"adopt"`
	// LastSeenRefresh is how old last_seen may get before an unchanged object is written just
	// to refresh it (default 24h). A shorter value means more writes on quiet runs.
	LastSeenRefresh time.Duration `yaml:"last_seen_refresh"`

	Orphans OrphanConfig `yaml:"orphans"`

	// FullReadEvery is how often a plan reads every object from NetBox (default 24h). In
	// between, the engine keeps its copy of NetBox up to date from NetBox's change log and
	// reads again only the objects changed since the last run: a no-change run of a large
	// estate costs NetBox a few requests instead of reading it all. A change the change log
	// does not show (a database restore, rows edited in SQL) is caught by the next full read.
	FullReadEvery time.Duration `yaml:"full_read_every"`
	// FullReadAlways reads every object for every plan (as the agent did before it followed
	// the change log).
	FullReadAlways bool `yaml:"full_read_always"`
	// CacheFile keeps the engine's copy of NetBox across processes (the state directory's
	// snapshot cache; set by the program, not the config file). Empty: in memory only.
	CacheFile string `yaml:"-"`
	// CacheKey names the NetBox the cache belongs to (its URL); a cache of another is unused.
	CacheKey string `yaml:"-"`
}

// SubnetSite puts entities with an IP in Prefix into Site.
type SubnetSite struct {
	Prefix string `yaml:"prefix"`
	Site   string `yaml:"site"`
}

// RoleRule maps entities to a device role. Empty match fields match anything.
type RoleRule struct {
	Hint   string `yaml:"hint"`   // the source's role hint, case-insensitive
	Source string `yaml:"source"` // a source instance or adapter name
	Kind   string `yaml:"kind"`   // device, virtual_machine or host
	Role   string `yaml:"role"`   // the NetBox device role name
}

// OrphanConfig is what happens to owned objects no successful source sees any more.
type OrphanConfig struct {
	// Delete turns on deletion of stale objects after Grace (default off: mark stale only).
	Delete bool `yaml:"delete"`
	// Grace is how long an object stays stale before it may be deleted (default 720h).
	Grace time.Duration `yaml:"grace"`
	// MaxDeleteShare refuses every delete of a run that would delete more than this share of
	// the objects the agent owns (default 0.2).
	MaxDeleteShare float64 `yaml:"max_delete_share"`
}

var builtinManufacturerAliases = map[string]string{
	"ubnt": "Ubiquiti", "ubiquiti networks": "Ubiquiti", "ubiquiti inc.": "Ubiquiti",
	"hp": "HPE", "hewlett-packard": "HPE", "hewlett packard enterprise": "HPE",
	"dell inc.": "Dell", "dell inc": "Dell", "supermicro": "Supermicro", "super micro computer, inc.": "Supermicro",
	"intel corporation": "Intel", "lenovo": "Lenovo", "asustek computer inc.": "ASUS",
	"tp-link": "TP-Link", "raspberry pi foundation": "Raspberry Pi", "raspberry pi ltd": "Raspberry Pi",
	"qemu": "QEMU", "ixsystems": "iXsystems", "ixsystems, inc.": "iXsystems",
}

// SetDefaults fills unset fields with the documented defaults.
func (c *Config) SetDefaults() {
	c.Tag = cmp.Or(c.Tag, "netbox-agent")
	c.StaleTag = cmp.Or(c.StaleTag, "netbox-agent-stale")
	c.CustomField = cmp.Or(c.CustomField, "netbox_agent")
	c.Site = cmp.Or(c.Site, "Homelab")
	c.DefaultRole = cmp.Or(c.DefaultRole, "Server")
	c.UnknownManufacturer = cmp.Or(c.UnknownManufacturer, "Generic")
	c.UnknownModel = cmp.Or(c.UnknownModel, "Unknown")
	c.DefaultClusterType = cmp.Or(c.DefaultClusterType, "Virtual")
	c.Hosts = cmp.Or(c.Hosts, "ip")
	c.HostRole = cmp.Or(c.HostRole, "Unknown")
	c.Adopt = cmp.Or(c.Adopt, "fill_empty")
	c.LastSeenRefresh = cmp.Or(c.LastSeenRefresh, 24*time.Hour)
	c.FullReadEvery = cmp.Or(c.FullReadEvery, 24*time.Hour)
	c.Orphans.Grace = cmp.Or(c.Orphans.Grace, 720*time.Hour)
	c.Orphans.MaxDeleteShare = cmp.Or(c.Orphans.MaxDeleteShare, 0.2)
}

var authoritativeFields = []string{"name", "status", "role", "site", "platform", "serial",
	"description", "vcpus", "memory", "disk", "device_type", "cluster", "location"}

// Validate reports every bad setting, each message starting with its yaml path.
func (c Config) Validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Instance != "" && !validInstance(c.Instance) {
		bad("instance: %q is not an instance name (1 to 63 characters: letters, digits, '.', '_', '-'; starting with a letter or digit)", c.Instance)
	}
	if c.CustomField != "" && !validCFName(c.CustomField) {
		bad("custom_field: %q is not a NetBox custom field name (lower case letters, digits, _; no __)", c.CustomField)
	}
	if c.Tag != "" && c.Tag == c.StaleTag {
		bad("stale_tag: %q must differ from tag", c.StaleTag)
	}
	for i, r := range c.SitePerSubnet {
		if _, err := netip.ParsePrefix(r.Prefix); err != nil {
			bad("site_per_subnet[%d].prefix: %q is not a prefix", i, r.Prefix)
		}
		if strings.TrimSpace(r.Site) == "" {
			bad("site_per_subnet[%d].site: empty site name", i)
		}
	}
	for i, r := range c.Roles {
		if strings.TrimSpace(r.Role) == "" {
			bad("roles[%d].role: empty role name", i)
		}
		if r.Kind != "" && !slices.Contains([]string{"device", "virtual_machine", "host"}, r.Kind) {
			bad("roles[%d].kind: %q is not device, virtual_machine or host", i, r.Kind)
		}
	}
	if c.Hosts != "" && c.Hosts != "ip" && c.Hosts != "device" {
		bad("hosts: %q is not ip or device", c.Hosts)
	}
	if c.Adopt != "" && c.Adopt != "fill_empty" && c.Adopt != "overwrite" {
		bad("adopt: %q is not fill_empty or overwrite", c.Adopt)
	}
	for f := range c.Authoritative {
		if !slices.Contains(authoritativeFields, f) {
			bad("authoritative.%s: unknown field (want one of %s)", f, strings.Join(authoritativeFields, ", "))
		}
	}
	if c.LastSeenRefresh < 0 {
		bad("last_seen_refresh: %s is negative", c.LastSeenRefresh)
	}
	if c.FullReadEvery < 0 {
		bad("full_read_every: %s is negative (full_read_always: true reads everything every run)", c.FullReadEvery)
	}
	if c.Orphans.Grace < 0 {
		bad("orphans.grace: %s is negative", c.Orphans.Grace)
	}
	if c.Orphans.MaxDeleteShare < 0 || c.Orphans.MaxDeleteShare > 1 {
		bad("orphans.max_delete_share: %v is not between 0 and 1", c.Orphans.MaxDeleteShare)
	}
	return errs
}

func validCFName(s string) bool {
	if strings.Contains(s, "__") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}

// validInstance keeps instance names short and plain: they go into every ownership record and
// into conflict messages people read.
func validInstance(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || r != '.' && r != '_' && r != '-') {
			return false
		}
	}
	return true
}
