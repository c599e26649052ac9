# segd — make run starts a server, make test runs every test.
GO       ?= go
BIN      := bin
DATA     ?= ./segd-data
PKGS     := ./...
TESTFLAGS ?= -race -timeout 15m

.PHONY: all build run test test-short bench bench-engine bench-wire fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN)/segd ./cmd/segd
	$(GO) build -o $(BIN)/segd-bench ./cmd/segd-bench

run: build
	$(BIN)/segd --dir $(DATA)

test:
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

# Engine micro-benchmarks at 1M and 10M entities (minutes; needs ~8 GB RAM).
bench: bench-engine

bench-engine:
	$(GO) test ./index -run '^$$' -bench . -benchtime 2s -timeout 60m

# Wire throughput with 50 clients and pipelining 16 against a fresh server.
bench-wire: build
	$(BIN)/segd-bench wire --entities 1000000 --clients 50 --pipeline 16

FUZZTIME ?= 60s
fuzz:
	$(GO) test ./index -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./index -run '^$$' -fuzz '^FuzzParseMeasure$$' -fuzztime $(FUZZTIME)
	$(GO) test ./protocol -run '^$$' -fuzz '^FuzzReadCommands$$' -fuzztime $(FUZZTIME)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf $(BIN)
