package netscan

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigYAMLAndDefaults(t *testing.T) {
	var cfg Config
	doc := "name: lan\nallowed_networks: [192.168.10.0/24]\ntargets: [192.168.10.0/25]\nprivileged: false\nprofile: services\nhost_timeout: 90s\n"
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("valid config refused: %v", errs)
	}
	if cfg.Privileged != PrivilegeFalse || cfg.Profile != ProfileServices || cfg.HostTimeout.String() != "1m30s" {
		t.Errorf("decoded %+v", cfg)
	}
	if cfg.MaxHosts != DefaultMaxHosts || cfg.Timeout != DefaultTimeout || len(cfg.Ports) == 0 || cfg.ReverseDNS == nil || !*cfg.ReverseDNS {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // each error must start with its field path
	}{
		{"no allowlist", Config{}, []string{"allowed_networks: required"}},
		{"allow everything", Config{AllowedNetworks: []string{"0.0.0.0/0"}}, []string{`allowed_networks[0]: "0.0.0.0/0" allows every address`}},
		{"bad cidr", Config{AllowedNetworks: []string{"lan"}}, []string{`allowed_networks[0]: "lan" is not a CIDR`}},
		{"target outside", Config{AllowedNetworks: []string{"198.18.0.0/24"}, Targets: []string{"10.0.0.0/24"}}, []string{`targets: target "10.0.0.0/24"`}},
		{"target injection", Config{AllowedNetworks: []string{"198.18.0.0/24"}, Targets: []string{"-iL /etc/passwd"}}, []string{`targets: target "-iL /etc/passwd": looks like an nmap option`}},
		{"profile", Config{AllowedNetworks: []string{"198.18.0.0/24"}, Profile: "aggressive"}, []string{`profile: "aggressive" is not`}},
		{"ports", Config{AllowedNetworks: []string{"198.18.0.0/24"}, Ports: []string{"22", "70000"}}, []string{`ports: "70000": "70000" is not a port`}},
		{"privileged", Config{AllowedNetworks: []string{"198.18.0.0/24"}, Privileged: "maybe"}, []string{`privileged: "maybe"`}},
		{"max hosts", Config{AllowedNetworks: []string{"198.18.0.0/24"}, MaxHosts: -1}, []string{"max_hosts: -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.MaxHosts == 0 {
				cfg.SetDefaults()
			} else {
				mh := cfg.MaxHosts
				cfg.SetDefaults()
				cfg.MaxHosts = mh
			}
			errs := cfg.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("errors %v, want %d", errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(errs[i].Error(), w) {
					t.Errorf("error %q does not start with %q", errs[i], w)
				}
			}
		})
	}
	if _, err := New(Config{}, nil); err == nil || !strings.Contains(err.Error(), "allowed_networks") {
		t.Errorf("New without an allowlist: %v", err)
	}
}

func TestHasNetRaw(t *testing.T) {
	for _, tt := range []struct {
		status string
		want   bool
	}{
		{"CapEff:\t0000000000002000\nCapAmb:\t0000000000002000\n", true},
		{"CapEff:\t0000000000002000\nCapAmb:\t0000000000000000\n", false},
		{"CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n", false},
	} {
		if got := hasNetRaw(bufioScanner(tt.status)); got != tt.want {
			t.Errorf("hasNetRaw(%q) = %v", tt.status, got)
		}
	}
}
