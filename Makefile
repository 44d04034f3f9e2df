# The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin

.PHONY: run test build fuzz bench ab ingest drills vet

## run: start Postgres and Redis if needed, migrate, run origin and edge (Ctrl-C stops)
run:
	@bash scripts/run.sh

## test: start Postgres and Redis if needed, run every test with the race detector,
## then the allocation tests without it (the race detector allocates) and the batcher's
## scheduling test (the race detector randomizes the order of runnable goroutines)
test:
	@eval "$$(bash scripts/services.sh)" && bash scripts/testtools.sh && \
	  $(MAKE) --no-print-directory vet && \
	  go test -race -count=1 -timeout 15m -coverpkg=./... -coverprofile=cover.out ./... && \
	  go test -count=1 -run 'AllocatesNothing|FirstBatch' ./edge/ && \
	  bash scripts/coverage.sh cover.out

build:
	go build -o bin/rebound ./cmd/rebound

## vet: go vet and staticcheck (pinned; fetched through the module proxy on first use)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
vet:
	@test -z "$$(gofmt -l .)" || { echo 'gofmt would change:'; gofmt -l .; exit 1; }
	go vet ./...
	go run $(STATICCHECK) ./...

## fuzz: run each fuzz target for a while (FUZZTIME, default 30s)
FUZZTIME ?= 30s
fuzz:
	@eval "$$(bash scripts/services.sh)" && \
	for pkg in $$(go list ./...); do \
	  for f in $$(go test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## bench: regenerate BENCHMARKS.md (starts its own edge, origin and baseline)
bench:
	@eval "$$(bash scripts/services.sh)" && go build -o bin/rebound ./cmd/rebound && \
	  go build -o bin/reboundbench ./bench/cmd/reboundbench && bin/reboundbench $(BENCHFLAGS)

## ingest: how fast the origin stores queued clicks, and the CPU per click
## (INGEST_BIN=bin/rebound.before to measure another build; INGEST_CLICKS=2000000)
INGEST_BIN ?= bin/rebound
INGEST_CLICKS ?= 2000000
ingest:
	@eval "$$(bash scripts/services.sh)" && go build -o bin/rebound ./cmd/rebound && \
	  go build -o bin/reboundbench ./bench/cmd/reboundbench && \
	  bin/reboundbench -rebound $(INGEST_BIN) -ingest $(INGEST_CLICKS) -json /tmp/rebound-ingest/latest.json

## ab: edge variants side by side with the bare server, round by round, with CPU per request
## (AB='now=;noslack=REBOUND_EDGE_TIMER_SLACK=0' or AB='now=;before=@bin/rebound.before'; BENCHFLAGS='-rounds 6')
AB ?= now=
ab:
	@eval "$$(bash scripts/services.sh)" && go build -o bin/rebound ./cmd/rebound && \
	  go build -o bin/reboundbench ./bench/cmd/reboundbench && bin/reboundbench -ab '$(AB)' $(BENCHFLAGS)

## drills: run the reliability drills against a private Postgres and Redis; regenerate RELIABILITY.md
drills:
	@eval "$$(bash scripts/services.sh)" && go build -o bin/rebound ./cmd/rebound && \
	  go build -o bin/reboundbench ./bench/cmd/reboundbench && bin/reboundbench -drills RELIABILITY.md
