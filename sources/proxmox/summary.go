package proxmox

import "github.com/netbox-agent/netbox-agent/sources"

// Summary counts what a discovery found, for the discover_proxmox tool's structured output.
type Summary struct {
	Source     string   `json:"source"`
	Clusters   []string `json:"clusters"`
	Nodes      int      `json:"nodes"`
	NodesDown  int      `json:"nodes_offline"`
	VMs        int      `json:"qemu_vms"`
	Containers int      `json:"lxc_containers"`
	Running    int      `json:"running"`
	Stopped    int      `json:"stopped"`
	WithIPs    int      `json:"guests_with_ips"`
	Warnings   int      `json:"warnings"`
}

// Summarize counts the observations of one proxmox source's result.
func Summarize(source string, res sources.Result) Summary {
	sum := Summary{Source: source, Clusters: []string{}, Warnings: len(res.Warnings)}
	seen := map[string]bool{}
	for _, o := range res.Observations {
		if o.Parent != nil && o.Parent.Cluster != "" && !seen[o.Parent.Cluster] {
			seen[o.Parent.Cluster] = true
			sum.Clusters = append(sum.Clusters, o.Parent.Cluster)
		}
		if o.Kind == sources.KindDevice {
			sum.Nodes++
			if o.Facts.Status != "active" {
				sum.NodesDown++
			}
			continue
		}
		switch o.Facts.Attributes["proxmox.type"] {
		case "qemu":
			sum.VMs++
		case "lxc":
			sum.Containers++
		}
		switch o.Facts.Status {
		case "active":
			sum.Running++
		case "offline":
			sum.Stopped++
		}
		if len(o.Keys.IPs) > 0 {
			sum.WithIPs++
		}
	}
	return sum
}
