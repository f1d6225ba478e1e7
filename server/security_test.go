package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// The reference fixture's hash of "adminpass" (Django PBKDF2, 260000 rounds).
const djangoAdminHash = "pbkdf2_sha256$260000$pc41zxZhbaGbksjZDvLtj3$1UCj9gFcVWx0yA62BBUHvfcXj+KShmMPseAyMxvJljk="

func TestDjangoHashLogsInAndIsUpgraded(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		u := gatehouse.User{Username: "admin", Password: djangoAdminHash, IsActive: true, DateJoined: time.Now()}
		if err := e.accounts.Insert(context.Background(), &u); err != nil {
			t.Fatal(err)
		}
		expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "admin", "password": "wrong"}), 400, "")
		if got, _ := e.store.User(context.Background(), u.ID); got.Password != djangoAdminHash {
			t.Fatal("a failed login changed the stored hash")
		}
		e.tokenOf("admin", "adminpass")
		got, _ := e.store.User(context.Background(), u.ID)
		if !strings.HasPrefix(got.Password, "argon2$argon2id$") {
			t.Fatalf("hash not upgraded after login: %.30s", got.Password)
		}
		e.tokenOf("admin", "adminpass") // the upgraded hash verifies
	})
}

// While other logins queue for the hashing slots, a first login with a
// Django hash answers without the rehash (it would cost the queue a second
// hash); a login once the queue is gone upgrades the hash.
func TestRehashWaitsWhileLoginsQueue(t *testing.T) {
	eachWithConfig(t, behindProxy, noThrottles, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := gatehouse.User{Username: "admin", Password: djangoAdminHash, IsActive: true, DateJoined: time.Now()}
		if err := e.accounts.Insert(ctx, &u); err != nil {
			t.Fatal(err)
		}
		// More wrong-password logins in flight than there are CPUs, each
		// costing a PBKDF2 hash (the tests' own argon2id is cheap): the
		// slots stay taken and callers queue.
		other := gatehouse.User{Username: "other", Password: djangoAdminHash, IsActive: true, DateJoined: time.Now()}
		if err := e.accounts.Insert(ctx, &other); err != nil {
			t.Fatal(err)
		}
		// One failure first, so that the flood's address is known to fail
		// before the flood starts: all of it then queues behind others.
		e.do("POST", "/api-token-auth/", map[string]string{"username": "other", "password": "guess"}, "X-Forwarded-For", "203.0.113.77")
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 4*runtime.GOMAXPROCS(0); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// From an address of their own: the admin's logins below
					// come from a source without failures, served first.
					req, _ := http.NewRequest("POST", e.http.URL+"/api-token-auth/", strings.NewReader(`{"username": "other", "password": "guess"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Forwarded-For", "203.0.113.77")
					res, err := http.DefaultClient.Do(req)
					if err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				}
			}()
		}
		time.Sleep(200 * time.Millisecond) // the queue forms
		e.tokenOf("admin", "adminpass")

		// A login abandoned by its client while it waits for a slot is
		// dropped without a hash and is not logged as a server error. (It
		// comes from the flood's address, so it queues behind the flood.)
		actx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		req, _ := http.NewRequestWithContext(actx, "POST", e.http.URL+"/api-token-auth/",
			strings.NewReader(`{"username": "admin", "password": "adminpass"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113.77")
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("a login behind the queue answered within 20 ms: %d", res.StatusCode)
		}
		cancel()
		close(stop)
		wg.Wait()
		if got, _ := e.store.User(ctx, u.ID); got.Password != djangoAdminHash {
			t.Fatalf("rehashed while logins queued: %.30s", got.Password)
		}
		e.tokenOf("admin", "adminpass")
		if got, _ := e.store.User(ctx, u.ID); !strings.HasPrefix(got.Password, "argon2$argon2id$") {
			t.Fatalf("not rehashed by a login without a queue: %.30s", got.Password)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "request abandoned by the client") || strings.Contains(logs, "internal error") {
			t.Fatalf("the abandoned login was not logged as abandoned, or an internal error was logged:\n%.2000s", logs)
		}
	})
}

// No password, token, code or secret reaches the logs.
func TestLogsCarryNoSecrets(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alice-secret-pass")
		key := e.tokenOf("alice", "alice-secret-pass")
		refresh, access := e.pair("alice", "alice-secret-pass")
		e.do("GET", "/api/me/", nil, "Authorization", "Token "+key)
		e.do("GET", "/api/me/", nil, "Authorization", "Bearer "+access)
		e.do("GET", "/api/me/?access_token="+key, nil)
		e.do("POST", "/access-token/refresh/", map[string]string{"refresh": refresh})
		e.do("POST", "/sign_up/", url.Values{"username": {"bob"}, "password": {"bob-secret-pass"}})
		e.do("POST", "/api-token-auth/", map[string]string{"username": "alice", "password": "wrong-secret-guess"})
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"request_id"`) || !strings.Contains(logs, `"user_id"`) {
			t.Fatalf("no structured request lines: %.300s", logs)
		}
		for _, secret := range []string{"alice-secret-pass", "bob-secret-pass", "wrong-secret-guess", key, access, refresh, "access_token"} {
			if strings.Contains(logs, secret) {
				t.Fatalf("the logs contain %.12s…", secret)
			}
		}
	})
}

func TestLastUsedIsBatched(t *testing.T) {
	for _, backend := range []string{"sqlite"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, nil)
			e.user("alice", "alicepass")
			key := e.tokenOf("alice", "alicepass")
			e.do("GET", "/api/me/", nil, "Authorization", "Token "+key)
			toks, _ := e.store.Tokens(context.Background(), 1)
			if len(toks) != 1 || toks[0].LastUsed != nil {
				t.Fatalf("last_used written on the request path: %+v", toks)
			}
			e.authn.Close() // flushes the batch
			toks, _ = e.store.Tokens(context.Background(), 1)
			if toks[0].LastUsed == nil {
				t.Fatal("last_used never written")
			}
		})
	}
}

func TestUpdateLastLogin(t *testing.T) {
	eachWith(t, func(w *wiring) { w.JWT.Options.UpdateLastLogin = true }, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		e.pair("alice", "alicepass")
		got, _ := e.store.User(context.Background(), u.ID)
		if got.LastLogin == nil {
			t.Fatal("UPDATE_LAST_LOGIN did not set last_login")
		}
	})
	each(t, nil, func(t *testing.T, e *env) {
		u := e.user("alice", "alicepass")
		e.pair("alice", "alicepass")
		if got, _ := e.store.User(context.Background(), u.ID); got.LastLogin != nil {
			t.Fatal("JWT login set last_login with UPDATE_LAST_LOGIN off (simplejwt's default)")
		}
	})
}

// A login whose stored hash needs more memory than any hash before it
// announces that memory (Deps.HashMemory, which serve's memory limit
// follows) before verifying; hashes needing no more, and hashes that need
// none (PBKDF2), announce nothing.
func TestLoginAnnouncesHashMemory(t *testing.T) {
	// Hashes from password's known answers: argon2i at 256 KiB and
	// argon2id at 64 KiB.
	const (
		pw256, hash256 = "correct horse battery staple", "argon2$argon2i$v=19$m=256,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$V/tlh10sLdT0lBMsF9Aw1afIKFCYCIE1"
		pw64, hash64   = "pässwörd ✓ 密码", "argon2$argon2id$v=19$m=64,t=1,p=2$cllFV3prOWpUME5qTnMxREdaNjd1ag$ZrBPhp7AdaGuvyGUCDpUqg"
	)
	for _, b := range testdb.Backends() {
		t.Run(b, func(t *testing.T) {
			var mu sync.Mutex
			var got []int64
			e := buildWith(t, b, nil, func(w *wiring) {
				w.Accounts.HashMemory = func(n int64) { mu.Lock(); got = append(got, n); mu.Unlock() }
			})
			e.t = t
			ctx := context.Background()
			for name, h := range map[string]string{"pbkdf2": djangoAdminHash, "m256": hash256, "m64": hash64} {
				u := gatehouse.User{Username: name, Password: h, IsActive: true, DateJoined: time.Now()}
				if err := e.accounts.Insert(ctx, &u); err != nil {
					t.Fatal(err)
				}
			}
			announced := func() []int64 { mu.Lock(); defer mu.Unlock(); return append([]int64(nil), got...) }
			e.tokenOf("pbkdf2", "adminpass")
			if a := announced(); len(a) != 0 {
				t.Fatalf("a PBKDF2 login announced %v", a)
			}
			// A wrong password costs the hash too: announced before it runs.
			expect(t, e.do("POST", "/api-token-auth/", map[string]string{"username": "m256", "password": "wrong"}), 400, "")
			if a := announced(); len(a) != 1 || a[0] != 256<<10 {
				t.Fatalf("after the 256 KiB hash: announced %v, want [%d]", a, 256<<10)
			}
			e.tokenOf("m64", pw64)
			e.tokenOf("m256", pw256)
			if a := announced(); len(a) != 1 {
				t.Fatalf("smaller and equal hashes announced again: %v", a)
			}
		})
	}
}
