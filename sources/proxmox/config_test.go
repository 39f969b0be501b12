package proxmox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/secret"
)

func TestConfigYAML(t *testing.T) {
	const doc = `
name: pve-lab
url: https://pve1.lan:8006
token_id: netbox@pve!agent
token_secret: 0b6e6c1f-aaaa-bbbb-cccc-0123456789ab
ca_file: ""
timeout: 45s
concurrency: 12
include_templates: true
cluster_name: home
`
	var c Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if c.Name != "pve-lab" || c.Timeout != 45*time.Second || c.Concurrency != 12 || !c.IncludeTemplates ||
		c.ClusterName != "home" || c.TokenSecret.Reveal() != "0b6e6c1f-aaaa-bbbb-cccc-0123456789ab" {
		t.Errorf("decoded %+v", c)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("validate: %v", errs)
	}
	out, err := yaml.Marshal(c)
	if err != nil || strings.Contains(string(out), c.TokenSecret.Reveal()) {
		t.Errorf("marshalled config leaks the secret: %s %v", out, err)
	}
}

func validConfig() Config {
	return Config{URL: "https://pve1.lan:8006", TokenID: "netbox@pve!agent", TokenSecret: secret.New("0b6e6c1f-aaaa-bbbb-cccc-0123456789ab")}
}

func TestConfigDefaults(t *testing.T) {
	c := validConfig()
	c.SetDefaults()
	if c.Name != "proxmox" || c.Timeout != DefaultTimeout || c.Concurrency != DefaultConcurrency || c.InsecureSkipVerify || c.IncludeTemplates {
		t.Errorf("defaults %+v", c)
	}
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("valid config: %v", errs)
	}
	if got := apiBase("https://pve:8006/"); got != "https://pve:8006/api2/json" {
		t.Errorf("apiBase %q", got)
	}
	if got := apiBase("https://pve:8006/api2/json"); got != "https://pve:8006/api2/json" {
		t.Errorf("apiBase %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("-----BEGIN NOTHING-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"ftp url", func(c *Config) { c.URL = "ftp://x" }, `url: "ftp://x" is not an http(s) URL`},
		{"no url", func(c *Config) { c.URL = "" }, "url: missing"},
		{"plain http to a remote host", func(c *Config) { c.URL = "http://pve1.lan:8006" }, `url: "http://pve1.lan:8006": plain http`},
		{"credentials in url", func(c *Config) { c.URL = "https://root:hunter22@pve1:8006" }, "url: \"https://root:xxxxx@pve1:8006\" must not carry credentials"},
		{"token id without token name", func(c *Config) { c.TokenID = "root@pam" }, `token_id: "root@pam" is not of the form user@realm!tokenid`},
		{"no secret", func(c *Config) { c.TokenSecret = secret.Secret{} }, "token_secret: missing"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout: -1s must be positive"},
		{"concurrency too high", func(c *Config) { c.Concurrency = 500 }, "concurrency: 500 must be between 1 and 64"},
		{"missing ca file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, `ca_file: "/nonexistent/ca.pem": no such file or directory`},
		{"ca file without certificates", func(c *Config) { c.CAFile = notPEM }, `ca_file: "` + notPEM + `": no PEM certificates found`},
		{"bad name", func(c *Config) { c.Name = "pve lab" }, `name: "pve lab"`},
		{"cluster name with slash", func(c *Config) { c.ClusterName = "a/b" }, `cluster_name: "a/b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			c.SetDefaults()
			tt.mutate(&c)
			errs := c.Validate()
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Fatalf("errors %v, want one starting %q", errs, tt.want)
			}
			if strings.Contains(errs[0].Error(), "hunter22") || c.TokenSecret.IsSet() && strings.Contains(errs[0].Error(), c.TokenSecret.Reveal()) {
				t.Errorf("error leaks a secret: %v", errs[0])
			}
		})
	}
	// Loopback http is fine (simulators).
	c := validConfig()
	c.SetDefaults()
	c.URL = "http://127.0.0.1:8006"
	if errs := c.Validate(); len(errs) != 0 {
		t.Errorf("loopback http: %v", errs)
	}
	// New refuses an invalid config and names the field.
	c.TokenID = ""
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "token_id") {
		t.Errorf("New: %v", err)
	}
}
