// The budgets of issue 16 as a real client measures them: the TypeScript SDK starts the agent
// over stdio exactly as Claude Desktop does and asserts
//   - tools/list within 4,000 tokens (bytes/4);
//   - every tool result and resource read within 256 KB (the plan resource is paged through
//     next_uri until every action was seen);
//   - get_plan's default page within 4,000 tokens;
//   - progress notifications at most 4 a second, every one before its result (the SDK drops a
//     late one as "unknown progress token": counted through its error handler).
// Usage: node budgets.mjs COMMAND [ARGS...]   (prints one "budgets: ok ..." line, exit 1 on a miss)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
if (!command) { console.error("usage: node budgets.mjs COMMAND [ARGS...]"); process.exit(2); }
const TOKENS = 4000 * 4, MAX = 256 * 1024;
const misses = [];
const figures = [];
const size = (v) => Buffer.byteLength(JSON.stringify(v));

const transport = new StdioClientTransport({ command, args, env: { ...process.env }, stderr: "inherit" });
const client = new Client({ name: "budgets", version: "1" });
let late = 0;
client.onerror = (err) => {
  if (/progress/i.test(String(err?.message ?? err))) { late++; console.error("late:", err?.message ?? err); }
  else console.error("client error:", err?.message ?? err);
};
await client.connect(transport);

const tools = await client.listTools();
figures.push(`tools/list ${size(tools)} B (${tools.tools.length} tools)`);
if (size(tools) > TOKENS) misses.push(`tools/list is ${size(tools)} bytes, over ${TOKENS}`);

async function call(name, args, budget = MAX) {
  const progress = [];
  const start = Date.now();
  const res = await client.callTool({ name, arguments: args }, undefined, {
    onprogress: () => progress.push(Date.now()), timeout: 600000,
  });
  const took = (Date.now() - start) / 1000;
  const n = size(res);
  figures.push(`${name} ${n} B`);
  if (res.isError) misses.push(`${name}: ${JSON.stringify(res.content)}`);
  if (n > budget) misses.push(`${name} result is ${n} bytes, over ${budget}`);
  if (progress.length > 1 + 4 * took) misses.push(`${name}: ${progress.length} progress notifications in ${took}s`);
  return res;
}

const names = tools.tools.map((t) => t.name);
for (const d of ["discover_proxmox", "discover_homeassistant", "list_truenas_pools"]) {
  if (names.includes(d)) await call(d, {});
}
const prev = await call("preview_sync", {});
await call("get_plan", {}, TOKENS);
if (names.includes("list_conflicts")) await call("list_conflicts", { show: "warnings" });
if (names.includes("find_host")) {
  const first = prev.structuredContent?.first_actions?.[0]?.name;
  if (first) await call("find_host", { query: first });
}
await call("sync_status", {});

let uri = "netbox-agent://plans/last", seen = 0, pages = 0, biggest = 0;
while (uri) {
  const r = await client.readResource({ uri });
  const text = r.contents[0].text;
  biggest = Math.max(biggest, Buffer.byteLength(text));
  if (Buffer.byteLength(text) > MAX) { misses.push(`${uri} is ${Buffer.byteLength(text)} bytes`); break; }
  const page = JSON.parse(text);
  seen += page.actions.length;
  pages++;
  uri = page.next_uri;
}
const total = prev.structuredContent?.summary?.total ?? -1;
figures.push(`plans/last ${pages} pages, largest ${biggest} B`);
if (seen !== total) misses.push(`paging plans/last saw ${seen} actions, the plan has ${total}`);
if (late > 0) misses.push(`${late} progress notifications arrived after their result`);
await client.close();
if (misses.length) { console.error("budgets: FAIL\n- " + misses.join("\n- ")); process.exit(1); }
console.log(`budgets: ok (${figures.join(", ")})`);
