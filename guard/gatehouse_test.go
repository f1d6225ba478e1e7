package guard_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/store"
)

// The integration tests run a real gatehouse server in-process, on each
// backend, and a guard.Remote pointed at it.

const serverSecret = "guard-test-server-secret-0123456789"

// clock is the adjustable time of gatehouse and of the guard.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// gatehouseEnv is one gatehouse on one database, behind a URL that
// survives a restart (swap).
type gatehouseEnv struct {
	t        *testing.T
	url      string
	clock    *clock
	store    *store.Store
	accounts *accounts.Service
	clients  *oauth.Clients
	handler  atomic.Pointer[http.Handler]
	hits     sync.Map // path -> *atomic.Int64, the requests gatehouse got
	stop     []func()
	atSigner *oidctest.Signer // signs JWT access tokens (RFC 9068)
}

// requests is how many requests for path gatehouse got.
func (g *gatehouseEnv) requests(path string) int64 {
	n, _ := g.hits.LoadOrStore(path, new(atomic.Int64))
	return n.(*atomic.Int64).Load()
}

// rsaKey is generated once for the integration tests.
var rsaKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var out [2]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// signingKey i is RSA key i under kid "k<i+1>".
func signingKey(i int) jwt.Key {
	return jwt.Key{ID: []string{"k1", "k2"}[i], Algorithm: jwt.RS256, Private: rsaKeys()[i]}
}

// startGatehouse starts gatehouse on backend signing simplejwt tokens
// with signing (verifying with verify too).
func startGatehouse(t *testing.T, backend string, signing jwt.Key, verify ...jwt.Key) *gatehouseEnv {
	t.Helper()
	g := &gatehouseEnv{t: t, clock: &clock{}}
	g.store = testdb.OpenURL(t, testdb.URL(t, backend))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := g.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		(*g.handler.Load()).ServeHTTP(w, r)
	}))
	g.url = hs.URL
	g.swap(signing, verify...)
	t.Cleanup(func() {
		hs.Close()
		for _, f := range g.stop {
			f()
		}
		g.store.Close()
	})
	return g
}

// swap starts a new gatehouse process on the same database and URL, as a
// restart with new JWT keys does.
func (g *gatehouseEnv) swap(signing jwt.Key, verify ...jwt.Key) {
	t := g.t
	t.Helper()
	st := g.store
	log := slog.New(slog.DiscardHandler)
	box, err := secret.NewBox(serverSecret)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := jwt.New(jwt.Config{Signing: signing, Verification: verify, Now: g.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	secrets := gatehouse.NewSecretHasher(serverSecret)
	an := authn.New(authn.Deps{Store: st, JWT: codec, Log: log, Now: g.clock.now, CacheTTL: time.Second, Knox: st})
	acc := accounts.New(accounts.Deps{Store: st, Hasher: password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, nil),
		Box: box, Log: log, Now: g.clock.now, Permissions: st, Forget: an.ForgetUser})
	ocfg := oauth.DefaultConfig()
	ocfg.Issuer = "https://gatehouse.test"
	if g.atSigner == nil {
		g.atSigner = oidctest.New(t)
	}
	provider, err := oauth.New(oauth.Deps{Store: st, Secrets: secrets, Config: ocfg, CacheTTL: time.Second, Now: g.clock.now, Log: log,
		Accounts: acc, Forget: an.ForgetAccess, Permissions: acc, Credentials: an, AccessTokens: g.atSigner})
	if err != nil {
		t.Fatal(err)
	}
	pairs := simplejwt.New(simplejwt.Deps{Store: st, Codec: codec, Now: g.clock.now, Users: an, Permissions: acc})
	srv, err := server.New(server.Deps{Log: log, Store: st, Box: box, Config: server.DefaultConfig(), Now: g.clock.now,
		Authn: an, Accounts: acc, OAuth: provider, JWT: pairs})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	g.handler.Store(&h)
	g.accounts = acc
	g.clients = oauth.NewClients(st, secrets, provider.Config(), g.clock.now, nil, nil)
	g.stop = append(g.stop, an.Close)
}

// user creates an active user.
func (g *gatehouseEnv) user(name, pw string, staff bool) gatehouse.User {
	g.t.Helper()
	h, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1}, nil).Hash(pw)
	if err != nil {
		g.t.Fatal(err)
	}
	u := gatehouse.User{Username: name, Email: name + "@example.com", Password: h, IsActive: true, IsStaff: staff, DateJoined: time.Now()}
	if err := g.accounts.Insert(context.Background(), &u); err != nil {
		g.t.Fatal(err)
	}
	return u
}

// do sends a request to gatehouse and returns status, headers and body.
func (g *gatehouseEnv) do(method, path string, form url.Values, headers ...string) (int, http.Header, []byte) {
	g.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, g.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func (g *gatehouseEnv) postJSON(path string, out any, form url.Values, headers ...string) {
	g.t.Helper()
	status, _, b := g.do("POST", path, form, headers...)
	if status != 200 {
		g.t.Fatalf("POST %s: %d %s", path, status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		g.t.Fatal(err)
	}
}

// drfKey logs in as DRF's obtain_auth_token does.
func (g *gatehouseEnv) drfKey(user, pw string) string {
	var out struct{ Token string }
	g.postJSON("/api-token-auth/", &out, url.Values{"username": {user}, "password": {pw}})
	return out.Token
}

// jwtPair logs in through simplejwt's view.
func (g *gatehouseEnv) jwtPair(user, pw string) (access, refresh string) {
	var out struct{ Access, Refresh string }
	g.postJSON("/access-token/", &out, url.Values{"username": {user}, "password": {pw}})
	return out.Access, out.Refresh
}

// knoxToken stores a django-rest-knox token of u, as knox does.
func (g *gatehouseEnv) knoxToken(u gatehouse.User) string {
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := hex.EncodeToString(raw)
	sum := sha512.Sum512([]byte(tok))
	if err := g.store.PutKnoxToken(context.Background(), gatehouse.KnoxToken{Digest: hex.EncodeToString(sum[:]), TokenKey: tok[:15],
		UserID: u.ID, Created: g.clock.now().Add(-time.Minute)}); err != nil {
		g.t.Fatal(err)
	}
	return tok
}

// app registers an OAuth application and returns its id and secret.
func (g *gatehouseEnv) app(name string, resourceServer bool, grants ...string) (string, string) {
	g.t.Helper()
	return g.appSpec(oauth.ApplicationSpec{Name: name, GrantTypes: grants, ResourceServer: resourceServer})
}

// appSpec registers the application spec describes.
func (g *gatehouseEnv) appSpec(spec oauth.ApplicationSpec) (string, string) {
	g.t.Helper()
	a, sec, err := g.clients.Create(context.Background(), spec)
	if err != nil {
		g.t.Fatal(err)
	}
	return a.ClientID, sec
}

// oauthToken gets an access token by the password grant.
func (g *gatehouseEnv) oauthToken(clientID, clientSecret, user, pw, scope string) string {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	g.postJSON("/o/token/", &out, url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}, "scope": {scope},
		"client_id": {clientID}, "client_secret": {clientSecret}})
	return out.AccessToken
}

// remote is a guard.Remote for g with the resource server's credentials.
func (g *gatehouseEnv) remote(clientID, clientSecret string, ttl time.Duration) *guard.Remote {
	g.t.Helper()
	r, err := guard.NewRemote(guard.Config{BaseURL: g.url, ClientID: clientID, ClientSecret: clientSecret,
		IntrospectionTTL: ttl, NegativeTTL: time.Second, JWKSMinInterval: time.Second, Now: g.clock.now})
	if err != nil {
		g.t.Fatal(err)
	}
	return r
}

// answer is a response as a client sees it.
type answer struct {
	status int
	www    string
	body   string
}

// through sends a request with the Authorization header auth (none when
// "") through a Guard of r with perm; the handler answers the principal.
func through(r guard.Authenticator, perm guard.Permission, method, auth string) answer {
	h := guard.New(r).Protect(perm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := guard.PrincipalFrom(r.Context())
		if p == nil {
			w.Write([]byte("anonymous"))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"user_id": p.UserID, "username": p.Username, "kind": p.Kind, "scopes": p.Scopes,
			"staff": p.IsStaff})
	}))
	req := httptest.NewRequest(method, "/orders/", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String())}
}
