# gatehouse: the two everyday commands are `make run` and `make test`.
GO ?= go
GATEHOUSE_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export GATEHOUSE_TEST_POSTGRES_URL

.PHONY: run test build vet compat fuzz

run:
	$(GO) run ./cmd/gatehouse serve

build:
	$(GO) build -o gatehouse ./cmd/gatehouse

vet:
	$(GO) vet ./...

# Runs every test on SQLite, and on PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL
# reaches a server. Without one, one line says PostgreSQL was not tested;
# GATEHOUSE_TEST_POSTGRES_REQUIRED=1 (CI) turns that into a failure.
test: vet
	@backends=$$($(GO) run ./internal/testdb/pgprobe) || exit 1; \
	if [ "$$backends" = postgres ]; then $(GO) test -count=1 ./...; \
	else GATEHOUSE_TEST_POSTGRES_URL= $(GO) test -count=1 ./...; fi

compat:
	bash compat/run.sh

FUZZTIME ?= 10s
fuzz:
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$t $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$t || exit 1; \
	  done; \
	done
