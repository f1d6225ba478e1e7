# gatehouse: the two everyday commands are `make run` and `make test`.
GO ?= go
GATEHOUSE_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export GATEHOUSE_TEST_POSTGRES_URL

.PHONY: run test build vet compat fuzz

# make run builds ./gatehouse (as make build) and serves with it, so the
# README's next ./gatehouse command runs the same binary.
run: build
	./gatehouse serve

# The version, commit and commit date go into the binary
# (internal/buildinfo; gatehouse version). Outside a git checkout they are
# left to what the Go toolchain records.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE ?= $(shell git log -1 --format=%cI 2>/dev/null)
BUILDINFO = github.com/gatehouse-auth/gatehouse/internal/buildinfo
LDFLAGS = -s -w -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(DATE)

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o gatehouse ./cmd/gatehouse

vet:
	$(GO) vet ./...

# Runs every test on SQLite, and on PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL
# reaches a server. Without one, one line says PostgreSQL was not tested;
# GATEHOUSE_TEST_POSTGRES_REQUIRED=1 (CI) turns that into a failure.
# Then the tracing built with -tags otel (docs/operations.md, Tracing): its
# tests only, as the rest of the tagged build is the default build's code.
test: vet
	@backends=$$($(GO) run ./internal/testdb/pgprobe) || exit 1; \
	if [ "$$backends" = postgres ]; then $(GO) test -count=1 ./...; \
	else GATEHOUSE_TEST_POSTGRES_URL= $(GO) test -count=1 ./...; fi
	$(GO) test -count=1 -tags otel -run Trac ./tracing/ ./site/

compat:
	bash compat/run.sh

# Runs every Fuzz* target in turn for FUZZTIME (CI: FUZZTIME=30000x, a
# count), or for the budget FUZZ_BUDGETS gives its package or itself
# (./dir=budget or FuzzName=budget; the last entry that matches wins). The
# default budgets are for the packages whose test binary links SQLite:
# there the fuzzing engine, which compares every coverage counter of the
# binary after each input, manages about 2,000 inputs a second on two CPUs
# where the others manage 10,000 and more. FUZZ_BUDGETS= runs every target
# for FUZZTIME. Inputs that find new code are not minimized
# (FUZZMINIMIZETIME=0): the engine would spend up to a minute on each,
# longer than the run; a failing input is kept as found (in the package's
# testdata/fuzz, as go test -fuzz keeps it).
#
# Each package's instrumented test binary is built once (go test -c -fuzz)
# and run for each of its targets, in the package directory as go test
# runs it: `go test -fuzz` per target would check the build and link the
# binary again every time, about two seconds each.
#
# The inputs that found new code are kept in FUZZCACHEDIR, by default a
# new directory each run, removed after it. In Go's own place (GOCACHE)
# they would be replayed before every later run, a corpus growing with each
# one and shared by every checkout on the machine (where `go clean
# -fuzzcache` would break a run in progress). The directory is passed with
# -test.fuzzcachedir, the flag cmd/go itself gives test binaries: should a
# Go release rename it, the run fails at once naming it. Set FUZZCACHEDIR
# to keep a corpus across runs.
FUZZTIME ?= 10s
FUZZMINIMIZETIME ?= 0
FUZZ_BUDGETS ?= ./server=3000x ./store=3000x ./cmd/gatehouse=3000x ./guard=3000x ./site=3000x
FUZZCACHEDIR ?=
fuzz:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cache="$(FUZZCACHEDIR)"; [ -n "$$cache" ] || cache=$$tmp/corpus; mkdir -p "$$cache" && cache=$$(cd "$$cache" && pwd); \
	for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  bin=$$tmp/$$(echo "$$t" | tr './' '__').test; \
	  $(GO) test -c -fuzz=. -o "$$bin" "$$t" || exit 1; \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    budget=$(FUZZTIME); \
	    for b in $(FUZZ_BUDGETS); do case "$${b%%=*}" in "$$t"|"$$f") budget=$${b#*=};; esac; done; \
	    echo "fuzz $$t $$f $$budget"; \
	    (cd "$$t" && "$$bin" -test.run='^$$' -test.fuzz="^$$f$$" -test.fuzztime=$$budget -test.timeout=10m \
	      -test.fuzzminimizetime=$(FUZZMINIMIZETIME) -test.fuzzcachedir="$$cache/$$t") || exit 1; \
	  done; \
	done
