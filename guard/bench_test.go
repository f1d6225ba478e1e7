package guard

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/jwt"
)

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the middleware and not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkGuard is the middleware's own cost per request (authenticate,
// check IsAuthenticated, put the principal in the context, call an empty
// handler) beside verifying the same token with the standard library
// alone, in the same run (docs/performance.md).
func BenchmarkGuard(b *testing.B) {
	clk := newClock()
	clk.t = time.Now()
	hs := codecHS(b, clk)
	rs := codecRS(b, clk, 0, "k1")
	hsTok := mint(b, hs, jwt.Access, 42)
	rsTok := mint(b, rs, jwt.Access, 42)

	doc, _ := rs.JWKS()
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer keys.Close()
	intro := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(activeAnswer("oauth", time.Now().Unix()+3600, false)))
	}))
	defer intro.Close()
	r, err := NewRemote(Config{JWKSURL: keys.URL, IntrospectionURL: intro.URL, ClientID: "c", ClientSecret: "s",
		HMACKey: []byte(testSecret), IntrospectionTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := New(r).Protect(IsAuthenticated, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if PrincipalFrom(r.Context()) == nil {
			panic("no principal")
		}
	}))
	through := func(b *testing.B, header string) {
		req := httptest.NewRequest("GET", "/orders/", nil)
		req.Header.Set("Authorization", header)
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req) // warms the caches
		if len(w.h) != 0 {
			b.Fatalf("refused: %v", w.h)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			h.ServeHTTP(w, req)
		}
	}
	rsaPub := &rsaKeys()[0].PublicKey
	b.Run("HS256/guard", func(b *testing.B) { through(b, "Bearer "+hsTok) })
	b.Run("HS256/stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdlibVerify(hsTok, "HS256", func(signed, sig []byte) bool {
				m := hmac.New(sha256.New, []byte(testSecret))
				m.Write(signed)
				return hmac.Equal(m.Sum(nil), sig)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RS256/guard", func(b *testing.B) { through(b, "Bearer "+rsTok) })
	b.Run("RS256/stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdlibVerify(rsTok, "RS256", func(signed, sig []byte) bool {
				d := sha256.Sum256(signed)
				return rsa.VerifyPKCS1v15(rsaPub, crypto.SHA256, d[:], sig) == nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("introspection-cached/guard", func(b *testing.B) { through(b, "Bearer opaque-token-value-0123456789") })
}

// stdlibVerify is what a service would write with the standard library
// alone to accept a simplejwt access token: split, decode the header and
// check its alg, verify the signature, decode the claims, check exp and
// token_type.
func stdlibVerify(token, alg string, verify func(signed, sig []byte) bool) (int64, error) {
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i < 0 || i == j {
		return 0, errors.New("shape")
	}
	hb, err := b64.DecodeString(token[:i])
	if err != nil {
		return 0, err
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil || hdr.Alg != alg {
		return 0, errors.New("alg")
	}
	sig, err := b64.DecodeString(token[j+1:])
	if err != nil {
		return 0, err
	}
	if !verify([]byte(token[:j]), sig) {
		return 0, errors.New("signature")
	}
	pb, err := b64.DecodeString(token[i+1 : j])
	if err != nil {
		return 0, err
	}
	var c struct {
		TokenType string `json:"token_type"`
		Exp       int64  `json:"exp"`
		UserID    int64  `json:"user_id"`
	}
	if err := json.Unmarshal(pb, &c); err != nil {
		return 0, err
	}
	if c.TokenType != "access" || c.Exp <= time.Now().Unix() {
		return 0, errors.New("claims")
	}
	return c.UserID, nil
}
