package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// signingKeysLock is the PostgreSQL advisory lock id that serialises
// UpdateSigningKeys across replicas ("gh-keys!" in ASCII; goose's
// migration lock has another id).
const signingKeysLock int64 = 0x67682d6b65797321

const signingKeyColumns = "kid, algorithm, public_key, private_sealed, created, signs_from, signs_until, published_until"

// SigningKeys lists every key, by schedule.
func (s *Store) SigningKeys(ctx context.Context) (_ []gatehouse.SigningKey, err error) {
	defer s.classified(&err)
	keys, err := s.signingKeys(ctx, s.db)
	return keys, s.classify(err)
}

func (s *Store) signingKeys(ctx context.Context, q querier) ([]gatehouse.SigningKey, error) {
	rows, err := q.QueryContext(ctx, s.q("SELECT "+signingKeyColumns+" FROM signing_keys"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []gatehouse.SigningKey
	for rows.Next() {
		var k gatehouse.SigningKey
		var created, from int64
		var until, published sql.NullInt64
		if err := rows.Scan(&k.KID, &k.Algorithm, &k.PublicKey, &k.Sealed, &created, &from, &until, &published); err != nil {
			return nil, err
		}
		k.Created, k.SignsFrom = fromMicros(created), fromMicros(from)
		k.SignsUntil, k.PublishedUntil = fromNullMicros(until), fromNullMicros(published)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	gatehouse.SortSigningKeys(keys)
	return keys, nil
}

// UpdateSigningKeys runs fn on every key in one transaction: on
// PostgreSQL under a transaction-scoped advisory lock that every replica's
// UpdateSigningKeys takes first, on SQLite under the write lock the
// transaction takes when it begins (_txlock=immediate).
func (s *Store) UpdateSigningKeys(ctx context.Context, fn func([]gatehouse.SigningKey) (gatehouse.SigningKeyChange, error)) (err error) {
	defer s.classified(&err)
	var fnErr error
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.dollar {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", signingKeysLock); err != nil {
				return err
			}
		}
		keys, err := s.signingKeys(ctx, tx)
		if err != nil {
			return err
		}
		change, err := fn(keys)
		if err != nil {
			fnErr = err
			return err
		}
		for _, k := range change.Create {
			if _, err := tx.ExecContext(ctx, s.q("INSERT INTO signing_keys ("+signingKeyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
				k.KID, k.Algorithm, k.PublicKey, k.Sealed, micros(k.Created), micros(k.SignsFrom),
				nullMicros(k.SignsUntil), nullMicros(k.PublishedUntil)); err != nil {
				return s.conflict(err)
			}
		}
		for _, k := range change.Update {
			res, err := tx.ExecContext(ctx, s.q("UPDATE signing_keys SET signs_from = ?, signs_until = ?, published_until = ? WHERE kid = ?"),
				micros(k.SignsFrom), nullMicros(k.SignsUntil), nullMicros(k.PublishedUntil), k.KID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("signing key %q: %w", k.KID, gatehouse.ErrNotFound)
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// DeleteExpiredSigningKeys deletes up to batch keys published until now
// or earlier.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time, batch int) (_ int64, err error) {
	defer s.classified(&err)
	res, err := s.exec(ctx, `DELETE FROM signing_keys WHERE kid IN
		(SELECT kid FROM signing_keys WHERE published_until IS NOT NULL AND published_until <= ? ORDER BY published_until LIMIT ?)`, micros(now), batch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
