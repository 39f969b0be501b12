#!/usr/bin/env bash
# make demo: build netbox-agent and netbox-lab, start the lab (NetBox, Proxmox VE, TrueNAS and
# Home Assistant simulators on 127.0.0.1 with a sample homelab), run `netbox-agent --run-once`
# twice against it (the first run creates everything, the second finds nothing to do), say
# where to look, and stop the lab. Exits non-zero when either run fails or the second run
# still has work.
#
# Knobs (environment):
#   DEMO_DIR        lab directory (default: a new temporary directory, kept afterwards)
#   DEMO_VMS        extra synthetic VMs for the lab (default 0)
#   DEMO_NETBOX     NetBox version to simulate: 4.3 (default) or 4.7
#   DEMO_HOLD=1     keep the lab running after the runs until Ctrl-C (to browse NetBox's API
#                   or try the MCP Inspector against it)
#   READY_TIMEOUT   seconds to wait for the lab (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."

bold() { if [[ -t 1 ]]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
step() { echo; bold "==> $*"; }

step "build"
make --no-print-directory build
[[ -x bin/netbox-agent && -x bin/netbox-lab ]] || { echo "demo: make build did not produce bin/netbox-agent and bin/netbox-lab" >&2; exit 1; }

dir="${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/netbox-demo.XXXXXX")}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
config="$dir/netbox-agent.yaml"
rm -f "$dir/ready"

lab_pid=""
stop_lab() {
  if [[ -n "$lab_pid" ]] && kill -0 "$lab_pid" 2>/dev/null; then
    kill -TERM "$lab_pid" 2>/dev/null || true
    wait "$lab_pid" 2>/dev/null || true
    echo "lab stopped (its files stay in $dir)"
  fi
  lab_pid=""
}
trap stop_lab EXIT
holding=""
# Ctrl-C ends a held demo normally; anywhere else it is an interruption.
trap 'if [[ -n "$holding" ]]; then exit 0; fi; exit 130' INT TERM

step "start the lab in $dir"
bin/netbox-lab --dir "$dir" --vms "${DEMO_VMS:-0}" --netbox "${DEMO_NETBOX:-4.3}" \
  >"$dir/netbox-lab.out" 2>"$dir/netbox-lab.log" &
lab_pid=$!
timeout="${READY_TIMEOUT:-120}"
waited=0
until [[ -f "$dir/ready" ]]; do
  if ! kill -0 "$lab_pid" 2>/dev/null; then
    wait "$lab_pid" 2>/dev/null || true
    lab_pid=""
    echo "demo: netbox-lab exited before it was ready:" >&2
    cat "$dir/netbox-lab.log" >&2
    exit 1
  fi
  if ((waited >= timeout * 10)); then
    echo "demo: the lab is not ready after ${timeout}s; its log:" >&2
    cat "$dir/netbox-lab.log" >&2
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done
tail -n +2 "$dir/netbox-lab.out"
netbox_url="$(sed -n 's/^  netbox  *NetBox [^ ]*  *\(http[^ ]*\)$/\1/p' "$dir/netbox-lab.out")"

# run N: one headless run; its plan and report go to run-N.txt, its log to run-N.log.
run() {
  local n="$1" rc=0
  bin/netbox-agent --config "$config" --run-once >"$dir/run-$n.txt" 2>"$dir/run-$n.log" || rc=$?
  return "$rc"
}
# The plan of a first run is long: show its sections and the totals, point at the rest.
summarize() {
  grep -E '^(Plan |[a-z][a-z ]* \([0-9]+\)$|[0-9]+ to create|Applied |Nothing to do)' "$1" || true
  # The machines created, by name.
  awk '/^[a-z][a-z ]* \([0-9]+\)$/ { sec = $0; sub(/ \([0-9]+\)$/, "", sec); next }
       (sec == "device" || sec == "virtual machine") && /^  \+ / { n[sec] = n[sec] " " $2 }
       END { if (n["device"] != "") print "  devices created:" n["device"]
             if (n["virtual machine"] != "") print "  virtual machines created:" n["virtual machine"] }' "$1" |
    cut -c1-400
}

step "first run: netbox-agent --config $config --run-once"
rc1=0
run 1 || rc1=$?
summarize "$dir/run-1.txt"
echo "(full plan: $dir/run-1.txt, log: $dir/run-1.log; exit code $rc1)"

step "facts known only as keys land on the interface docs/facts.md names (mgmt0, mac-...)"
# An offline Proxmox node's address, a hosts-file line's address, Home Assistant MAC
# connections: each on its machine, not dropped.
grep -E '^  \+ [^ ]+ on .* (mgmt0|mac-[0-9a-f]{12})$|^  \+ [^ ]+ (mgmt0|mac-[0-9a-f]{12})$' "$dir/run-1.txt" | head -20 || true
# What the plan leaves out, and the inputs sources skipped, each with the reason.
sed -n '/^not written (/,/^$/p' "$dir/run-1.txt" | head -12
sed -n 's/.*"msg":"source skipped inputs","source":"\([^"]*\)","reason":"\([^"]*\)","count":\([0-9]*\).*/  skipped by \1: \3 (\2)/p' "$dir/run-1.log"

step "second run: nothing changed in the sources, so nothing to do"
rc2=0
run 2 || rc2=$?
cat "$dir/run-2.txt"
echo "(log: $dir/run-2.log; exit code $rc2)"

status=0
if ((rc1 != 0)); then
  echo "demo: the first run failed (exit code $rc1); the end of its log:" >&2
  tail -n 30 "$dir/run-1.log" >&2
  status=1
fi
if ((rc2 != 0)); then
  echo "demo: the second run failed (exit code $rc2); the end of its log:" >&2
  tail -n 30 "$dir/run-2.log" >&2
  status=1
elif ! grep -Eq '^(Nothing to do|0 to create, 0 to update, 0 to mark stale, 0 to delete)' "$dir/run-2.txt"; then
  echo "demo: the second run still had work to do: it should find NetBox in step" >&2
  status=1
fi

step "where to look"
cat <<EOF
  lab directory     $dir
    agent config    $config  (fake lab tokens inline)
    inventory       $dir/inventory.csv
    plans and runs  $dir/state, $dir/run-1.txt, $dir/run-2.txt
  NetBox API        ${netbox_url:-see $dir/netbox-lab.out}  (while the lab runs; token in the config)
  run the lab yourself:  bin/netbox-lab --dir /tmp/nblab   (Ctrl-C stops it)
  MCP Inspector (web UI; needs Node 22, once: npm ci --prefix test/mcp-clients):
    bin/netbox-lab --dir /tmp/nblab & until [ -f /tmp/nblab/ready ]; do sleep 0.2; done; npx --prefix test/mcp-clients mcp-inspector -e NETBOX_AGENT_CONFIG=/tmp/nblab/netbox-agent.yaml "\$PWD/bin/netbox-agent"; kill \$!
EOF

if ((status == 0)); then
  step "demo ok: the first run created the homelab in NetBox, the second found nothing to do"
fi
if ((status == 0)) && [[ "${DEMO_HOLD:-}" == 1 ]]; then
  step "the lab keeps running (Ctrl-C stops it)"
  token="$(sed -n 's/^  token: "\(.*\)"$/\1/p' "$config" | head -1)"
  scheme=Token
  [[ "$token" == nbt_* ]] && scheme=Bearer
  echo "  curl -H 'Authorization: $scheme $token' $netbox_url/api/dcim/devices/"
  echo "  npx --prefix test/mcp-clients mcp-inspector -e NETBOX_AGENT_CONFIG=$config \"\$PWD/bin/netbox-agent\""
  holding=1
  wait "$lab_pid" || true
fi
exit "$status"
