package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/password"
)

// freezer forwards TCP connections to a PostgreSQL server and can stop
// forwarding without closing anything: a database that is up but frozen
// (SIGSTOP, a stalled disk, a network partition that drops packets).
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	thaw   chan struct{}
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thaw: make(chan struct{})}
	t.Cleanup(func() { f.setFrozen(false); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *freezer) setFrozen(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen.Load() == on {
		return
	}
	f.frozen.Store(on)
	if !on {
		close(f.thaw)
		f.thaw = make(chan struct{})
	}
}

func (f *freezer) wait() {
	f.mu.Lock()
	ch, frozen := f.thaw, f.frozen.Load()
	f.mu.Unlock()
	if frozen {
		<-ch
	}
}

func (f *freezer) serve(c net.Conn) {
	defer c.Close()
	f.wait()
	up, err := net.Dial("tcp", f.target)
	if err != nil {
		return
	}
	defer up.Close()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				f.wait()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	pipe(c, up)
}

// With the database frozen, requests that need it are answered 503 with
// Retry-After within the request timeout, in their endpoint's shape;
// requests beyond the in-flight bound are shed at once; nothing waits for
// the whole outage; once the database answers again, so does gatehouse.
func TestFrozenPostgreSQL(t *testing.T) {
	base := os.Getenv(testdb.EnvPostgres)
	if base == "" {
		t.Skip("PostgreSQL only: SQLite has TestLockedSQLite")
	}
	dbURL := testdb.URL(t, "postgres")
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	fz := newFreezer(t, u.Host)
	u.Host = fz.ln.Addr().String()
	e := buildOn(t, u.String(), func(c *config) {
		c.RequestTimeout = time.Second
		c.MaxInFlight = 16
	}, func(w *wiring) { w.Authn.CacheTTL, w.OAuth.CacheTTL = 0, 0 })
	e.t = t
	a := e.setupOAuth()
	key := e.tokenOf("alice", "alicepass")
	cc := basic("cc-client", a.ccSecret)

	fz.setFrozen(true)
	start := time.Now()
	type result struct {
		status int
		retry  string
		body   string
	}
	results := make(chan result, 64)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 48; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var req *http.Request
			if i%2 == 0 {
				req, _ = http.NewRequest("GET", e.http.URL+"/api/me/", nil)
				req.Header.Set("Authorization", "Token "+key)
			} else {
				req, _ = http.NewRequest("POST", e.http.URL+"/o/token/", strings.NewReader("grant_type=client_credentials"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", cc)
			}
			res, err := client.Do(req)
			if err != nil {
				results <- result{status: -1, body: err.Error()}
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			results <- result{res.StatusCode, res.Header.Get("Retry-After"), string(b)}
		}(i)
	}
	wg.Wait()
	close(results)
	elapsed := time.Since(start)
	bodies := map[string]int{}
	for r := range results {
		if r.status != 503 || r.retry != "1" {
			t.Errorf("during the outage: %d Retry-After %q %s", r.status, r.retry, r.body)
		}
		bodies[r.body]++
	}
	for _, want := range []string{`{"detail":"Service temporarily unavailable, try again later."}`, `{"error": "temporarily_unavailable"}`} {
		if bodies[want] == 0 {
			t.Errorf("no %s among %v", want, bodies)
		}
	}
	if elapsed > 4*time.Second {
		t.Errorf("48 requests during the outage took %v (request timeout 1 s)", elapsed)
	}

	fz.setFrozen(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do("GET", "/api/me/", nil, "Authorization", "Token "+key)
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %s 10 s after the database came back", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A SQLite database whose write lock another process holds: writes are
// answered 503 with Retry-After at the request timeout, reads go on.
func TestLockedSQLite(t *testing.T) {
	e := buildOn(t, testdb.URL(t, "sqlite"), func(c *config) { c.RequestTimeout = time.Second }, nil)
	e.t = t
	e.user("alice", "alicepass")
	key := e.tokenOf("alice", "alicepass")
	conn, err := e.store.DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.do("POST", "/api/tokens/", map[string]string{"name": "laptop"}, "Authorization", "Token "+key)
	if r.status != 503 || r.header.Get("Retry-After") != "1" || time.Since(start) > 3*time.Second {
		t.Fatalf("write under a held lock: %d %q %s after %v", r.status, r.header.Get("Retry-After"), r.body, time.Since(start))
	}
	expect(t, e.do("GET", "/api/me/", nil, "Authorization", "Token "+key), 200, "")
	conn.ExecContext(context.Background(), "ROLLBACK")
	expect(t, e.do("POST", "/api/tokens/", map[string]string{"name": "laptop"}, "Authorization", "Token "+key), 201, "")
}

// A wave of logins larger than the password-hash queue: the logins beyond
// the bound are answered 503 with Retry-After at once, the others are
// served; nobody waits for a connection to be closed on them.
func TestLoginWaveBeyondTheHashQueue(t *testing.T) {
	eachWith(t, func(w *wiring) {
		w.Accounts.MaxHashWaiting = 2
		w.Accounts.Hasher = password.New(password.Params{Memory: 16 << 10, Time: 2, Threads: 1}, nil) // ~20-50 ms a hash
	}, func(t *testing.T, e *env) {
		// Stored with the slow parameters, so every login hashes for a while.
		h, err := e.accounts.Hash(context.Background(), "alicepass")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.accounts.Insert(context.Background(), &gatehouse.User{Username: "alice", Password: h, IsActive: true}); err != nil {
			t.Fatal(err)
		}
		const n = 24
		type result struct {
			status int
			retry  string
			took   time.Duration
		}
		results := make(chan result, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				res, err := http.PostForm(e.http.URL+"/api-token-auth/", url.Values{"username": {"alice"}, "password": {"alicepass"}})
				if err != nil {
					results <- result{status: -1}
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				results <- result{res.StatusCode, res.Header.Get("Retry-After"), time.Since(start)}
			}()
		}
		wg.Wait()
		close(results)
		served, refused := 0, 0
		for r := range results {
			switch {
			case r.status == 200:
				served++
			case r.status == 503 && r.retry != "":
				refused++
				if r.took > 2*time.Second {
					t.Errorf("a refusal took %v", r.took)
				}
			default:
				t.Errorf("login: %d (Retry-After %q)", r.status, r.retry)
			}
		}
		if refused == 0 || served < 2 {
			t.Fatalf("%d served, %d refused: want both", served, refused)
		}
	})
}

// The SQLite WAL deleted under the server: /readyz answers 503 (an
// orchestrator restarts the process, which makes a new WAL) and writes are
// answered 503 with Retry-After instead of being lost at the next crash.
func TestWALDeletedIsNotReady(t *testing.T) {
	dbPath := testdb.URL(t, "sqlite")
	e := buildOn(t, dbPath, nil, nil)
	e.t = t
	e.user("alice", "alicepass")
	key := e.tokenOf("alice", "alicepass")
	expect(t, e.do("GET", "/readyz", nil), 200, `{"status":"ok"}`)
	if err := os.Remove(dbPath + "-wal"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.do("GET", "/readyz", nil).status != 503 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still 200 5 s after the WAL was deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := e.do("POST", "/api/tokens/", map[string]string{"name": "laptop"}, "Authorization", "Token "+key)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("a write after the WAL was deleted: %d %s", r.status, r.body)
	}
}
