package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/netbox-agent/netbox-agent/server"
)

// Budgets of issue 16, measured as a client over stdio sees them (text tokens ~ bytes/4).
const (
	tokenBudgetBytes = 4000 * 4  // tools/list, get_plan's default page
	maxMessageBytes  = 256 << 10 // any result or resource read
)

func size(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// The budgets on a 2,000-VM estate through the real engine, over stdio: tools/list and the
// default get_plan page within 4,000 tokens, every result and resource read within 256 KB
// (the plan resource pages on through next_uri until every action was seen), the plan read
// machines first and scaffolding last.
func TestBudgetsOn2000VMs(t *testing.T) {
	lab := newEngineLabOf(t, 8, 2000)
	c := stdioTo(t, lab.agent(t), mcp.ProtocolVersion20251125)

	tools, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n := size(t, tools)
	t.Logf("tools/list: %d bytes (~%d tokens), %d tools", n, n/4, len(tools.Tools))
	if n > tokenBudgetBytes {
		t.Errorf("tools/list is %d bytes (~%d tokens), over the %d-token budget", n, n/4, tokenBudgetBytes/4)
	}

	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "preview_sync", Arguments: map[string]any{}}})
	if err != nil || res.IsError {
		t.Fatalf("preview: %v %+v", err, res)
	}
	t.Logf("preview_sync: %d bytes", size(t, res))
	if size(t, res) > tokenBudgetBytes {
		t.Errorf("preview_sync result is %d bytes, over %d", size(t, res), tokenBudgetBytes)
	}
	var prev server.PreviewOutput
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &prev)
	if prev.Summary.Total < 2000 {
		t.Fatalf("a plan of %d actions for 2,000 VMs", prev.Summary.Total)
	}
	for i, a := range prev.FirstActions {
		if a.ObjectType != "virtual machine" && a.ObjectType != "device" {
			t.Errorf("first_actions[%d] is a %s, want the machines first", i, a.ObjectType)
		}
	}

	res, err = c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "get_plan", Arguments: map[string]any{}}})
	if err != nil || res.IsError {
		t.Fatalf("get_plan: %v %+v", err, res)
	}
	n = size(t, res)
	t.Logf("get_plan default page: %d bytes (~%d tokens)", n, n/4)
	if n > tokenBudgetBytes {
		t.Errorf("get_plan's default page is %d bytes (~%d tokens), over the %d-token budget", n, n/4, tokenBudgetBytes/4)
	}
	if strings.Contains(res.Content[0].(mcp.TextContent).Text, `"plan_id"`) {
		t.Errorf("the text part is a JSON copy, not a summary")
	}

	seen, pages, uri := 0, 0, server.ResourceLastPlan
	for uri != "" {
		rr, err := c.ReadResource(t.Context(), mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: uri}})
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		text := rr.Contents[0].(mcp.TextResourceContents).Text
		if len(text) > maxMessageBytes {
			t.Fatalf("%s: %d bytes, over %d", uri, len(text), maxMessageBytes)
		}
		var page server.PlanPage
		if err := json.Unmarshal([]byte(text), &page); err != nil {
			t.Fatal(err)
		}
		if pages == 0 {
			t.Logf("plans/last first page: %d bytes, %d of %d actions", len(text), len(page.Actions), page.Total)
		}
		seen += len(page.Actions)
		pages++
		uri = page.NextURI
	}
	if seen != prev.Summary.Total {
		t.Fatalf("paging plans/last saw %d actions, the plan has %d", seen, prev.Summary.Total)
	}
	t.Logf("plans/last: %d actions in %d pages", seen, pages)

	var cf server.ConflictsOutput
	callJSON(t, c, "list_conflicts", map[string]any{"show": "warnings", "limit": 5}, &cf)
	if cf.Page.Total != prev.Summary.Warnings {
		t.Fatalf("list_conflicts warnings: %d, the plan has %d", cf.Page.Total, prev.Summary.Warnings)
	}
}

var _ = client.NewClient
