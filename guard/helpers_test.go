package guard

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jwt"
)

// testClock is an adjustable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rsaKeys are two RSA keys, generated once for the package's tests.
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

const testSecret = "a-test-hmac-secret-of-enough-length-0123456789"

// codecRS is a gatehouse codec signing RS256 with rsaKeys()[i] under kid.
func codecRS(t testing.TB, clk *testClock, i int, kid string) *jwt.Codec {
	t.Helper()
	c, err := jwt.New(jwt.Config{Signing: jwt.Key{ID: kid, Algorithm: jwt.RS256, Private: rsaKeys()[i]}, Now: clk.now,
		AccessLifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func codecHS(t testing.TB, clk *testClock) *jwt.Codec {
	t.Helper()
	c, err := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: jwt.HS256, Secret: []byte(testSecret)}, Now: clk.now,
		AccessLifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mint(t testing.TB, c *jwt.Codec, typ string, user int64, extra ...jwt.Claim) string {
	t.Helper()
	tok, _, err := c.Mint(typ, user, time.Time{}, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var b64 = base64.RawURLEncoding

// handMade signs header and claims as given (for tokens gatehouse would
// never mint): alg RS256 with key, HS* with secret, "none" unsigned.
func handMade(t testing.TB, header, claims map[string]any, key *rsa.PrivateKey, secret []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	switch header["alg"] {
	case "RS256":
		d := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return signed + "." + b64.EncodeToString(sig)
	case "HS256":
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(signed))
		return signed + "." + b64.EncodeToString(m.Sum(nil))
	}
	return signed + "."
}

// jwksServer serves a key set that a test changes, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	cc      string // Cache-Control
	status  int
	fetches atomic.Int64
}

func newJWKS(t *testing.T, codecs ...*jwt.Codec) *jwksServer {
	s := &jwksServer{status: http.StatusOK}
	s.set(t, codecs...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		doc, cc, status := s.doc, s.cc, s.status
		s.mu.Unlock()
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.WriteHeader(status)
		w.Write(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// set publishes the public keys of codecs.
func (s *jwksServer) set(t *testing.T, codecs ...*jwt.Codec) {
	t.Helper()
	var all []json.RawMessage
	for _, c := range codecs {
		doc, _ := c.JWKS()
		var set struct{ Keys []json.RawMessage }
		if err := json.Unmarshal(doc, &set); err != nil {
			t.Fatal(err)
		}
		all = append(all, set.Keys...)
	}
	doc, _ := json.Marshal(map[string]any{"keys": append([]json.RawMessage{}, all...)})
	s.mu.Lock()
	s.doc = doc
	s.mu.Unlock()
}

// introServer answers introspection requests from a table of tokens,
// checking the client's authentication, and counts the requests per token.
type introServer struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	answers map[string]string // token -> JSON answer; absent: {"active":false}
	calls   map[string]int
	status  int           // 0: 200
	gate    chan struct{} // when set, each request waits for it
}

const (
	testClientID     = "svc:orders"
	testClientSecret = "s3cret with spaces&symbols"
)

func newIntro(t *testing.T) *introServer {
	s := &introServer{t: t, answers: map[string]string{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		uid, _ := url.QueryUnescape(id)
		usec, _ := url.QueryUnescape(sec)
		if !ok || uid != testClientID || usec != testClientSecret || r.Method != http.MethodPost ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("introspection request: method %s, content type %q, basic %v %q %q", r.Method, r.Header.Get("Content-Type"), ok, uid, usec)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		tok := form.Get("token")
		s.mu.Lock()
		s.calls[tok]++
		ans, known := s.answers[tok]
		status, gate := s.status, s.gate
		s.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if status != 0 {
			w.WriteHeader(status)
			w.Write([]byte(`{"detail":"down"}`))
			return
		}
		if !known {
			ans = `{"active":false}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(ans))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *introServer) answer(token, json string) {
	s.mu.Lock()
	s.answers[token] = json
	s.mu.Unlock()
}

func (s *introServer) revoke(token string) {
	s.mu.Lock()
	delete(s.answers, token)
	s.mu.Unlock()
}

func (s *introServer) count(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[token]
}

func (s *introServer) setStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

// result is a response through a Guard.
type result struct {
	status int
	www    string
	body   string
	retry  string
	p      *Principal // what the handler saw
}

// serve sends one request with the Authorization header auth (none when
// "") through a Guard of a with perm.
func serve(a Authenticator, perm Permission, method, auth string) result {
	var seen *Principal
	h := New(a).Protect(perm, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = PrincipalFrom(r.Context())
		w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest(method, "/orders/", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{status: rec.Code, www: rec.Header().Get("WWW-Authenticate"), body: strings.TrimSpace(rec.Body.String()),
		retry: rec.Header().Get("Retry-After"), p: seen}
}

// The bodies a client relies on.
const (
	bodyNotProvided = `{"detail":"Authentication credentials were not provided."}`
	bodyDenied      = `{"detail":"You do not have permission to perform this action."}`
	bodyJWTInvalid  = `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}`
	bodyWrongType   = `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token has wrong type"}]}`
	bodyNoExp       = `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token has no 'exp' claim"}]}`
	bodyNoType      = `{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token has no type"}]}`
	bodyNoUserID    = `{"detail":"Token contained no recognizable user identification","code":"token_not_valid"}`
	bodyBadHeader   = `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`
	bodyTokenBad    = `{"detail":"Invalid token."}`
	bodyTokenEmpty  = `{"detail":"Invalid token header. No credentials provided."}`
	bodyTokenSpaces = `{"detail":"Invalid token header. Token string should not contain spaces."}`
	bodyTokenChars  = `{"detail":"Invalid token header. Token string should not contain invalid characters."}`
	bodyUnavailable = `{"detail":"Service temporarily unavailable, try again later."}`
)

func expectResult(t *testing.T, got result, status int, www, body string) {
	t.Helper()
	if got.status != status || got.www != www || got.body != body {
		t.Fatalf("got %d %q %s\nwant %d %q %s", got.status, got.www, got.body, status, www, body)
	}
}
