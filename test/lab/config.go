package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeFiles writes the CA files, the inventory CSV, the state dir and the agent config.
func (l *Lab) writeFiles() error {
	if err := os.MkdirAll(filepath.Join(l.dir, caDir), 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := os.MkdirAll(l.StateDir(), 0o700); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	cas := map[string][]byte{
		l.caFile("proxmox"):       l.pve.CACertPEM(),
		l.caFile("truenas"):       l.nas.CertPEM(),
		l.caFile("homeassistant"): l.ha.CACertPEM(),
	}
	for path, pem := range cas {
		if len(pem) == 0 {
			return fmt.Errorf("lab: %s: the simulator has no TLS certificate", path)
		}
		if err := os.WriteFile(path, pem, 0o644); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	for path, content := range map[string]string{l.InventoryPath(): inventoryCSV, l.HostsPath(): hostsFile, l.LeasesPath(): leasesFile} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	// The file holds lab tokens: readable by its owner only, as a real config would be.
	if err := os.WriteFile(l.ConfigPath(), []byte(l.Config()), 0o600); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

func (l *Lab) caFile(product string) string {
	return filepath.Join(l.dir, caDir, product+".pem")
}

// q quotes a string for YAML: a JSON string is a valid YAML double-quoted scalar.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Config is the agent config pointing at the lab, as written to ConfigPath.
func (l *Lab) Config() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# netbox-agent configuration for the lab in %s, written by netbox-lab.", l.dir)
	w("#")
	w("# Every URL below is a simulator on 127.0.0.1 that lives as long as netbox-lab runs.")
	w("# The tokens and keys are fake credentials generated for this lab run, not secrets of any")
	w("# real system: that is why they are inline. In a real config keep secrets out of the file")
	w("# (environment variables or *_FILE files). TLS verification stays on: ca_file holds each")
	w("# simulator's self-signed certificate.")
	w("#")
	w("# No netscan source: nmap cannot see the simulated hosts, they exist only as API data.")
	w("log:")
	w("  level: info")
	w("  format: auto")
	w("netbox:")
	w("  # NetBox %s simulator; it serves plain HTTP on loopback, so no ca_file.", l.netbox.Profile().NetBoxVersion())
	w("  url: %s", q(l.netbox.URL))
	w("  token: %s", q(l.netbox.Token()))
	w("sync:")
	w("  site: %s", q(SiteName))
	w("  # Role hints title-cased would read \"Nas\" and \"Ups\".")
	w("  roles:")
	w("    - {hint: nas, role: NAS}")
	w("    - {hint: ups, role: UPS}")
	w("mcp:")
	w("  # Lets `netbox-agent --http 127.0.0.1:PORT` serve without a bearer token, on loopback only.")
	w("  allow_unauthenticated_loopback: true")
	w("  # apply_sync may write to the lab's NetBox (still only with a plan id and a confirmation).")
	w("  writes_enabled: true")
	w("# Plans and run records.")
	w("state_dir: %s", q(l.StateDir()))
	w("sources:")
	w("  proxmox:")
	w("    - name: %s", q(ProxmoxSource))
	w("      url: %s", q(l.pve.URL))
	w("      # A privilege-separated token with the PVEAuditor role on / (and VM.Monitor for the guest agent).")
	w("      token_id: %s", q(l.pveTok.ID))
	w("      token_secret: %s", q(l.pveTok.Secret))
	w("      ca_file: %s", q(l.caFile("proxmox")))
	w("  truenas:")
	w("    - name: %s", q(TrueNASSource))
	w("      url: %s", q(l.nas.URL))
	w("      api_key: %s", q(l.nasKey))
	w("      username: %s", q(l.nas.Username()))
	w("      ca_file: %s", q(l.caFile("truenas")))
	w("  homeassistant:")
	w("    - name: %s", q(HomeAssistantSource))
	w("      url: %s", q(l.ha.URL))
	w("      token: %s", q(l.haToken))
	w("      ca_file: %s", q(l.caFile("homeassistant")))
	w("  inventory:")
	w("    - name: %s", q(InventorySource))
	w("      files:")
	w("        - path: %s", q(l.InventoryPath()))
	w("          format: csv")
	w("        - path: %s", q(l.HostsPath()))
	w("          format: hosts")
	w("        - path: %s", q(l.LeasesPath()))
	w("          format: dnsmasq")
	return b.String()
}
