package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"gopkg.in/yaml.v3"

	"github.com/netbox-agent/netbox-agent/sources/homeassistant/homeassistanttest"
	"github.com/netbox-agent/netbox-agent/sources/proxmox/proxmoxtest"
	"github.com/netbox-agent/netbox-agent/test/lab"
)

// labSecrets reads every secret value from the lab's agent config (fields token, token_secret,
// api_key, auth_token at any depth), keyed by their path.
func labSecrets(t *testing.T, configPath string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(configPath)
	must(t, err)
	var doc any
	must(t, yaml.Unmarshal(b, &doc))
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && slices.Contains([]string{"token", "token_secret", "api_key", "auth_token"}, k) && s != "" {
					out[path+k] = s
					continue
				}
				walk(path+k+".", e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s%d.", path, i), e)
			}
		}
	}
	walk("", doc)
	return out
}

// secretRows: every secret of the lab's config, and a canary MCP token, are looked for in
// everything the built agent says: its logs at debug level, tool results (including errors of a
// failing source), resources, prompts, /metrics, saved plans and the run reports.
func secretRows(t *testing.T, m *matrix) {
	const group = "Secrets"
	bin := m.agentBinary(t)
	l := startLab(t, 0)
	secrets := labSecrets(t, l.ConfigPath())
	secrets["mcp.auth_token (MCP_TOKEN)"] = canaryMCP
	if len(secrets) < 5 {
		t.Fatalf("found only %d secrets in the lab config: %v", len(secrets), secrets)
	}
	leaks := func(text string) []string {
		var out []string
		for field, v := range secrets {
			if strings.Contains(text, v) {
				out = append(out, field)
			}
		}
		slices.Sort(out)
		return out
	}
	var fields []string
	for f := range secrets {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	tried := fmt.Sprintf("secret values of %s", strings.Join(fields, ", "))

	p := startAgentHTTP(t, bin, l.ConfigPath(), "MCP_TOKEN="+canaryMCP)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := newMCPClient(ctx, p.base)
	must(t, err)
	defer c.Close()

	var toolOut, resOut strings.Builder
	call := func(name string, args map[string]any) map[string]any {
		res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name, Arguments: args}})
		if err != nil {
			toolOut.WriteString(err.Error() + "\n")
			return nil
		}
		toolOut.WriteString(toolText(res) + "\n")
		sc, _ := res.StructuredContent.(map[string]any)
		return sc
	}
	calls := 0
	sweep := func() {
		tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
		must(t, err)
		b, _ := json.Marshal(tools)
		toolOut.Write(b)
		for _, tool := range tools.Tools {
			if tool.Name == "apply_sync" || tool.Name == "scan_subnet" {
				continue
			}
			call(tool.Name, map[string]any{})
			calls++
		}
		call("sync_status", map[string]any{"check_sources": true})
		plan := call("preview_sync", map[string]any{})
		if id, _ := plan["plan_id"].(string); id != "" {
			call("get_plan", map[string]any{"plan_id": id, "limit": 200})
			call("apply_sync", map[string]any{"plan_id": id, "confirm": true})
			calls += 2
		}
		rl, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
		if err == nil {
			for _, r := range rl.Resources {
				rr, err := c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: r.URI}})
				if err != nil {
					resOut.WriteString(err.Error() + "\n")
					continue
				}
				b, _ := json.Marshal(rr)
				resOut.Write(b)
			}
		}
		pl, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
		if err == nil {
			for _, pr := range pl.Prompts {
				gp, err := c.GetPrompt(ctx, mcp.GetPromptRequest{Params: mcp.GetPromptParams{Name: pr.Name}})
				if err == nil {
					b, _ := json.Marshal(gp)
					resOut.Write(b)
				}
			}
		}
	}
	sweep() // healthy lab
	for _, src := range []string{lab.ProxmoxSource, lab.TrueNASSource, lab.HomeAssistantSource} {
		must(t, l.FailSource(src, true)) // every source refuses its credentials: errors everywhere
	}
	sweep()
	metrics := httpGet(t, p.base+"/metrics")
	if !strings.Contains(metrics, "# TYPE") {
		t.Errorf("/metrics: not Prometheus text: %s", shorten(metrics, 200))
	}
	ready := httpGet(t, p.base+"/readyz")
	p.stop()
	serverLogs := p.stderr.String() + p.stdout.String()

	// headless: run-once (sources failing, then healed) with a saved plan, table and JSON reports
	planFile := filepath.Join(t.TempDir(), "plan.json")
	var runOut, runLogs strings.Builder
	for _, args := range [][]string{
		{"--run-once", "--config", l.ConfigPath(), "--log-level", "debug", "--output", "json"},
		{"--run-once", "--config", l.ConfigPath(), "--log-level", "debug", "--dry-run", "--plan-out", planFile},
	} {
		run := runAgent(t, bin, time.Minute, []string{"MCP_TOKEN=" + canaryMCP}, args...)
		runOut.WriteString(run.stdout)
		runLogs.WriteString(run.stderr)
	}
	for _, src := range []string{lab.ProxmoxSource, lab.TrueNASSource, lab.HomeAssistantSource} {
		must(t, l.FailSource(src, false))
	}
	run := runAgent(t, bin, time.Minute, nil, "--run-once", "--config", l.ConfigPath(), "--log-level", "debug")
	runOut.WriteString(run.stdout)
	runLogs.WriteString(run.stderr)
	planText, _ := os.ReadFile(planFile)
	var stateFiles strings.Builder
	_ = filepath.WalkDir(l.StateDir(), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			stateFiles.Write(b)
		}
		return nil
	})

	channels := []struct{ name, text string }{
		{fmt.Sprintf("MCP tool results (%d calls, healthy and with every source failing)", calls), toolOut.String()},
		{"MCP resources and prompts", resOut.String()},
		{"HTTP server logs (stderr, debug level)", serverLogs},
		{"/metrics and /readyz bodies", metrics + ready},
		{"--run-once reports (JSON and table, failing and healthy sources)", runOut.String()},
		{"--run-once logs (stderr, debug level)", runLogs.String()},
		{"saved plans (--plan-out and the state directory)", string(planText) + stateFiles.String()},
	}
	for _, ch := range channels {
		leaked := leaks(ch.text)
		happened := fmt.Sprintf("%d bytes searched, no secret", len(ch.text))
		if len(leaked) > 0 {
			happened = fmt.Sprintf("%d bytes searched: LEAKS %s", len(ch.text), strings.Join(leaked, ", "))
		}
		m.check(t, group, tried+" in "+ch.name, "never present", happened, len(ch.text) > 200 && len(leaked) == 0)
	}
	// errors about the sources must have been produced, or the error path was not searched
	m.check(t, group, "failing sources produce errors that were searched", "tool results and logs hold the sources' errors",
		fmt.Sprintf("401/unauthorized errors in tool results: %v, in logs: %v", strings.Contains(strings.ToLower(toolOut.String()), "401") || strings.Contains(strings.ToLower(toolOut.String()), "unauthorized") || strings.Contains(strings.ToLower(toolOut.String()), "authentication"),
			strings.Contains(strings.ToLower(serverLogs), "fail")),
		strings.Contains(strings.ToLower(serverLogs), "fail") && (strings.Contains(strings.ToLower(toolOut.String()), "401") || strings.Contains(strings.ToLower(toolOut.String()), "unauthorized") || strings.Contains(strings.ToLower(toolOut.String()), "authentication")))

	// in process, without any scrubbing log handler: the components themselves never log a
	// secret, even at debug level and through NetBox and source faults
	r := newRig(t, rigOptions{})
	r.cleanSync()
	r.ha.SetFault("config/device_registry/list", homeassistantFaultUnauthorized())
	r.pve.AddFault(proxmoxFault401())
	_, _, _ = r.sync(context.Background())
	leaked := leakedCanaries(r.logs.String())
	m.check(t, group, "canaries in every secret field, in process: the components' own debug logs with no scrubbing handler",
		"never present", fmt.Sprintf("%d bytes of logs, leaks: %v", len(r.logs.String()), leaked), len(leaked) == 0 && r.logs.String() != "")
}

// httpGet fetches url with the MCP bearer token.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+canaryMCP)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func homeassistantFaultUnauthorized() homeassistanttest.Fault {
	return homeassistanttest.Fault{ErrorCode: "unauthorized", ErrorMessage: "Unauthorized"}
}

func proxmoxFault401() proxmoxtest.Fault {
	return proxmoxtest.Fault{Status: http.StatusUnauthorized, Message: "authentication failure"}
}
