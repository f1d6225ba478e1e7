package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the bench's own connection to the SQLite file
)

// bulk is the benchmark's loader: it writes generated rows straight into
// gatehouse's tables, one multi-row INSERT of `chunk` rows per
// transaction, so that a million rows take seconds. It is for the
// benchmark only; the rows' hashes are of values nobody holds.
type bulk struct {
	db       *sql.DB
	postgres bool
	seq      int // makes every generated value unique across calls
}

const chunk = 10_000

func openBulk(backend, dbURL string) (*bulk, error) {
	if backend == "postgres" {
		db, err := sql.Open("pgx", dbURL)
		return &bulk{db: db, postgres: true}, err
	}
	db, err := sql.Open("sqlite", "file:"+dbURL+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err == nil {
		db.SetMaxOpenConns(1)
	}
	return &bulk{db: db}, err
}

func (b *bulk) close() { b.db.Close() }

// blob is a 32-byte value unique to i, as a literal of the dialect.
func (b *bulk) blob(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("bench-row-%d", i)))
	if b.postgres {
		return `'\x` + hex.EncodeToString(sum[:]) + `'::bytea`
	}
	return "X'" + hex.EncodeToString(sum[:]) + "'"
}

// insert writes n rows: head is "INSERT INTO t (cols) VALUES ", row(i)
// one parenthesised tuple for the unique number i.
func (b *bulk) insert(n int, head string, row func(i int) string) error {
	var sb strings.Builder
	for done := 0; done < n; {
		k := min(chunk, n-done)
		sb.Reset()
		sb.WriteString(head)
		for j := 0; j < k; j++ {
			if j > 0 {
				sb.WriteByte(',')
			}
			b.seq++
			sb.WriteString(row(b.seq))
		}
		tx, err := b.db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(sb.String()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		done += k
	}
	return nil
}

func (b *bulk) id(q string) (int64, error) {
	var id int64
	err := b.db.QueryRow(q).Scan(&id)
	return id, err
}

// tokens stores n DRF tokens, n JWT refresh records and n OAuth access
// tokens, all valid for a day (or all expired an hour ago when expired).
func (b *bulk) tokens(n int, expired bool, drf, jwt, oauth bool) error {
	user, err := b.id("SELECT id FROM users WHERE username = 'alice'")
	if err != nil {
		return fmt.Errorf("alice: %w", err)
	}
	app, err := b.id("SELECT id FROM oauth_applications WHERE client_id = 'conf-client'")
	if err != nil {
		return fmt.Errorf("conf-client: %w", err)
	}
	now := time.Now()
	exp := now.Add(24 * time.Hour).UnixMicro()
	if expired {
		exp = now.Add(-time.Hour).UnixMicro()
	}
	created := now.Add(-2 * time.Hour).UnixMicro()
	if drf {
		if err := b.insert(n, "INSERT INTO drf_tokens (user_id, key_hash, prefix, name, is_default, created) VALUES ",
			func(i int) string { return fmt.Sprintf("(%d,%s,'bench','',FALSE,%d)", user, b.blob(i), created) }); err != nil {
			return fmt.Errorf("drf_tokens: %w", err)
		}
	}
	if jwt {
		if err := b.insert(n, "INSERT INTO jwt_tokens (jti, user_id, family, created, expires) VALUES ",
			func(i int) string { return fmt.Sprintf("('bench%032x',%d,'',%d,%d)", i, user, created, exp) }); err != nil {
			return fmt.Errorf("jwt_tokens: %w", err)
		}
	}
	if oauth {
		if err := b.insert(n, "INSERT INTO oauth_access_tokens (token_hash, user_id, application_id, scope, family, created, expires) VALUES ",
			func(i int) string {
				return fmt.Sprintf("(%s,NULL,%d,'read write','',%d,%d)", b.blob(i), app, created, exp)
			}); err != nil {
			return fmt.Errorf("oauth_access_tokens: %w", err)
		}
	}
	// Settle what the load left behind (PostgreSQL's autovacuum of fresh
	// tables, SQLite's WAL), so that it does not run during the cases.
	if b.postgres {
		for _, t := range []string{"drf_tokens", "jwt_tokens", "oauth_access_tokens"} {
			if _, err := b.db.Exec("VACUUM ANALYZE " + t); err != nil {
				return err
			}
		}
		// Write the loaded pages out now rather than in the checkpoints
		// that would otherwise fall into the measured cases.
		_, err := b.db.Exec("CHECKPOINT")
		return err
	}
	_, err = b.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// expiredLeft counts the expired rows the cleanup has still to remove.
func (b *bulk) expiredLeft() (int64, error) {
	now := time.Now().UnixMicro()
	return b.id(fmt.Sprintf("SELECT (SELECT COUNT(*) FROM oauth_access_tokens WHERE expires < %d) + (SELECT COUNT(*) FROM jwt_tokens WHERE expires < %d)", now, now))
}
