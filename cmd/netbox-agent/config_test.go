package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/internal/secret"
	"github.com/netbox-agent/netbox-agent/server"
	"github.com/netbox-agent/netbox-agent/sources"
	"github.com/netbox-agent/netbox-agent/sources/homeassistant"
	"github.com/netbox-agent/netbox-agent/sources/proxmox"
	"github.com/netbox-agent/netbox-agent/sources/truenas"
)

const examplePath = "../../testdata/netbox-agent.example.yaml"

func exampleEnv() map[string]string {
	return map[string]string{
		"NETBOX_TOKEN":                 canary + "-nb",
		"PROXMOX_PVE_LAB_TOKEN_SECRET": canary + "-pve",
		"TRUENAS_API_KEY":              canary + "-nas",
		"HOMEASSISTANT_HOME_TOKEN":     canary + "-ha",
		"MCP_TOKEN":                    canary + "-mcp",
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	code, out, errOut := runCLI(t, exampleEnv(), "--check-config", "--config", examplePath)
	if code != exitOK {
		t.Fatalf("the documented example does not validate (exit %d):\n%s%s", code, out, errOut)
	}
	cfg, err := loadConfig(examplePath, exampleEnv())
	if err != nil {
		t.Fatal(err)
	}
	// Instance-specific and general variables both reach their instance.
	if configsOf[proxmox.Config](&cfg.Sources)[0].TokenSecret.Reveal() != canary+"-pve" || configsOf[truenas.Config](&cfg.Sources)[0].APIKey.Reveal() != canary+"-nas" ||
		configsOf[homeassistant.Config](&cfg.Sources)[0].Token.Reveal() != canary+"-ha" || cfg.MCP.AuthToken.Reveal() != canary+"-mcp" {
		t.Fatal("a secret from the environment did not reach its field")
	}
}

// Every option of the file format appears in the documented example, so the example cannot
// fall behind a package that adds a field.
func TestExampleConfigDocumentsEveryOption(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := strings.TrimPrefix(path+"."+n.Content[i].Value, ".")
				present[p] = true
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		}
	}
	walk(&root, "")
	var missing []string
	for _, p := range yamlPaths(newFileShape(adapterKinds).file, "") {
		// Secrets are documented in comments (they belong in the environment, not the file).
		leaf := p[strings.LastIndex(p, ".")+1:]
		if !present[p] && !strings.Contains(text, "# "+leaf+":") {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("options missing from %s:\n  %s", examplePath, strings.Join(missing, "\n  "))
	}
}

// yamlPaths lists the yaml key paths of a config type; slices of structs use "[]".
func yamlPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			out = append(out, yamlPaths(f.Type, prefix)...)
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		p := strings.TrimPrefix(prefix+"."+name, ".")
		out = append(out, p)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft.PkgPath() != "time" && !strings.HasSuffix(ft.PkgPath(), "internal/secret"):
			out = append(out, yamlPaths(ft, p)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, yamlPaths(ft.Elem(), p+"[]")...)
		}
	}
	return out
}

func TestConfigErrorsNameTheInstanceVariables(t *testing.T) {
	cfg := writeFile(t, "agent.yaml", "netbox:\n  url: https://netbox.lab\nsources:\n  proxmox:\n    - name: pve-2\n      url: https://pve.lab:8006\n      token_id: a@pam!b\n  inventory:\n    - name: pve-2\n      files: [x.csv]\n")
	code, _, errOut := runCLI(t, map[string]string{"NETBOX_TOKEN": canary}, "--check-config", "--config", cfg)
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"PROXMOX_TOKEN_SECRET or PROXMOX_PVE_2_TOKEN_SECRET",
		cfg + `:9: sources.inventory[0].name: "pve-2" is already the name of sources.proxmox[0]`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestConfigErrorsNameTheCAFile: a ca_file without certificates is a config error under the
// field's path in every section, with the file named, before anything is contacted.
func TestConfigErrorsNameTheCAFile(t *testing.T) {
	ca := writeFile(t, "ca.pem", "not a certificate\n")
	cfg := writeFile(t, "agent.yaml", `netbox:
  url: https://netbox.lab
  ca_file: `+ca+`
sources:
  proxmox:
    - url: https://pve.lab:8006
      token_id: a@pam!b
      ca_file: `+ca+`
  truenas:
    - url: https://nas.lab
      ca_file: `+ca+`
  homeassistant:
    - url: https://ha.lab:8123
      ca_file: `+ca+`
`)
	env := map[string]string{"NETBOX_TOKEN": canary, "PROXMOX_TOKEN_SECRET": canary, "TRUENAS_API_KEY": canary, "HOMEASSISTANT_TOKEN": canary}
	code, _, errOut := runCLI(t, env, "--check-config", "--config", cfg)
	if code != exitFailure {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		cfg + `:3: netbox.ca_file: "` + ca + `": no PEM certificates found`,
		cfg + `:8: sources.proxmox[0].ca_file: "` + ca + `": no PEM certificates found`,
		cfg + `:11: sources.truenas[0].ca_file: "` + ca + `": no PEM certificates found`,
		cfg + `:14: sources.homeassistant[0].ca_file: "` + ca + `": no PEM certificates found`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestConfigUnknownSourceKind: a key under sources: that is no adapter of the table is an error
// at its line that names it and the kinds there are.
func TestConfigUnknownSourceKind(t *testing.T) {
	cfg := writeFile(t, "agent.yaml", "netbox:\n  url: https://netbox.lab\nsources:\n  inventory: []\n  vmware:\n    - name: vc\n")
	_, err := loadConfig(cfg, map[string]string{"NETBOX_TOKEN": canary})
	want := cfg + `:5: sources.vmware: "vmware" is not a source kind (known kinds: proxmox, truenas, homeassistant, netscan, inventory)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

// fakeConfig is a test-local adapter's Config: a default, a check and a secret.
type fakeConfig struct {
	Name     string        `yaml:"name"`
	Depth    int           `yaml:"depth"`
	Password secret.Secret `yaml:"password" env:"PASSWORD"`
}

func (c *fakeConfig) SetDefaults() {
	if c.Name == "" {
		c.Name = "fake"
	}
}

func (c *fakeConfig) Validate() []error {
	if c.Depth < 0 {
		return []error{fmt.Errorf("depth: %d is negative", c.Depth)}
	}
	return nil
}

type fakeSource struct{ cfg fakeConfig }

func (s *fakeSource) Name() string    { return s.cfg.Name }
func (s *fakeSource) Adapter() string { return "fake" }
func (s *fakeSource) Discover(context.Context, sources.Progress) (sources.Result, error) {
	return sources.Result{}, nil
}
func (s *fakeSource) Check(context.Context) error { return nil }

// TestConfigAdapterTableIsTheOnlyList: an adapter kind registered in a table alone gets its
// config section, defaults, environment variables, validation with field paths and lines, and
// its sources built; nothing else names it.
func TestConfigAdapterTableIsTheOnlyList(t *testing.T) {
	kinds := []adapterKind{adapterOf("fake", func(c *fakeConfig) string { return c.Name },
		func(c fakeConfig, _ *slog.Logger) (*fakeSource, error) { return &fakeSource{c}, nil },
		func(*server.Deps, []fakeConfig, []*fakeSource) {})}
	env := map[string]string{"NETBOX_TOKEN": canary, "FAKE_PASSWORD": "general", "FAKE_DEEP_PASSWORD": "own"}
	good := writeFile(t, "good.yaml", "netbox:\n  url: https://netbox.lab\nsources:\n  fake:\n    - depth: 2\n    - name: deep\n      depth: 9\n")
	cfg, err := loadConfigOf(good, env, kinds)
	if err != nil {
		t.Fatal(err)
	}
	got := configsOf[fakeConfig](&cfg.Sources)
	want := []fakeConfig{{Name: "fake", Depth: 2, Password: secret.New("general")}, {Name: "deep", Depth: 9, Password: secret.New("own")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("configs = %#v, want %#v", got, want)
	}
	a, err := buildAgent(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.all) != 2 || a.all[1].Name() != "deep" {
		t.Fatalf("built sources = %v", a.all)
	}

	bad := writeFile(t, "bad.yaml", "netbox:\n  url: https://netbox.lab\nsources:\n  fake:\n    - depth: -1\n      colour: red\n  proxmox: []\n")
	_, err = loadConfigOf(bad, env, kinds)
	for _, want := range []string{
		bad + ":5: sources.fake[0].depth: -1 is negative",
		bad + ":6: sources.fake[0].colour: field colour not found in type main.fakeConfig",
		bad + `:7: sources.proxmox: "proxmox" is not a source kind (known kinds: fake)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nlacks %s", err, want)
		}
	}
}

// TestEffectiveConfigListsSourcesByKind: the effective config (the MCP config resource) shows
// each adapter's instances under its kind name, in table order, secrets redacted.
func TestEffectiveConfigListsSourcesByKind(t *testing.T) {
	cfg, err := loadConfig(examplePath, exampleEnv())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), canary) {
		t.Fatal("a secret appears in the effective config")
	}
	var got struct {
		Sources map[string][]map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range adapterKinds {
		if _, ok := got.Sources[k.name]; !ok {
			t.Errorf("sources lack %q: %s", k.name, b)
		}
	}
	if pve := got.Sources["proxmox"]; len(pve) != 1 || pve[0]["Name"] != "pve-lab" || pve[0]["TokenSecret"] != "[redacted]" {
		t.Errorf("sources.proxmox = %v", pve)
	}
}
