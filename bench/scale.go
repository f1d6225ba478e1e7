package main

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/secret"

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
	return b.hashLiteral(fmt.Sprintf("bench-row-%d", i))
}

// hashLiteral is the SHA-256 of s (how gatehouse stores its credentials'
// hashes), as a literal of the dialect.
func (b *bulk) hashLiteral(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b.bytesLiteral(sum[:])
}

// oauthKey is the key under which gatehouse stores an OAuth token it
// issued at t (secret.TokenKey of a time-ordered token), as a literal of
// the dialect: the filler rows sit in the token index where the tokens of
// a server that issued them would.
func (b *bulk) oauthKey(t time.Time) string {
	tok, err := secret.OrderedAlnum(rand.Reader, 30, t)
	if err != nil {
		panic(err)
	}
	return b.bytesLiteral(secret.TokenKey(tok))
}

func (b *bulk) bytesLiteral(v []byte) string {
	if b.postgres {
		return `'\x` + hex.EncodeToString(v) + `'::bytea`
	}
	return "X'" + hex.EncodeToString(v) + "'"
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
				// Issued a microsecond apart, from two hours ago on.
				return fmt.Sprintf("(%s,NULL,%d,'read write','',%d,%d)", b.oauthKey(time.UnixMicro(created+int64(i))), app, created, exp)
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

// scaleRounds is the number of rounds of a scale case. The comparison of
// two gatehouse servers is finer than one with the yardstick (10 %), and a
// single round of a few seconds moved by ±15 % on this machine, so the
// median is taken over more rounds than the other cases have.
const scaleRounds = 9

// scale measures /api/me/ and introspection on two fresh servers side by
// side: F with the fixture alone and S with o.scale stored tokens of each
// kind as well. Each case alternates the yardstick, F and S in rounds, and
// S's budget is the median of its rounds' rates over F's in the same
// round: seconds apart, the two see the same machine, where a fixture-only
// figure taken minutes before the stored-tokens one moved by ±7% against
// it between runs. Then S is measured while its background cleanup removes
// o.scale expired rows, against its own p99 without cleanup. Both servers
// are stopped and their databases dropped on return.
func (e *benchEnv) scale(work, bin string) error {
	o := e.o
	fresh := ", fresh server, fixture only"
	stored := fmt.Sprintf(", fresh server, %s stored tokens of each kind", count(o.scale))
	during := stored + ", during cleanup"
	type scaleCase struct {
		name               string
		yard               request
		yardPath, yardName string
		mk                 func(base string, c creds) request // nil: the scheme is not in this build
	}
	jwtYard := get("http://"+e.limitAddr+"/jwt", "Bearer "+e.limitToken)
	bare := get("http://"+e.limitAddr+"/bare", "")
	var cases []scaleCase
	for _, k := range meKinds {
		cases = append(cases, scaleCase{k.name, jwtYard, "GET /jwt", "limit /jwt", func(base string, c creds) request {
			if k.auth(c) == "" {
				return nil
			}
			return get(base+"/api/me/", k.auth(c))
		}})
	}
	cases = append(cases, scaleCase{introspectName, bare, "GET /bare", "limit /bare", func(base string, c creds) request {
		if c.oauth == "" {
			return nil
		}
		return introspection(base, c)
	}})
	// F and S are measured together when -cases selects either.
	wanted := func(name string) bool { return o.want(name+fresh) || o.want(name+stored) }
	cleanup := o.want(introspectName + during)
	some := cleanup
	for _, c := range cases {
		some = some || wanted(c.name)
	}
	if !some {
		return nil
	}

	fixture := filepath.Join(o.reference, "reference", "django-dumpdata.json")
	f, err := newServer(o, work, bin, e.backend, fixture)
	if err != nil {
		return fmt.Errorf("fixture-only server: %w", err)
	}
	defer f.close()
	s, err := newServer(o, work, bin, e.backend, fixture)
	if err != nil {
		return fmt.Errorf("stored-tokens server: %w", err)
	}
	defer s.close()
	b, err := openBulk(e.backend, s.dbURL)
	if err != nil {
		return err
	}
	defer b.close()
	t0 := time.Now()
	if err := b.tokens(o.scale, false, true, true, true); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	e.add(resource(e.backend, fmt.Sprintf("bulk load of %s DRF + %s JWT + %s OAuth rows (bench loader)", count(o.scale), count(o.scale), count(o.scale)),
		time.Since(t0).Round(time.Millisecond).String(), ""))
	if _, err := f.start(); err != nil {
		return fmt.Errorf("fixture-only server: %w", err)
	}
	if _, err := s.start(); err != nil {
		return fmt.Errorf("stored-tokens server: %w", err)
	}
	e.pid, e.hwm, e.hwmCase = s.pid(), 0, ""
	defer func() { e.pid = 0 }()
	fc, sc := credentials(f.base), credentials(s.base)

	all := o
	all.cases = nil
	var withoutCleanup result // S's introspection
	for _, c := range cases {
		fm, sm := c.mk(f.base, fc), c.mk(s.base, sc)
		if !wanted(c.name) || fm == nil || sm == nil {
			continue
		}
		ys, gs := alternate(all, e.backend, scaleRounds, c.yard, contender{name: c.name + fresh, mk: fm}, contender{name: c.name + stored, mk: sm})
		y, fr, sr := merge(ys), vsRounds(ys, gs[0]), vsRounds(ys, gs[1])
		y.name = c.yardPath
		fr.yardstick, fr.yardName, fr.django = y.rps, c.yardName, c.name
		sr.yardstick, sr.yardName, sr.django = y.rps, c.yardName, c.name
		// S's round against F's round of the same turn, not each against
		// the yardstick: adjacent in time, they share the machine's drift.
		var qs []float64
		for i := range gs[0] {
			if gs[0][i].rps > 0 {
				qs = append(qs, gs[1][i].rps/gs[0][i].rps)
			}
		}
		q := median(qs)
		sr.budget = fmt.Sprintf("%.2f of fixture-only in alternating rounds (≥ 0.90: %s)", q, metStr(q >= 0.9))
		if c.name == introspectName {
			withoutCleanup = sr
		}
		e.add(y, fr, sr)
	}

	if cleanup && sc.oauth != "" {
		// Expired rows: half OAuth access tokens, half JWT refresh records.
		if err := b.tokens(o.scale/2, true, false, true, true); err != nil {
			return fmt.Errorf("bulk load expired: %w", err)
		}
		left0, _ := b.expiredLeft()
		time.Sleep(1500 * time.Millisecond) // the cleanup ticks every second
		y, r := paired(o, e.backend, introspectName+during, bare, introspection(s.base, sc))
		left1, _ := b.expiredLeft()
		y.name = "GET /bare"
		r.yardstick, r.yardName, r.min, r.django = y.rps, "limit /bare", introspectMin, introspectName
		if withoutCleanup.p99 > 0 {
			q := float64(r.p99) / float64(withoutCleanup.p99)
			r.budget = fmt.Sprintf("p99 %.2f× without cleanup (≤ 2: %s)", q, metStr(q <= 2))
			r.min = 0
		}
		e.add(y, r)
		e.add(resource(e.backend, fmt.Sprintf("expired rows removed by the cleanup while measured (of %s loaded)", count(o.scale)),
			fmt.Sprintf("%d (%d left)", left0-left1, left1), ""))
	}

	if o.resources {
		if hwm, err := procStatus(s.pid(), "VmHWM"); err == nil {
			e.add(resource(e.backend, fmt.Sprintf("RSS peak of the server with %s stored tokens of each kind (VmHWM; last rose during: %s)", count(o.scale), e.hwmCase),
				mb(hwm), budgetMax(float64(hwm), 150<<20, "≤ 150 MB")))
		}
	}
	return nil
}
