package store_test

import (
	"os"
	"slices"
	"testing"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
	"github.com/gatehouse-auth/gatehouse/storetest"
)

var _ gatehouse.Store = (*store.Store)(nil)

// TestConformance runs the storage contract's suite on every backend:
// TestConformance/sqlite/..., and TestConformance/postgres/... when
// GATEHOUSE_TEST_POSTGRES_URL is set. Each test gets a fresh, migrated
// database.
func TestConformance(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			storetest.RunTests(t, func(t *testing.T) gatehouse.Store { return testdb.Open(t, backend) })
		})
	}
}

// TestConformanceRunsOnPostgres fails where PostgreSQL is required
// (GATEHOUSE_TEST_POSTGRES_REQUIRED=1, as CI sets it) but the suites above
// would run on SQLite only: the PostgreSQL conformance suite cannot be
// skipped without a failure.
func TestConformanceRunsOnPostgres(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_REQUIRED") != "1" {
		t.Skip("PostgreSQL not required (GATEHOUSE_TEST_POSTGRES_REQUIRED)")
	}
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Fatalf("PostgreSQL is required, and the conformance suites would not run on it: %s is empty", testdb.EnvPostgres)
	}
}

// TestThrottleConformance runs the ThrottleStore suite on every backend.
func TestThrottleConformance(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			storetest.RunThrottleTests(t, func(t *testing.T) gatehouse.ThrottleStore { return testdb.Open(t, backend) })
		})
	}
}

// TestKnoxConformance runs the KnoxTokenStore suite on every backend.
func TestKnoxConformance(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			storetest.RunKnoxTests(t, func(t *testing.T) storetest.KnoxStores { return testdb.Open(t, backend) })
		})
	}
}
