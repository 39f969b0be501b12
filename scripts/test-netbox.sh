#!/usr/bin/env bash
# make test-netbox: the NetBox-facing suites against a real NetBox.
#
# With NETBOX_TEST_URL and NETBOX_TEST_TOKEN set (and NETBOX_TEST_RESET, a command that empties
# its database; without it the tests delete what they wrote through the API), the suites run
# once against that NetBox. It must be a throwaway one on this machine: the tests empty it.
#
# Otherwise the shared realnetbox script (../shared/realnetbox/realnetbox.sh, or
# REALNETBOX_SCRIPT) starts NetBox 4.3.7, then 4.6.8 with its v2 token, and the suites run
# against each; what this script started it stops again, what was already running it leaves
# running. TEST_NETBOX_VERSIONS="4.6.8" picks versions; TEST_NETBOX_PKGS the packages;
# TEST_NETBOX_RUN a -run pattern.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKGS=${TEST_NETBOX_PKGS:-./internal/testnetbox ./netbox ./sync ./cmd/netbox-agent ./test/reliability ./test/contract}
VERSIONS=${TEST_NETBOX_VERSIONS:-4.3.7 4.6.8}
RUN=${TEST_NETBOX_RUN:-}

run_suites() { # label
  local label=$1 start rc=0 pkg run t0
  start=$(date +%s)
  for pkg in $PKGS; do
    # Only the tests that use a NetBox target (scripts/netbox-tests.awk): the others do not
    # talk to NetBox and ran in make test already. TEST_NETBOX_RUN overrides.
    run=${RUN:-$(awk -f scripts/netbox-tests.awk "$pkg"/*_test.go)}
    # The contract suite reads NETBOX_TEST_* itself (it imports only netboxtest and the
    # standard library, not internal/testnetbox): its one live test compares the real NetBox
    # with netboxtest behaviour by behaviour.
    if [[ $pkg == ./test/contract && -z $RUN ]]; then run='^TestContract$'; fi
    if [[ -z "$run" ]]; then echo "=== test-netbox: $label: $pkg: no test uses a NetBox target"; continue; fi
    echo "=== test-netbox: $label: go test $pkg -run '$run'"
    t0=$(date +%s)
    # The packages take turns on the one NetBox anyway (internal/testnetbox holds a lock per
    # test), so they run one after the other.
    $GO test -count=1 -timeout 30m -run "$run" "$pkg" || rc=1
    echo "=== test-netbox: $label: $pkg: $(($(date +%s) - t0)) s"
  done
  echo "=== test-netbox: $label: exit $rc in $(($(date +%s) - start)) s"
  return $rc
}

if [[ -n "${NETBOX_TEST_URL:-}" || -n "${NETBOX_TEST_TOKEN:-}" ]]; then
  if [[ -z "${NETBOX_TEST_URL:-}" || -z "${NETBOX_TEST_TOKEN:-}" ]]; then
    echo "test-netbox: set both NETBOX_TEST_URL and NETBOX_TEST_TOKEN (one of them is empty)" >&2
    exit 2
  fi
  run_suites "$NETBOX_TEST_URL"
  exit
fi

RNB=${REALNETBOX_SCRIPT:-}
if [[ -z "$RNB" ]]; then
  for c in ../shared/realnetbox/realnetbox.sh ../../shared/realnetbox/realnetbox.sh /work/shared/realnetbox/realnetbox.sh; do
    if [[ -x "$c" ]]; then RNB=$(cd "$(dirname "$c")" && pwd)/realnetbox.sh; break; fi
  done
fi
if [[ -z "$RNB" || ! -x "$RNB" ]]; then
  echo "test-netbox: no NetBox: set NETBOX_TEST_URL and NETBOX_TEST_TOKEN, or REALNETBOX_SCRIPT to realnetbox.sh" >&2
  exit 2
fi

started=()
stop_started() {
  for v in "${started[@]}"; do "$RNB" stop --version "$v" >/dev/null 2>&1 || true; done
}
trap stop_started EXIT

rc=0
for v in $VERSIONS; do
  if ! "$RNB" status --version "$v" >/dev/null 2>&1; then started+=("$v"); fi
  json=$("$RNB" start --version "$v" 2>"/tmp/test-netbox-start-$v.log") || {
    echo "test-netbox: could not start NetBox $v:" >&2; tail -n 20 "/tmp/test-netbox-start-$v.log" >&2; exit 2; }
  # one JSON line: {"url":...,"token":...}; token is the v2 token on 4.6.8
  url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$json")
  tok=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$json")
  if [[ -z "$url" || -z "$tok" ]]; then echo "test-netbox: start of $v printed no url/token" >&2; exit 2; fi
  NETBOX_TEST_URL=$url NETBOX_TEST_TOKEN=$tok NETBOX_TEST_RESET="$RNB reset --version $v" \
    run_suites "NetBox $v ($([[ $tok == nbt_* ]] && echo v2 || echo v1) token)" || rc=1
  # Leave the database empty: a later realnetbox setup that re-makes its template (it does when
  # its NetBox source changed) copies this database, and every reset would bring back what the
  # last test wrote.
  "$RNB" reset --version "$v" >/dev/null 2>&1 || echo "test-netbox: reset of NetBox $v after the suites failed" >&2
done
exit $rc
