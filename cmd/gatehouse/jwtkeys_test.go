package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

func writeECKey(t *testing.T, dir, name string) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, path
}

// ES256 with a key id: tokens carry the kid, the public keys (the old one
// too, for rotation) are published, and an independent JOSE library
// verifies the token with the published set.
func TestServeES256WithRotationKeys(t *testing.T) {
	dir := t.TempDir()
	_, signPath := writeECKey(t, dir, "new.pem")
	old, _ := writeECKey(t, dir, "old.pem")
	pubDER, _ := x509.MarshalPKIXPublicKey(&old.PublicKey)
	oldPub := filepath.Join(dir, "old.pub.pem")
	os.WriteFile(oldPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)

	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_JWT_ALGORITHM"] = "ES256"
	env["GATEHOUSE_JWT_PRIVATE_KEY_FILE"] = signPath
	env["GATEHOUSE_JWT_KEY_ID"] = "k2"
	env["GATEHOUSE_JWT_VERIFY_KEY_FILES"] = "k1=" + oldPub
	env["GATEHOUSE_JWT_ISSUER"] = "https://auth.example.com"
	base, stop := serve(t, env)
	defer stop()

	res, err := http.Post(base+"/sign_up/", "application/json", strings.NewReader(`{"username":"eve","password":"a long good passphrase"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("sign up: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	res, err = http.Post(base+"/access-token/", "application/json", strings.NewReader(`{"username":"eve","password":"a long good passphrase"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("obtain: %v %v", res.StatusCode, err)
	}
	var pair map[string]string
	json.NewDecoder(res.Body).Decode(&pair)
	res.Body.Close()
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(pair["access"], ".")[0])
	if string(hdr) != `{"alg":"ES256","typ":"JWT","kid":"k2"}` && !strings.Contains(string(hdr), `"kid":"k2"`) {
		t.Fatalf("header %s", hdr)
	}
	res, err = http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || len(set.Key("k2")) != 1 || len(set.Key("k1")) != 1 {
		t.Fatalf("jwks %s: %v", body, err)
	}
	if strings.Contains(string(body), `"d"`) {
		t.Fatal("the JWKS publishes private key material")
	}
	tok, err := josejwt.ParseSigned(pair["access"], []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := tok.Claims(set.Key("k2")[0].Key, &claims); err != nil {
		t.Fatalf("published key does not verify the token: %v", err)
	}
	if claims["iss"] != "https://auth.example.com" || claims["token_type"] != "access" {
		t.Fatalf("claims %v", claims)
	}
	req, _ := http.NewRequest("GET", base+"/api/me/", nil)
	req.Header.Set("Authorization", "Bearer "+pair["access"])
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("me with ES256 token: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
}

// simplejwt with ES256: django-settings carries SIGNING_KEY (a PEM key) into
// the file as a quoted value; gatehouse signs with it under the kid
// "simplejwt", and a token signed with it without a kid, as simplejwt
// signs, still authenticates.
func TestDjangoSettingsES256Key(t *testing.T) {
	dir := t.TempDir()
	k, keyPath := writeECKey(t, dir, "django.pem")
	pemText, _ := os.ReadFile(keyPath)
	input, _ := json.Marshal(map[string]any{"SIMPLE_JWT": map[string]any{"ALGORITHM": "ES256", "SIGNING_KEY": string(pemText), "VERIFYING_KEY": "-----BEGIN PUBLIC KEY-----"}})
	conf := filepath.Join(dir, "gatehouse.conf")
	if _, errText, err := runDjangoSettings(t, strings.NewReader(string(input)), "--out", conf); err != nil {
		t.Fatalf("%v\n%s", err, errText)
	}
	text, _ := os.ReadFile(conf)
	if !strings.Contains(string(text), `jwt-private-key = "-----BEGIN PRIVATE KEY-----\n`) {
		t.Fatalf("the key is not one quoted line:\n%s", text)
	}
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_CONFIG"] = conf
	base, stop := serve(t, env)
	defer stop()
	res, err := http.Post(base+"/sign_up/", "application/json", strings.NewReader(`{"username":"eve","password":"a long good passphrase"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("sign up: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	status, pair := postJSON(t, base+"/access-token/", map[string]string{"username": "eve", "password": "a long good passphrase"})
	if status != 200 {
		t.Fatalf("obtain: %d %v", status, pair)
	}
	access := pair["access"].(string)
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[0])
	if string(hdr) != `{"alg":"ES256","kid":"simplejwt","typ":"JWT"}` {
		t.Errorf("header %s", hdr)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	p := jwtPayload(t, access)
	theirs, err := josejwt.Signed(signer).Claims(map[string]any{"token_type": "access", "exp": int64(p["exp"].(float64)), "iat": int64(p["iat"].(float64)),
		"jti": "0123456789abcdef0123456789abcdef", "user_id": int64(p["user_id"].(float64))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{access, theirs} {
		req, _ := http.NewRequest("GET", base+"/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if status, body := doJSON(t, req); status != 200 {
			t.Errorf("/api/me/: %d %v", status, body)
		}
	}
}

// SIMPLE_JWT's ALGORITHM HS512: tokens are minted with it, and a token
// signed with HMAC-SHA512 by the project's key (as simplejwt signs)
// authenticates.
func TestServeHS512(t *testing.T) {
	const key = "django-settings-test-key-not-secret-0123456789abcdefghij"
	dir := t.TempDir()
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_JWT_ALGORITHM"] = "HS512"
	env["GATEHOUSE_JWT_SIGNING_KEY"] = key
	base, stop := serve(t, env)
	defer stop()
	res, err := http.Post(base+"/sign_up/", "application/json", strings.NewReader(`{"username":"eve","password":"a long good passphrase"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("sign up: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	status, pair := postJSON(t, base+"/access-token/", map[string]string{"username": "eve", "password": "a long good passphrase"})
	if status != 200 {
		t.Fatalf("obtain: %d %v", status, pair)
	}
	access := pair["access"].(string)
	if hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[0]); string(hdr) != `{"alg":"HS512","typ":"JWT"}` {
		t.Errorf("header %s", hdr)
	}
	// Signed by hand: go-jose, following RFC 7518 3.2, wants a 64-byte key.
	p := jwtPayload(t, access)
	payload, _ := json.Marshal(map[string]any{"token_type": "access", "exp": int64(p["exp"].(float64)), "iat": int64(p["iat"].(float64)),
		"jti": "0123456789abcdef0123456789abcdef", "user_id": int64(p["user_id"].(float64))})
	input := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha512.New, []byte(key))
	m.Write([]byte(input))
	theirs := input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	for _, tok := range []string{access, theirs} {
		req, _ := http.NewRequest("GET", base+"/api/me/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if status, body := doJSON(t, req); status != 200 {
			t.Errorf("/api/me/: %d %v", status, body)
		}
	}
}
