package store_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

func TestCheckSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		a, b := secret.CheckValue("first-secret-0123456789"), secret.CheckValue("other-secret-0123456789")
		for range 2 { // the first call stores it, the second compares
			if err := s.CheckSecret(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CheckSecret(ctx, b); !errors.Is(err, store.ErrSecretMismatch) {
			t.Fatalf("another secret: %v", err)
		}
		if err := s.CheckSecret(ctx, a); err != nil {
			t.Fatalf("the mismatch changed the stored value: %v", err)
		}
	})
}
