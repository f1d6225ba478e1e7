package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeCert writes a new self-signed certificate for 127.0.0.1 and
// localhost, and its key, to dir/name.crt and dir/name.key, and returns
// the paths and the certificate's DER.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	// Written beside and renamed, as a certificate tool replaces them.
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, der
}

// serveTLS starts serve with env over HTTPS and returns its base URL, a
// client that trusts any certificate (the test checks which one it got)
// and speaks HTTP/2, and stop.
func serveTLS(t *testing.T, env map[string]string) (string, *http.Client, func()) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base, stop := serveWith(t, env, "https", client)
	return base, client, func() {
		tr.CloseIdleConnections()
		stop()
	}
}

// servedCert is the DER of the certificate a new connection to base gets.
func servedCert(t *testing.T, base string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, der := writeCert(t, dir, "first")
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_TLS_CERT_FILE"], env["GATEHOUSE_TLS_KEY_FILE"] = certFile, keyFile
	env["GATEHOUSE_TLS_RELOAD_INTERVAL"] = "50ms"
	redirectAddr := freeAddr(t)
	env["GATEHOUSE_HTTP_REDIRECT_ADDR"] = redirectAddr
	base, client, stop := serveTLS(t, env)
	defer stop()

	res, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != `{"status":"ok"}` {
		t.Fatalf("/healthz: %d %s", res.StatusCode, body)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", res.Proto)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security %q, want max-age=31536000", got)
	}
	if res.TLS == nil || res.TLS.Version < tls.VersionTLS12 || !bytes.Equal(res.TLS.PeerCertificates[0].Raw, der) {
		t.Fatalf("TLS state %+v", res.TLS)
	}
	// TLS 1.1 and older are refused.
	if c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	// The issuer defaults to https on loopback.
	res, err = client.Get(base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"issuer":"`+base+`"`) {
		t.Errorf("metadata %s; want the issuer %s", body, base)
	}

	// Plain HTTP on the redirect address: a 308 to the same path over HTTPS.
	res, err = client.Get("http://" + redirectAddr + "/o/authorize/?client_id=x&state=y")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "https://"))
	if want := "https://127.0.0.1:" + port + "/o/authorize/?client_id=x&state=y"; res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q, want 308 %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain HTTP response")
	}
	// And HTTPS only on the main address: plain HTTP there is not served.
	res, err = http.Get("http://" + strings.TrimPrefix(base, "https://") + "/healthz")
	if err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS address")
		}
	}

	// healthcheck finds the server over HTTPS with its own certificate.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "healthcheck", "--addr", strings.TrimPrefix(base, "https://")}, getenvFrom(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("healthcheck over TLS: %v", err)
	}

	// New files replace the certificate without a restart; an open
	// connection keeps the old one, new ones get the new one.
	_, _, der2 := writeCert(t, dir, "first")
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Equal(servedCert(t, base), der2) {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was not served")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The healthcheck now expects the new certificate too.
	if err := run(context.Background(), []string{"gatehouse", "healthcheck", "--addr", strings.TrimPrefix(base, "https://")}, getenvFrom(env), nil, &out, io.Discard); err != nil {
		t.Fatalf("healthcheck after the reload: %v", err)
	}
	// A key that does not match is refused by the reload: the last good
	// certificate stays.
	if err := os.WriteFile(keyFile, pemKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if !bytes.Equal(servedCert(t, base), der2) {
		t.Fatal("a mismatched key replaced the certificate")
	}
}

// pemKey is a new P-256 key in PEM, matching no certificate.
func pemKey(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
}

// SIGHUP reloads the certificate at once when polling is off; HSTS can be
// turned off.
func TestServeTLSReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, der := writeCert(t, dir, "hup")
	env := baseEnv(filepath.Join(dir, "gatehouse.db"))
	env["GATEHOUSE_TLS_CERT_FILE"], env["GATEHOUSE_TLS_KEY_FILE"] = certFile, keyFile
	env["GATEHOUSE_TLS_RELOAD_INTERVAL"] = "0"
	env["GATEHOUSE_HSTS_MAX_AGE"] = "0"
	base, client, stop := serveTLS(t, env)
	defer stop()
	res, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if v, ok := res.Header["Strict-Transport-Security"]; ok {
		t.Errorf("HSTS %q with hsts-max-age 0", v)
	}
	_, _, der2 := writeCert(t, dir, "hup")
	time.Sleep(200 * time.Millisecond)
	if !bytes.Equal(servedCert(t, base), der) {
		t.Fatal("the files were reloaded with the reload interval 0")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Equal(servedCert(t, base), der2) {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the certificate")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Bad TLS settings are refused at start naming the variables, with exit
// status 2, before the database is created.
func TestServeTLSRefused(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeCert(t, dir, "good")
	otherKey := filepath.Join(dir, "other.key")
	if err := os.WriteFile(otherKey, pemKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable.key")
	if err := os.WriteFile(unreadable, nil, 0); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string
	}{
		{"cert without key", map[string]string{"GATEHOUSE_TLS_CERT_FILE": certFile},
			"GATEHOUSE_TLS_CERT_FILE is set without GATEHOUSE_TLS_KEY_FILE: set both (HTTPS) or neither (plain HTTP)"},
		{"key without cert", map[string]string{"GATEHOUSE_TLS_KEY_FILE": keyFile},
			"GATEHOUSE_TLS_KEY_FILE is set without GATEHOUSE_TLS_CERT_FILE"},
		{"missing file", map[string]string{"GATEHOUSE_TLS_CERT_FILE": filepath.Join(dir, "none.crt"), "GATEHOUSE_TLS_KEY_FILE": keyFile},
			"GATEHOUSE_TLS_CERT_FILE, GATEHOUSE_TLS_KEY_FILE: stat " + filepath.Join(dir, "none.crt") + ": no such file or directory"},
		{"key of another certificate", map[string]string{"GATEHOUSE_TLS_CERT_FILE": certFile, "GATEHOUSE_TLS_KEY_FILE": otherKey},
			"GATEHOUSE_TLS_CERT_FILE, GATEHOUSE_TLS_KEY_FILE: tls: private key does not match public key"},
		{"key is not PEM", map[string]string{"GATEHOUSE_TLS_CERT_FILE": certFile, "GATEHOUSE_TLS_KEY_FILE": certFile},
			"GATEHOUSE_TLS_CERT_FILE, GATEHOUSE_TLS_KEY_FILE: tls:"},
		{"redirect without TLS", map[string]string{"GATEHOUSE_HTTP_REDIRECT_ADDR": "127.0.0.1:0"},
			"GATEHOUSE_HTTP_REDIRECT_ADDR redirects to HTTPS, which needs GATEHOUSE_TLS_CERT_FILE and GATEHOUSE_TLS_KEY_FILE"},
		{"redirect on the HTTPS address", map[string]string{"GATEHOUSE_TLS_CERT_FILE": certFile, "GATEHOUSE_TLS_KEY_FILE": keyFile, "GATEHOUSE_HTTP_REDIRECT_ADDR": addr},
			"GATEHOUSE_HTTP_REDIRECT_ADDR is " + addr + ", the address HTTPS is served on (GATEHOUSE_ADDR)"},
		{"bad duration", map[string]string{"GATEHOUSE_HSTS_MAX_AGE": "a year"},
			`GATEHOUSE_HSTS_MAX_AGE: want a duration such as 30s or 10m, got "a year"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			db := filepath.Join(t.TempDir(), "sub", "gatehouse.db")
			env := baseEnv(db)
			env["GATEHOUSE_ADDR"] = addr
			for k, v := range tc.set {
				env[k] = v
			}
			var stderr bytes.Buffer
			err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want %s", err, tc.want)
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if _, err := os.Stat(filepath.Dir(db)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("something was created: %v", err)
			}
		})
	}
	if os.Geteuid() != 0 {
		env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
		env["GATEHOUSE_TLS_CERT_FILE"], env["GATEHOUSE_TLS_KEY_FILE"] = certFile, unreadable
		err := run(context.Background(), []string{"gatehouse", "serve"}, getenvFrom(env), nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_TLS_CERT_FILE, GATEHOUSE_TLS_KEY_FILE: open "+unreadable+": permission denied") {
			t.Fatalf("unreadable key: %v", err)
		}
	}
}
