// A conversation as a model would hold it, with the TypeScript SDK over stdio and a person
// who says yes when asked: discover -> preview -> explain one machine -> review the plan ->
// apply with the person's confirmation. Prints each step's text part and the size of each
// result (docs/mcp.md quotes a run on the lab).
//   node walkthrough.mjs COMMAND [ARGS...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, env: { ...process.env }, stderr: "ignore" });
const client = new Client({ name: "walkthrough", version: "1" }, { capabilities: { elicitation: {} } });
client.setRequestHandler(ElicitRequestSchema, async (req) => {
  console.log(`\n[the person is asked] ${req.params.message}\n[the person answers] yes`);
  return { action: "accept", content: { confirm: true } };
});
await client.connect(transport);
const size = (v) => Buffer.byteLength(JSON.stringify(v));
const tools = await client.listTools();
console.log(`tools/list: ${tools.tools.length} tools, ${size(tools)} bytes`);

async function step(name, a) {
  const res = await client.callTool({ name, arguments: a }, undefined, { timeout: 600000 });
  const text = res.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
  console.log(`\n> ${name} ${JSON.stringify(a)}   (${size(res)} bytes; text ${Buffer.byteLength(text)})\n${text}`);
  return res;
}
await step("discover_proxmox", { limit: 5 });
const prev = await step("preview_sync", {});
const first = prev.structuredContent.first_actions.find((a) => a.object_type === "virtual machine" || a.object_type === "device");
if (first) await step("find_host", { query: first.name });
await step("get_plan", { limit: 10 });
await step("apply_sync", { plan_id: prev.structuredContent.plan_id, confirm: true });
const last = await client.readResource({ uri: "netbox-agent://plans/last" });
console.log(`\nnetbox-agent://plans/last: ${Buffer.byteLength(last.contents[0].text)} bytes`);
await client.close();
