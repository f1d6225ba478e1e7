package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The OpenID Connect code exchange (issue 20): a confidential client
// redeems an authorization code issued with PKCE (S256) and the scope
// openid, and gets an access token, a refresh token and an id_token signed
// with the server's signing key (RS256 by default).
//
// Every exchange spends its code, so the codes are stored ahead, straight
// into the server's database as the authorization endpoint would store
// them (their SHA-256, the client, alice, the redirect URI, the challenge
// of one verifier), as many as the case can use; each request takes the
// next. A code redeemed twice would revoke what it issued, which the case
// never does.
const (
	oidcExchangeName = "POST /o/token/ (authorization_code + PKCE, scope openid: with an id_token)"
	oidcClientID     = "bench-oidc"
	oidcRedirect     = "http://127.0.0.1:9/cb"
	oidcVerifier     = "bench-verifier-0123456789-0123456789-0123456789-abcdef"
	// oidcExchangeMin is the least ratio to the signature-bound limit
	// (rs256Limit): the RS256 signature of the id_token costs about 1 ms
	// of CPU here, more than the rest of the exchange (a write
	// transaction, as a refresh's) together.
	oidcExchangeMin = 0.5
)

// rs256Limit is the most id_tokens a second this machine can sign with a
// 2048-bit RSA key (the size of gatehouse's RS256 signing keys, its
// default algorithm): cores divided by the time of one signature of a
// SHA-256 digest, timed in this process (the median of n).
func rs256Limit(n int) hashLimit {
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	digest := sha256.Sum256([]byte(oidcVerifier))
	return measureHash("one RS256 signature (2048-bit key)", n, func() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, rsaKey, crypto.SHA256, digest[:]); err != nil {
			panic(err)
		}
	})
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// oidcCodeRate is the exchanges a second the pool is sized for: more than
// this machine answers (under 1,000 a second here with RS256), so that it
// does not run dry within a case.
const oidcCodeRate = 5000

// oidcPoolSize is how many codes the case can spend: its rounds' time,
// warm-ups included (alternate), at oidcCodeRate.
func oidcPoolSize(o options) int {
	t := o.duration + o.warmup + time.Duration(o.rounds-1)*o.warmup/4
	return int(t.Seconds()*oidcCodeRate) + 1000
}

// createOIDCClient registers the case's client and returns its secret.
func createOIDCClient(s *server) (string, error) {
	out, err := s.command("createapplication", "--client-id", oidcClientID, "--name", "bench OpenID Connect",
		"--grant-types", "authorization-code", "--redirect-uris", oidcRedirect, "--skip-authorization").Output()
	if err != nil {
		return "", fmt.Errorf("createapplication %s: %v", oidcClientID, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "client_secret: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("createapplication %s printed no secret", oidcClientID)
}

// oidcCodes stores n codes for the case's client in the database at dbURL
// and returns the exchange of the next one on each call.
func oidcCodes(backend, dbURL, base, secret string, n int) (request, error) {
	b, err := openBulk(backend, dbURL)
	if err != nil {
		return nil, err
	}
	defer b.close()
	app, err := b.id("SELECT id FROM oauth_applications WHERE client_id = '" + oidcClientID + "'")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", oidcClientID, err)
	}
	user, err := b.id("SELECT id FROM users WHERE username = 'alice'")
	if err != nil {
		return nil, fmt.Errorf("alice: %w", err)
	}
	sum := sha256.Sum256([]byte(oidcVerifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	// Unique to this call, so that a second pool on the same database
	// (another round of the benchmark) takes codes of its own.
	run := time.Now().UnixNano()
	code := func(i int) string { return fmt.Sprintf("bench-code-%d-%d", run, i) }
	now := time.Now()
	created, expires := now.UnixMicro(), now.Add(time.Hour).UnixMicro()
	first := b.seq + 1
	err = b.insert(n, "INSERT INTO oauth_grants (code_hash, application_id, user_id, redirect_uri, scope, code_challenge, code_challenge_method, nonce, created, expires, auth_time) VALUES ",
		func(i int) string {
			return fmt.Sprintf("(%s,%d,%d,'%s','openid profile email','%s','S256','',%d,%d,%d)",
				b.hashLiteral(code(i)), app, user, oidcRedirect, challenge, created, expires, created)
		})
	if err != nil {
		return nil, fmt.Errorf("oauth_grants: %w", err)
	}
	var next atomic.Int64
	return func(int) (*http.Request, error) {
		i := next.Add(1) - 1
		if i >= int64(n) {
			return nil, fmt.Errorf("%s: the pool of %d codes is used up", oidcExchangeName, n)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code(first + int(i))},
			"redirect_uri": {oidcRedirect}, "code_verifier": {oidcVerifier}}
		return post(base+"/o/token/", form.Encode(), oidcClientID, secret)(0)
	}, nil
}

// checkIDToken is the case's observer: every answer must carry an
// id_token (a JWT: three dot-separated parts); a missing one is counted.
func checkIDToken(missing *atomic.Int64) observer {
	return func(_ int, body []byte) {
		var m struct {
			IDToken string `json:"id_token"`
		}
		if json.Unmarshal(body, &m) != nil || strings.Count(m.IDToken, ".") != 2 {
			missing.Add(1)
		}
	}
}
