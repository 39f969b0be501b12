#!/usr/bin/env bash
# Runs the image built by build-image.sh against the lab (simulators on 127.0.0.1; the
# container shares the host's network namespace so it reaches them on loopback and nothing
# else): --run-once twice (the second must find nothing to do), then the HTTP mode with
# /healthz and /readyz probed and /metrics scraped, checking that the process runs as uid 65532
# with no capability but NET_RAW in its bounding set. Prints the image size. Root; podman.
#
#   sudo packaging/run-image.sh [IMAGE]      # default localhost/netbox-agent:latest
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-localhost/netbox-agent:latest}
PODMAN=(podman --storage-driver "${STORAGE_DRIVER:-vfs}" ${PODMAN_RUNTIME:+--runtime "$PODMAN_RUNTIME"})
PORT=${PORT:-18080}
log() { printf 'run-image: %s\n' "$*" >&2; }
die() { printf 'run-image: FAIL: %s\n' "$*" >&2; exit 1; }

[ -x bin/netbox-lab ] || make build >/dev/null
dir=$(mktemp -d /tmp/netbox-agent-image.XXXXXX)
chmod 755 "$dir"
bin/netbox-lab --dir "$dir" >"$dir/lab.out" 2>"$dir/lab.log" &
lab=$!
ctr=""
cleanup() {
  [ -n "$ctr" ] && "${PODMAN[@]}" rm -f "$ctr" >/dev/null 2>&1 || true
  kill "$lab" 2>/dev/null || true
  wait "$lab" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do [ -f "$dir/ready" ] && break; sleep 0.2; done
[ -f "$dir/ready" ] || die "lab not ready: $(cat "$dir/lab.log")"
# The agent (uid 65532) reads the lab's config, CA files and inventory. On machines whose
# cgroups crun cannot drive (hybrid v1/v2, as in some sandboxes) set PODMAN_RUNTIME=runc.
chmod -R a+rX "$dir"
chmod 644 "$dir/netbox-agent.yaml"
mkdir -p "$dir/state" && chmod 1777 "$dir/state"   # the lab config's state_dir, writable
common=(${PODMAN_CGROUPS:+--cgroups "$PODMAN_CGROUPS"} --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 --network host --user 65532:65532 --cap-drop ALL --cap-add NET_RAW --read-only
  --tmpfs /var/lib/netbox-agent:rw,mode=1777 --tmpfs /tmp:rw,mode=1777 -v "$dir:$dir:ro" -v "$dir/state:$dir/state:rw")

log "run-once #1"
"${PODMAN[@]}" run --rm "${common[@]}" "$IMAGE" --config "$dir/netbox-agent.yaml" --run-once >"$dir/run1.txt" 2>"$dir/run1.log" \
  || die "run-once #1 exit $?: $(tail -5 "$dir/run1.log")"
grep -E '^Applied plan' "$dir/run1.txt" >&2 || die "run-once #1 applied nothing: $(tail -5 "$dir/run1.txt")"
log "run-once #2"
"${PODMAN[@]}" run --rm "${common[@]}" "$IMAGE" --config "$dir/netbox-agent.yaml" --run-once >"$dir/run2.txt" 2>"$dir/run2.log" \
  || die "run-once #2 exit $?"
grep -q 'Nothing to do' "$dir/run2.txt" || die "run-once #2 still had work: $(cat "$dir/run2.txt" | tail -5)"
grep 'Nothing to do' "$dir/run2.txt" >&2

log "HTTP mode on 127.0.0.1:$PORT"
ctr=$("${PODMAN[@]}" run -d "${common[@]}" "$IMAGE" --config "$dir/netbox-agent.yaml" --http "127.0.0.1:$PORT")
ok=""
for _ in $(seq 150); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >"$dir/readyz" 2>/dev/null; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || die "/readyz never answered 200: $(curl -sS "http://127.0.0.1:$PORT/readyz" 2>&1); $("${PODMAN[@]}" logs "$ctr" 2>&1 | tail -5)"
log "/readyz: $(cat "$dir/readyz")"
log "/healthz: $(curl -fsS "http://127.0.0.1:$PORT/healthz")"
n=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -c '^netbox_agent_') || die "/metrics"
log "/metrics: $n netbox_agent_ samples"
status=$("${PODMAN[@]}" exec "$ctr" cat /proc/1/status)
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$status")
log "pid 1 Uid: $uid"
[ "$uid" = "65532 65532 65532 65532" ] || die "not running as 65532: $uid"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
  v=$(awk -v c="$c:" '$1 == c {print $2}' <<<"$status")
  log "pid 1 $c: $v ($(command -v capsh >/dev/null && capsh --decode="$v" | sed 's/.*=//'))"
  # NET_RAW is bit 13 (0x2000): nothing else may be in any set
  (( (16#$v & ~0x2000) == 0 )) || die "$c has capabilities besides NET_RAW: $v"
done
"${PODMAN[@]}" exec "$ctr" nmap --version | head -n1 >&2
"${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$IMAGE" >&2
log "OK"
