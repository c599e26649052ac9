# segd — make run starts a server, make test runs every test.
SHELL    := /bin/bash
GO       ?= go
BIN      := bin
DATA     ?= ./segd-data
PKGS     := ./...
TESTFLAGS ?= -race -timeout 15m

.PHONY: all build run test test-short node-deps soak fuzz-long bench bench-engine bench-events bench-wire bench-redis bench-redis-benchmark bench-segment-writes bench-chart fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN)/segd ./cmd/segd
	$(GO) build -o $(BIN)/segd-bench ./cmd/segd-bench

run: build
	$(BIN)/segd --dir $(DATA)

# The whole suite (about 10 minutes on 2 cores): the Node.js client tests'
# packages are installed first when npm is there, and the end lists every
# skipped test with its reason. SEGD_TEST_STRICT=1 (CI sets it) turns a
# skip for a missing program (redis-cli, node, chromium …) into a failure.
test: node-deps
	$(GO) vet $(PKGS)
	set -o pipefail; $(GO) test $(TESTFLAGS) -json $(PKGS) | $(GO) run ./internal/testsummary

# A quicker pass (about 2 minutes): no race detector, long tests skipped.
test-short:
	$(GO) test -short $(PKGS)

# node-redis and ioredis for server/node_compat_test.go, pinned in the lock
# file; nothing to do without npm, or when they are already there.
node-deps:
	@if command -v npm >/dev/null 2>&1 && [ ! compat/node/node_modules/.package-lock.json -nt compat/node/package-lock.json ]; then \
		(cd compat/node && npm ci --no-audit --no-fund); \
	fi

# Crash soak: 1,000 SIGKILL cycles (SOAK_CYCLES per fsync mode, always and
# everysec) under a mixed write load, each verified after a restart (in the
# test process or in a child); the test process logs its resident memory
# every 50 cycles, and it must stay flat. About 30 minutes on 2 cores.
SOAK_CYCLES ?= 500
soak:
	SEGD_CRASH_CYCLES=$(SOAK_CYCLES) SEGD_CRASH_MAX_WRITES=1000 $(GO) test ./server -run '^TestCrashCycles$$' -count=1 -v -timeout 60m

# Engine benchmarks on the generated population (SIZES entities; 10M needs
# ~2 GB RAM and a few minutes to build), plus the BSI and dictionary ones.
SIZES ?= 1000000,10000000
bench: bench-engine

bench-engine:
	SEGD_BENCH_SIZES=$(SIZES) $(GO) test ./bench -run '^$$' -bench Engine -benchtime 2s -timeout 60m
	$(GO) test ./index -run '^$$' -bench 'BSI|Dict' -benchtime 1s -timeout 30m

# Event benchmarks: SIZES customers (1M unless given) with a year of events
# each (EVENT_FIELDS: default purchase,spend,cart_add,coupon_redeem; 10M fits
# in RAM without spend: EVENT_FIELDS=purchase,cart_add,coupon_redeem). Engine
# counts, point evaluation, TOP and memory (5 runs each: take the medians),
# then start-up to ready, RSS and pipelined ENT.TRACK of a real segd on the
# same data. Each data set is built once (minutes) and cached under
# segd-bench-cache under $TMPDIR or /tmp (SEGD_BENCH_CACHE overrides).
EVENT_FIELDS ?= default
bench-events: SIZES = 1000000
bench-events: build
	SEGD_BENCH_SIZES=$(SIZES) SEGD_BENCH_EVENT_FIELDS=$(EVENT_FIELDS) $(GO) test ./bench -run '^$$' -bench Event -benchtime 2s -count 5 -timeout 360m
	for n in $$(echo $(SIZES) | tr , ' '); do \
		$(BIN)/segd-bench events --entities $$n --fields $(EVENT_FIELDS) --restarts 3 --track-entities 100000 || exit 1; \
	done

# Wire figures against a real segd process: load, QUERY.ISMEMBER and ENT.SET
# with 50 clients pipelining 16, resident memory, restart time.
ENTITIES ?= 1000000
bench-wire: build
	$(BIN)/segd-bench wire --entities $(ENTITIES) --clients 50 --pipeline 16 --duration 10s

# segd and a redis-server (started by the tool, no persistence) side by side:
# the same population (with the saved segments and 30 days of events for the
# classes that need them), equivalent queries, memory and load time.
# CLASSES=ismember-1,ismember-3,count-3 runs some classes only.
CLASSES ?= all
bench-redis: build
	$(BIN)/segd-bench redis --entities $(ENTITIES) --clients 50 --pipeline 16 --duration 10s --classes $(CLASSES)

# Redis's own redis-benchmark against an in-memory segd: PING, QUERY.ISMEMBER,
# ENT.SET and QUERY.COUNT with 50 clients pipelining 16.
bench-redis-benchmark: build
	ENTITIES=$(ENTITIES) bench/redis-benchmark.sh

# ENT.SET throughput without and with the 200 saved segments on one segd,
# ROUNDS rounds with fresh seeds, and the ratio (docs/benchmarks.md).
ROUNDS ?= 3
bench-segment-writes: build
	ENTITIES=$(ENTITIES) ROUNDS=$(ROUNDS) bench/segment-writes.sh

# Latency percentiles of the wire and redis runs as an SVG chart.
CHART_DURATION ?= 5s
bench-chart: build
	mkdir -p bench-results
	$(BIN)/segd-bench wire --entities $(ENTITIES) --clients 50 --pipeline 16 --duration $(CHART_DURATION) --json bench-results/wire.json
	$(BIN)/segd-bench redis --entities $(ENTITIES) --clients 50 --pipeline 16 --duration $(CHART_DURATION) --json bench-results/redis.json
	$(BIN)/segd-bench chart --in bench-results/wire.json --in bench-results/redis.json --out docs/latency.svg

# The explorer (docs/explorer.md). Its browser tests run in headless
# Chromium (Debian's chromium package) and are part of `make test`; this
# runs them alone. `screenshots` regenerates docs/explorer-*.png from a
# generated population with a month of simulated writes; `bench-explorer`
# times the API, each view and the live count on ENTITIES customers.
.PHONY: test-browser screenshots bench-explorer
test-browser:
	$(GO) test -race -count=1 ./explorer
	$(GO) test -race -count=1 -v -timeout 5m ./server -run '^TestExplorer'

screenshots:
	SEGD_SCREENSHOTS=$(CURDIR)/docs $(GO) test ./server -run '^TestExplorerScreenshots$$' -count=1 -v -timeout 10m

bench-explorer:
	SEGD_EXPLORER_TIMING=$(ENTITIES) $(GO) test ./server -run '^TestExplorerTimings$$' -count=1 -v -timeout 60m

FUZZTIME ?= 60s
fuzz:
	$(GO) test ./index/expr -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index/expr -run '^$$' -fuzz '^FuzzParseMeasure$$' -fuzztime $(FUZZTIME)
	$(GO) test ./protocol -run '^$$' -fuzz '^FuzzReadCommands$$' -fuzztime $(FUZZTIME)
	$(GO) test ./protocol -run '^$$' -fuzz '^FuzzGuardedReadCommands$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index/dict -run '^$$' -fuzz '^FuzzUnmarshalDict$$' -fuzztime $(FUZZTIME)
	$(GO) test ./protocol -run '^$$' -fuzz '^FuzzParseInt$$' -fuzztime $(FUZZTIME)
	$(GO) test ./server -run '^$$' -fuzz '^FuzzDispatch$$' -fuzztime $(FUZZTIME)

# Every fuzzer for FUZZ_EXECS executions each (-fuzztime Nx): 7 fuzzers x
# 14.3M = 1.0e8 executions in all. Hours on 2 cores (docs/trust.md has the
# measured rates); FUZZ_EXECS=1000000 for a shorter run.
FUZZ_EXECS ?= 14300000
FUZZERS := index/expr:FuzzParse index/expr:FuzzParseMeasure index/dict:FuzzUnmarshalDict \
	protocol:FuzzReadCommands protocol:FuzzGuardedReadCommands protocol:FuzzParseInt \
	server:FuzzDispatch
fuzz-long:
	@for spec in $(FUZZERS); do \
		pkg=$${spec%%:*}; f=$${spec#*:}; \
		echo "== $$f: $(FUZZ_EXECS) executions"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZ_EXECS)x -timeout 0 || exit 1; \
	done

# gofmt, go vet, then golangci-lint with .golangci.yml (errcheck, staticcheck,
# unused, govet, ineffassign, gofmt). .ci/run installs the pinned version:
#   go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
GOLANGCI_LINT ?= $(shell command -v golangci-lint 2>/dev/null || echo "$$($(GO) env GOPATH)/bin/golangci-lint")
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)
	$(GOLANGCI_LINT) run $(PKGS)

clean:
	rm -rf $(BIN)
