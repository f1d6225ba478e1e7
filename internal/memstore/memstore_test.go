package memstore_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/memstore"
	"github.com/gatehouse-auth/gatehouse/storetest"
)

var _ storetest.UsersAndTokens = (*memstore.Store)(nil)

// The fake keeps the same promises as the SQL store.
func TestConformance(t *testing.T) {
	storetest.RunUserTests(t, func(*testing.T) storetest.UsersAndTokens { return memstore.New() })
}

// The zero value is an empty store ready to use.
func TestZeroValue(t *testing.T) {
	storetest.RunUserTests(t, func(*testing.T) storetest.UsersAndTokens { return new(memstore.Store) })
}
