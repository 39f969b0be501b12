package homeassistant_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
)

func TestConfigValidate(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*homeassistant.Config)
		want   []string // one per expected error, each a prefix
	}{
		{"valid", nil, nil},
		{"missing url and token", func(c *homeassistant.Config) { c.URL = ""; c.Token = secret.Secret{} },
			[]string{"url: required", "token: required"}},
		{"ftp url", func(c *homeassistant.Config) { c.URL = "ftp://ha.lan" }, []string{`url: "ftp://ha.lan" is not an http(s) URL`}},
		{"no host", func(c *homeassistant.Config) { c.URL = "http://" }, []string{`url: "http://" has no host`}},
		{"credentials in url", func(c *homeassistant.Config) { c.URL = "http://admin:hunter22@ha.lan:8123" },
			[]string{`url: "http://ha.lan:8123" must not carry credentials`}},
		{"query", func(c *homeassistant.Config) { c.URL = "http://ha.lan/?x=1" }, []string{"url: "}},
		{"bad name", func(c *homeassistant.Config) { c.Name = "ha/main" }, []string{`name: "ha/main"`}},
		{"missing ca file", func(c *homeassistant.Config) { c.CAFile = "/nonexistent/ca.pem" },
			[]string{`ca_file: "/nonexistent/ca.pem": no such file or directory`}},
		{"ca file without certificates", func(c *homeassistant.Config) { c.CAFile = caFile },
			[]string{`ca_file: "` + caFile + `": no PEM certificates found`}},
		{"ca file and insecure", func(c *homeassistant.Config) { c.CAFile = caFile; c.InsecureSkipVerify = true },
			[]string{"ca_file: ", "insecure_skip_verify: true makes ca_file"}},
		{"negative timeout", func(c *homeassistant.Config) { c.Timeout = -time.Second }, []string{"timeout: -1s is negative"}},
		{"tiny read limit", func(c *homeassistant.Config) { c.MaxMessageBytes = 32768 }, []string{"max_message_bytes: 32768 is below 1 MiB"}},
		{"trackers", func(c *homeassistant.Config) { c.Trackers = "some" }, []string{`trackers: "some" is not one of all, home, none`}},
		{"empty filter values", func(c *homeassistant.Config) {
			c.Include.Areas = []string{"office", " "}
			c.Exclude.Integrations = []string{""}
		}, []string{"include.areas[1]: empty value", "exclude.integrations[0]: empty value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig("http://homeassistant.local:8123")
			if tt.change != nil {
				tt.change(&cfg)
			}
			errs := cfg.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %q, want %d", errs, len(tt.want))
			}
			for _, err := range errs {
				if strings.Contains(err.Error(), "hunter22") {
					t.Errorf("error leaks the URL password: %v", err)
				}
			}
			for _, w := range tt.want {
				found := false
				for _, err := range errs {
					found = found || strings.HasPrefix(err.Error(), w)
				}
				if !found {
					t.Errorf("errors %q lack one starting with %q", errs, w)
				}
			}
		})
	}
}

func TestNewRejectsBadConfigAndCAFile(t *testing.T) {
	if _, err := homeassistant.New(homeassistant.Config{}, nil); err == nil ||
		!strings.Contains(err.Error(), `homeassistant "homeassistant": invalid config`) || !strings.Contains(err.Error(), "url: required") {
		t.Fatalf("New(empty) = %v", err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig("https://ha.lan")
	cfg.CAFile = caFile
	if _, err := homeassistant.New(cfg, nil); err == nil || !strings.Contains(err.Error(), `ca_file: "`+caFile+`": no PEM certificates found`) {
		t.Fatalf("New with a junk CA file = %v", err)
	}
}

func TestConfigDefaultsAndYAML(t *testing.T) {
	var cfg homeassistant.Config
	doc := `
url: https://ha.lan:8123
token: tok-from-yaml-123456
timeout: 10s
site: Home
include:
  integrations: [unifi, hue]
exclude:
  areas: [Garage]
`
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) != 0 {
		t.Fatalf("Validate: %q", errs)
	}
	want := homeassistant.Config{
		Name: "homeassistant", URL: "https://ha.lan:8123", Timeout: 10 * time.Second, Site: "Home",
		MaxMessageBytes: homeassistant.DefaultMaxMessageBytes, Trackers: homeassistant.TrackersAll,
		Include: homeassistant.Filter{Integrations: []string{"unifi", "hue"}},
		Exclude: homeassistant.Filter{Areas: []string{"Garage"}},
	}
	if cfg.Token.Reveal() != "tok-from-yaml-123456" {
		t.Errorf("token not read from YAML")
	}
	cfg.Token = secret.Secret{}
	if fmt.Sprintf("%+v", cfg) != fmt.Sprintf("%+v", want) {
		t.Errorf("config\n got %+v\nwant %+v", cfg, want)
	}
	// Printing a config never shows the token.
	cfg.Token = secret.New("tok-from-yaml-123456")
	if out, _ := yaml.Marshal(cfg); strings.Contains(string(out)+fmt.Sprintf("%+v", cfg), "tok-from-yaml") {
		t.Errorf("config printing leaks the token")
	}
	var zero homeassistant.Config
	zero.SetDefaults()
	if zero.Timeout != homeassistant.DefaultTimeout || zero.MaxMessageBytes != 64<<20 {
		t.Errorf("defaults: %+v", zero)
	}
}
