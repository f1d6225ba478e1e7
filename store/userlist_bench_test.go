package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// BenchmarkUserList measures the admin's user list on a database of
// 1,000,000 users (GATEHOUSE_BENCH_USERS changes the number): one op is
// what a paginated answer needs, ListUsers of a page of 25 and the count,
// both through gatehouse.UserStore. The count is CountUsersUpTo(10,001),
// the admin's "more than 10,000"; the cases "exact count" use CountUsers. It runs on SQLite and, when
// GATEHOUSE_TEST_POSTGRES_URL is set, on PostgreSQL.
//
// The users are written once by SQL (benchUsersSQL) and kept for the next
// run: the SQLite file in the user's cache directory, the PostgreSQL
// schema gh_bench_users_<key> in the test database, both named after the
// migrations and the generator, so that a new migration fills a new one
// (and the stale PostgreSQL schemas are dropped).
//
//	go test ./store/ -run '^$' -bench BenchmarkUserList -benchtime 200x
func BenchmarkUserList(b *testing.B) {
	yes := true
	// want is the count the case must find at 1,000,000 users, up to
	// 10,001 (-1: not checked, for other numbers of users).
	cases := []struct {
		name  string
		f     gatehouse.UserFilter
		exact bool
		want  int
	}{
		{"first page", gatehouse.UserFilter{}, false, 10_001},
		{"first page exact count", gatehouse.UserFilter{}, true, 10_001},
		{"search rare", gatehouse.UserFilter{Search: "Quixote"}, false, 10},
		{"search rare exact count", gatehouse.UserFilter{Search: "Quixote"}, true, 10},
		{"search common", gatehouse.UserFilter{Search: "example"}, false, 10_001}, // 75% of the users
		{"search medium", gatehouse.UserFilter{Search: "smith"}, false, 10_001},   // 2.5%
		{"search none", gatehouse.UserFilter{Search: "nobody"}, false, 0},
		{"search short none", gatehouse.UserFilter{Search: "zq"}, false, 0}, // the worst: a scan of every user
		{"search short common", gatehouse.UserFilter{Search: "jo"}, false, 10_001},
		{"staff", gatehouse.UserFilter{Staff: &yes}, false, 10_000},
		{"superuser", gatehouse.UserFilter{Superuser: &yes}, false, 1000},
		{"group", gatehouse.UserFilter{GroupID: 1}, false, 10_000},
		{"order username", gatehouse.UserFilter{Order: "username"}, false, 10_001},
		{"order -date_joined", gatehouse.UserFilter{Order: "-date_joined"}, false, 10_001},
		{"order -last_login", gatehouse.UserFilter{Order: "-last_login"}, false, 10_001},
		{"staff search order", gatehouse.UserFilter{Staff: &yes, Search: "example", Order: "-date_joined"}, false, 10_000},
	}
	n := benchUserCount(b)
	if n != 1_000_000 {
		for i := range cases {
			cases[i].want = -1
		}
	}
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			s := benchUserStore(b, backend, n)
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					var users gatehouse.UserStore = s
					ctx := context.Background()
					cpu0 := cpuTime()
					for b.Loop() {
						page, err := users.ListUsers(ctx, c.f, 0, 25)
						if err != nil {
							b.Fatal(err)
						}
						// A first page that is not full is the whole list:
						// its length is the count.
						count := len(page)
						switch {
						case c.exact:
							count, err = users.CountUsers(ctx, c.f)
						case len(page) == 25:
							count, err = users.CountUsersUpTo(ctx, c.f, 10_001)
						}
						if err != nil {
							b.Fatal(err)
						}
						if len(page) > count || (c.want >= 0 && min(count, 10_001) != c.want) {
							b.Fatalf("%d listed, %d counted; want %d", len(page), count, c.want)
						}
					}
					// The benchmark's own CPU time: SQLite's whole work on a
					// machine whose other load stretches the wall time; on
					// PostgreSQL only the client's.
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		})
	}
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchUserCount(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("GATEHOUSE_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("GATEHOUSE_BENCH_USERS=%q: want a number ≥ 1000", v)
		}
	}
	return n
}

// benchFillVersion changes when benchUsersSQL writes other rows, so that a
// kept database filled by the old generator is not reused.
const benchFillVersion = "1"

// benchUserKey names the kept database: the migrations' text, the
// generator and the number of users.
func benchUserKey(b *testing.B, n int) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %d\n", benchFillVersion, n)
	files, err := fs.Glob(os.DirFS("migrations"), "*.sql")
	if err != nil || len(files) == 0 {
		b.Fatalf("migrations: %v", err)
	}
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join("migrations", f))
		if err != nil {
			b.Fatal(err)
		}
		h.Write(text)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// benchUserStore opens the kept database of n users on backend, filling it
// first when there is none.
func benchUserStore(b *testing.B, backend string, n int) *store.Store {
	ctx := context.Background()
	key := benchUserKey(b, n)
	var dbURL string
	switch backend {
	case "sqlite":
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "gatehouse-bench")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		dbURL = filepath.Join(dir, "users-"+key+".db")
		if _, err := os.Stat(dbURL); err != nil {
			tmp := dbURL + ".filling"
			os.Remove(tmp)
			benchFill(b, tmp, n)
			if err := os.Rename(tmp, dbURL); err != nil {
				b.Fatal(err)
			}
		}
	case "postgres":
		base := os.Getenv(testdb.EnvPostgres)
		schema := "gh_bench_users_" + key
		admin, err := sql.Open("pgx", base)
		if err != nil {
			b.Fatal(err)
		}
		defer admin.Close()
		var ready bool
		if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema+"_ready").Scan(&ready); err != nil {
			b.Fatal(err)
		}
		u, err := url.Parse(base)
		if err != nil {
			b.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dbURL = u.String()
		if !ready {
			// Drop this generator's older fills, and a fill that was cut short.
			rows, err := admin.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gh\_bench\_users\_%'`)
			if err != nil {
				b.Fatal(err)
			}
			var old []string
			for rows.Next() {
				var name string
				rows.Scan(&name)
				old = append(old, name)
			}
			rows.Close()
			for _, name := range old {
				if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
				b.Fatal(err)
			}
			benchFill(b, dbURL, n)
			// An empty schema marks the fill complete.
			if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema+"_ready"); err != nil {
				b.Fatal(err)
			}
		}
	}
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchFill migrates the database at dbURL and writes n users into it, in
// statements of benchChunk rows, then one group of 1% of them.
func benchFill(b *testing.B, dbURL string, n int) {
	ctx := context.Background()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	db := s.DB()
	for i := 1; i <= n; i += benchChunk {
		if _, err := db.ExecContext(ctx, benchUsersSQL(i, min(i+benchChunk, n+1))); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
	for _, q := range []string{
		"INSERT INTO auth_groups (id, name) VALUES (1, 'bench')",
		"INSERT INTO user_groups (user_id, group_id) SELECT id, 1 FROM users WHERE id % 100 = 7",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("fill: %v", err)
		}
	}
	settle := []string{"ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"}
	if s.Dialect() == "postgres" {
		settle = []string{"SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))", "VACUUM ANALYZE users", "VACUUM ANALYZE user_groups", "CHECKPOINT"}
	}
	for _, q := range settle {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.Logf("%s: filled %d users in %v", s.Dialect(), n, time.Since(t0).Round(time.Millisecond))
}

const benchChunk = 5000

var (
	benchFirst = strings.Fields("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle")
	benchLast  = strings.Fields("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores")
	benchMail  = []string{"example.com", "mail.example.org", "corp.example.net", "post.test"}
)

// benchUsersSQL is one INSERT of the users with ids from to to (not
// included). Every value derives from the id: 5% inactive, 1% staff, 0.1%
// superusers, one user in 100,000 named Quixote, date_joined a permutation
// of the ids (so that it is not id order), last_login never set for a third.
func benchUsersSQL(from, to int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO users (id, username, email, first_name, last_name, password, is_active, is_staff, is_superuser, date_joined, last_login) VALUES ")
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	boolean := func(v bool) string {
		if v {
			return "TRUE"
		}
		return "FALSE"
	}
	for i := from; i < to; i++ {
		first, last := benchFirst[i%len(benchFirst)], benchLast[(i/len(benchFirst))%len(benchLast)]
		if i%100_000 == 50_000 {
			last = "Quixote"
		}
		user := strings.ToLower(first) + "." + strings.ToLower(last) + strconv.Itoa(i)
		joined := base + int64((i*7919)%1_000_003)*60_000_000
		login := "NULL"
		if i%3 != 0 {
			login = strconv.FormatInt(joined+int64(i%1000)*3_600_000_000, 10)
		}
		if i > from {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "(%d,'%s','%s@%s','%s','%s','!',%s,%s,%s,%d,%s)", i, user, user, benchMail[i%len(benchMail)], first, last,
			boolean(i%20 != 0), boolean(i%100 == 0), boolean(i%1000 == 0), joined, login)
	}
	return sb.String()
}

// BenchmarkUserWrites measures what the user list's indexes (migration
// 00019) cost the writes, on a fresh database of each backend: one
// CreateUser, one UpdateUser changing the email (which the search index
// follows), and a Load (the import's path) of 1,000 new users per op.
func BenchmarkUserWrites(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend, func(b *testing.B) {
			b.Run("CreateUser", func(b *testing.B) {
				s := testdb.Open(b, backend)
				i := 0
				for b.Loop() {
					i++
					u := benchUser(i)
					if err := s.CreateUser(context.Background(), &u, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("UpdateUser email", func(b *testing.B) {
				s := testdb.Open(b, backend)
				u := benchUser(0)
				if err := s.CreateUser(context.Background(), &u, nil); err != nil {
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					i++
					if _, err := s.UpdateUser(context.Background(), u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
						u.Email = fmt.Sprintf("moved%d@example.com", i)
						return gatehouse.UserChange{}, nil
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Load 1000 users", func(b *testing.B) {
				s := testdb.Open(b, backend)
				i := 0
				for b.Loop() {
					var set fixture.Set
					for range 1000 {
						i++
						set.Users = append(set.Users, benchUser(i))
					}
					if err := s.Load(context.Background(), set); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// benchUser is a new user of the benchmark's population, without an id.
func benchUser(i int) gatehouse.User {
	first, last := benchFirst[i%len(benchFirst)], benchLast[(i/len(benchFirst))%len(benchLast)]
	name := fmt.Sprintf("%s.%s%d", strings.ToLower(first), strings.ToLower(last), i)
	return gatehouse.User{Username: name, Email: name + "@" + benchMail[i%len(benchMail)], FirstName: first, LastName: last,
		Password: "!", IsActive: true, DateJoined: time.Now()}
}
