package oidc_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/oidctest"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
)

func newProvider(t *testing.T, s oidc.Signer, cfg oidc.Config) *oidc.Provider {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "https://id.example"
	}
	p, err := oidc.New(oidc.Deps{Config: cfg, Signer: s, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func payload(t *testing.T, s *oidctest.Signer, token string) map[string]any {
	t.Helper()
	_, b, err := s.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRefuses(t *testing.T) {
	if _, err := oidc.New(oidc.Deps{Signer: oidctest.New(t)}); err == nil {
		t.Fatal("no issuer accepted")
	}
	if _, err := oidc.New(oidc.Deps{Config: oidc.Config{Issuer: "https://id.example"}}); err == nil {
		t.Fatal("no signer accepted")
	}
}

func TestIDTokenClaims(t *testing.T) {
	s := oidctest.New(t)
	p := newProvider(t, s, oidc.Config{EmailVerified: true})
	login := time.Unix(1_799_999_000, 0)
	u := gatehouse.User{ID: 7, Username: "alice", Email: "a@example.com", FirstName: "Alice"}
	tok, err := p.IDToken(context.Background(), oauth.IDTokenInput{User: u, ClientID: "rp", Scope: "openid email", Nonce: "n1",
		AuthTime: &login, AccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	m := payload(t, s, tok)
	want := map[string]any{"iss": "https://id.example", "sub": "7", "aud": "rp", "azp": "rp", "nonce": "n1", "iat": 1_800_000_000.0,
		"exp": 1_800_003_600.0, "auth_time": 1_799_999_000.0, "email": "a@example.com", "email_verified": true}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("%s = %v, want %v (%v)", k, m[k], v, m)
		}
	}
	// The email scope releases no profile claims, and no scope no claims.
	for _, k := range []string{"name", "preferred_username", "given_name"} {
		if _, ok := m[k]; ok {
			t.Fatalf("%s released without the profile scope", k)
		}
	}
	tok, _ = p.IDToken(context.Background(), oauth.IDTokenInput{User: u, ClientID: "rp", Scope: "openid"})
	m = payload(t, s, tok)
	for _, k := range []string{"email", "nonce", "auth_time", "at_hash"} {
		if _, ok := m[k]; ok {
			t.Fatalf("%s present without reason: %v", k, m)
		}
	}
	// A user imported from a project keyed by UUIDs keeps the sub Django
	// OAuth Toolkit gave it, and its id_token is a hint for it.
	u.DjangoKey = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	tok, _ = p.IDToken(context.Background(), oauth.IDTokenInput{User: u, ClientID: "rp", Scope: "openid"})
	if m = payload(t, s, tok); m["sub"] != u.DjangoKey {
		t.Fatalf("sub of a user with a Django key: %v", m["sub"])
	}
	if h, err := p.CheckHint(context.Background(), tok, "rp"); err != nil || h.Subject != oidc.Subject(&u) {
		t.Fatalf("its id_token as a hint: %+v, %v", h, err)
	}
}

// at_hash follows the signing algorithm: SHA-512's left half for EdDSA.
type edSigner struct{ *oidctest.Signer }

func (edSigner) Algorithms() []string { return []string{"EdDSA"} }

type oddSigner struct{ *oidctest.Signer }

func (oddSigner) Algorithms() []string { return []string{"XS999"} }

func TestAtHashAlgorithm(t *testing.T) {
	base := oidctest.New(t)
	p := newProvider(t, edSigner{base}, oidc.Config{})
	tok, err := p.IDToken(context.Background(), oauth.IDTokenInput{User: gatehouse.User{ID: 1}, ClientID: "rp", AccessToken: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("abc"))
	if got := payload(t, base, tok)["at_hash"]; got != base64.RawURLEncoding.EncodeToString(sum[:32]) {
		t.Fatalf("EdDSA at_hash %v", got)
	}
	if _, err := newProvider(t, oddSigner{base}, oidc.Config{}).IDToken(context.Background(),
		oauth.IDTokenInput{User: gatehouse.User{ID: 1}, ClientID: "rp", AccessToken: "abc"}); err == nil {
		t.Fatal("an unknown algorithm gave an at_hash")
	}
}

func TestCheckHint(t *testing.T) {
	s := oidctest.New(t)
	p := newProvider(t, s, oidc.Config{})
	ctx := context.Background()
	idt, _ := p.IDToken(ctx, oauth.IDTokenInput{User: gatehouse.User{ID: 9}, ClientID: "rp"})
	h, err := p.CheckHint(ctx, idt, "rp")
	if err != nil || h.Subject != "9" || len(h.Audience) != 1 || h.Audience[0] != "rp" {
		t.Fatalf("%+v %v", h, err)
	}
	if h, err := p.CheckHint(ctx, idt, ""); err != nil || h.Subject != "9" {
		t.Fatalf("without client: %+v %v", h, err)
	}
	other := newProvider(t, s, oidc.Config{Issuer: "https://other.example"})
	foreign, _ := other.IDToken(ctx, oauth.IDTokenInput{User: gatehouse.User{ID: 9}, ClientID: "rp"})
	at, _ := s.Sign(ctx, "at+jwt", map[string]any{"iss": "https://id.example", "sub": "9", "aud": "rp", "client_id": "rp"})
	noSub, _ := s.Sign(ctx, "JWT", map[string]any{"iss": "https://id.example", "aud": "rp"})
	arr, _ := s.Sign(ctx, "JWT", map[string]any{"iss": "https://id.example", "sub": "9", "aud": []string{"a", "rp"}})
	if h, err := p.CheckHint(ctx, arr, "rp"); err != nil || len(h.Audience) != 2 {
		t.Fatalf("audience list: %+v %v", h, err)
	}
	for name, tok := range map[string]string{"other client": idt, "other issuer": foreign, "access token": at, "no sub": noSub,
		"tampered": idt[:strings.LastIndex(idt, ".")] + ".AAAA", "garbage": "a.b.c", "none": "eyJhbGciOiJub25lIn0.eyJzdWIiOiI5In0."} {
		client := "rp"
		if name == "other client" {
			client = "rp2"
		}
		if _, err := p.CheckHint(ctx, tok, client); !errors.Is(err, oidc.ErrBadHint) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestUserInfo(t *testing.T) {
	p := newProvider(t, oidctest.New(t), oidc.Config{})
	u := gatehouse.User{ID: 3, Username: "bob", FirstName: "Bob", LastName: "B", Email: "b@example.com"}
	info, err := p.UserInfo(&gatehouse.Principal{User: u, Scheme: gatehouse.SchemeOAuth, Scope: "openid profile"})
	if err != nil || info.Subject != "3" || info.Name != "Bob B" || info.PreferredUsername != "bob" || info.Email != "" {
		t.Fatalf("%+v %v", info, err)
	}
	u.DjangoKey = "3026d28e-dbc0-4dea-8da0-8aa9f5a3118d"
	if info, err := p.UserInfo(&gatehouse.Principal{User: u, Scheme: gatehouse.SchemeOAuth, Scope: "openid"}); err != nil || info.Subject != u.DjangoKey {
		t.Fatalf("a user with a Django key: %+v %v", info, err)
	}
	if _, err := p.UserInfo(&gatehouse.Principal{User: u, Scheme: gatehouse.SchemeOAuth, Scope: "read"}); err != oidc.ErrNotOpenID {
		t.Fatalf("without openid: %v", err)
	}
	if _, err := p.UserInfo(&gatehouse.Principal{User: u, Scheme: gatehouse.SchemeJWT}); err != oidc.ErrNotOpenID {
		t.Fatalf("a simplejwt principal: %v", err)
	}
	if _, err := p.UserInfo(&gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, Scope: "openid"}); err != oidc.ErrNoUser {
		t.Fatalf("a client's token: %v", err)
	}
}

// Django OAuth Toolkit's issuer kept (the site's URL and /o): it is the
// iss of id_tokens, the issuer of the discovery document, and what a hint
// must name, while the endpoints stay under gatehouse's URL.
func TestDjangoIssuer(t *testing.T) {
	s := oidctest.New(t)
	p := newProvider(t, s, oidc.Config{Issuer: "https://id.example/o", BaseURL: "https://id.example"})
	u := gatehouse.User{ID: 7, Username: "alice"}
	tok, err := p.IDToken(context.Background(), oauth.IDTokenInput{User: u, ClientID: "rp", Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	if iss := payload(t, s, tok)["iss"]; iss != "https://id.example/o" {
		t.Fatalf("iss %v", iss)
	}
	d := p.Discovery(oauth.Metadata{Issuer: "https://id.example", AuthorizationEndpoint: "https://id.example/o/authorize/"})
	if d.Issuer != "https://id.example/o" || d.AuthorizationEndpoint != "https://id.example/o/authorize/" ||
		d.UserinfoEndpoint != "https://id.example/o/userinfo/" || d.EndSessionEndpoint != "https://id.example/o/logout/" {
		t.Fatalf("discovery %+v", d)
	}
	if _, err := p.CheckHint(context.Background(), tok, "rp"); err != nil {
		t.Errorf("its own id_token as a hint: %v", err)
	}
	plain := newProvider(t, s, oidc.Config{Issuer: "https://id.example"})
	if _, err := plain.CheckHint(context.Background(), tok, "rp"); err == nil {
		t.Error("an id_token of DOT's issuer accepted by a provider of another")
	}
}
