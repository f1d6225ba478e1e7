package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// Load inserts a converted dumpdata set in one transaction: all of it, or
// nothing. Users keep their primary keys and hashes.
func (s *Store) Load(ctx context.Context, set fixture.Set) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i := range set.Users {
			if err := s.insertUser(ctx, tx, &set.Users[i], true); err != nil {
				return fmt.Errorf("user %d (%s): %w", set.Users[i].ID, set.Users[i].Username, err)
			}
		}
		for i := range set.Tokens {
			if err := s.insertToken(ctx, tx, &set.Tokens[i]); err != nil {
				return fmt.Errorf("token of user %d: %w", set.Tokens[i].UserID, err)
			}
		}
		for _, r := range set.Refresh {
			if err := s.recordRefresh(ctx, tx, r); err != nil {
				return fmt.Errorf("outstanding token %s: %w", r.JTI, err)
			}
		}
		if err := s.loadOAuth(ctx, tx, set.Applications, set.Grants, set.AccessTokens, set.RefreshTokens); err != nil {
			return err
		}
		if err := s.loadGroups(ctx, tx, set); err != nil {
			return err
		}
		for _, table := range []string{"users", "drf_tokens"} {
			if q := s.d.afterExplicitIDs(table); q != "" {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
