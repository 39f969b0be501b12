// Small helpers for run.sh, so the script needs nothing but the pinned Node.
//   node util.mjs free-port
//   node util.mjs wait-http URL SECONDS          (exit 0 once URL answers 200)
//   node util.mjs status URL [Header: value]...  (prints the HTTP status of a POST initialize)
//   node util.mjs get FILE PATH                   (prints a field of a JSON file: a.b.c)
//   node util.mjs has-tools FILE NAME...          (exit 1 unless every tool is listed)
import net from "node:net";
import fs from "node:fs";

const [cmd, ...args] = process.argv.slice(2);
const die = (msg) => { console.error(msg); process.exit(1); };

function field(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

// The Inspector prints the result (sometimes after a banner): take the last JSON document.
// --format json wraps the answer as {"result": ...}.
function readJSON(file) {
  const doc = parseJSON(file);
  return doc && typeof doc === "object" && "result" in doc ? doc.result : doc;
}

function parseJSON(file) {
  const text = fs.readFileSync(file, "utf8").trim();
  try { return JSON.parse(text); } catch {}
  for (let i = text.lastIndexOf("\n{"); i >= 0; i = text.lastIndexOf("\n{", i - 1)) {
    try { return JSON.parse(text.slice(i + 1)); } catch {}
  }
  try { return JSON.parse(text.slice(text.indexOf("{"))); } catch {}
  die(`${file}: no JSON result in:\n${text}`);
}

switch (cmd) {
  case "free-port": {
    const s = net.createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
    break;
  }
  case "wait-http": {
    const [url, secs] = args;
    const deadline = Date.now() + Number(secs || 20) * 1000;
    for (;;) {
      try { const r = await fetch(url); if (r.status === 200) process.exit(0); } catch {}
      if (Date.now() > deadline) die(`${url} did not answer 200 within ${secs}s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  case "status": {
    const [url, ...hdrs] = args;
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    for (const h of hdrs) { const i = h.indexOf(":"); headers[h.slice(0, i).trim()] = h.slice(i + 1).trim(); }
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "run.sh", version: "1" } } });
    const r = await fetch(url, { method: "POST", headers, body });
    console.log(r.status);
    break;
  }
  case "get": {
    const v = field(readJSON(args[0]), args[1]);
    if (v === undefined) die(`${args[0]}: no ${args[1]}`);
    console.log(typeof v === "string" ? v : JSON.stringify(v));
    break;
  }
  case "has-tools": {
    const doc = readJSON(args[0]);
    const names = (doc.tools || []).map((t) => t.name);
    const missing = args.slice(1).filter((n) => !names.includes(n));
    if (missing.length) die(`tools/list lacks ${missing.join(", ")} (has ${names.join(", ")})`);
    console.log(names.join(" "));
    break;
  }
  default:
    die(`unknown command ${cmd}`);
}
