# netbox-agent: the README's two commands are `make demo` and `make test`.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 5s

.PHONY: build test test-netbox bench lint fmt fuzz demo clean reliability

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/netbox-agent ./cmd/netbox-agent
	@if [ -d cmd/netbox-lab ]; then CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/netbox-lab ./cmd/netbox-lab; fi

# The tests, with the race detector. Tests that need root (nmap in network namespaces) run
# when root, as CI is; elsewhere they say why they skipped.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# The NetBox-facing suites (NetBox client, sync end to end, --run-once, reliability rows)
# against a real NetBox: the one named by NETBOX_TEST_URL/NETBOX_TEST_TOKEN (and
# NETBOX_TEST_RESET), else 4.3.7 then 4.6.8 (v2 token) started and stopped through the
# shared realnetbox script. See the README, "Testing against a real NetBox".
test-netbox:
	bash scripts/test-netbox.sh

# Benchmarks print their figures (requests, wall time, objects/s, RSS) as custom metrics.
bench:
	$(GO) test -run='^$$' -bench=. -benchtime=1x -timeout=30m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Every fuzz target, briefly (CI runs this; FUZZTIME=1m for longer).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

# The README's first command: build both binaries, start the lab, run --run-once twice (the
# first creates, the second finds nothing to do), say where to look, stop the lab.
demo:
	bash scripts/demo.sh

# The fault matrix (docs/reliability.md): NetBox and source faults, the agent SIGKILLed mid-apply,
# bad inputs, load and secret canaries, end to end on loopback; prints the table, fails on any
# failing row. RELIABILITY_REPORT=FILE also writes it as Markdown.
reliability:
	$(GO) test -run '^TestMatrix$$' -v -count=1 -timeout 15m ./test/reliability

clean:
	rm -rf $(BIN)
