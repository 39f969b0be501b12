#!/usr/bin/env bash
# Real MCP clients (the MCP Inspector CLI over stdio and HTTP, the MCP conformance suite)
# against the built agent, with the lab's simulators behind it.
#   scripts/mcp-clients-lab.sh [--vms N]   (needs: make build; npm ci in test/mcp-clients)
# --vms N adds N synthetic VMs to the lab (the issue-16 budgets are asserted on --vms 2000 too).
set -euo pipefail
lab_args=()
if [[ "${1:-}" == "--vms" && -n "${2:-}" ]]; then lab_args=(--vms "$2"); fi
cd "$(dirname "$0")/.."
[[ -x bin/netbox-agent && -x bin/netbox-lab ]] || make build
dir="$(mktemp -d)"
bin/netbox-lab --dir "$dir" "${lab_args[@]}" >"$dir/lab.out" 2>"$dir/lab.err" &
lab=$!
cleanup() { kill "$lab" 2>/dev/null || true; wait "$lab" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 200); do
  [[ -e "$dir/ready" ]] && break
  kill -0 "$lab" 2>/dev/null || { cat "$dir/lab.err" >&2; echo "lab exited" >&2; exit 1; }
  sleep 0.1
done
[[ -e "$dir/ready" ]] || { cat "$dir/lab.err" >&2; echo "lab not ready after 20s" >&2; exit 1; }
bash test/mcp-clients/run.sh bin/netbox-agent "$dir/netbox-agent.yaml"
