package tlscert

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// write puts a new self-signed certificate and its key at the paths and
// returns the certificate's DER.
func write(t *testing.T, certFile, keyFile string) []byte {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "test"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(priv)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return der
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	der1 := write(t, certFile, keyFile)
	c, err := Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	served := func() []byte {
		got, _ := c.GetCertificate(nil)
		return got.Certificate[0]
	}
	if !bytes.Equal(served(), der1) || !bytes.Equal(c.Leaf().Raw, der1) {
		t.Fatal("not the certificate loaded")
	}
	if changed, err := c.ReloadIfChanged(); changed || err != nil {
		t.Fatalf("unchanged files: %v %v", changed, err)
	}
	// Files rewritten: a later modification time is a change.
	der2 := write(t, certFile, keyFile)
	later := time.Now().Add(time.Second)
	os.Chtimes(certFile, later, later)
	if changed, err := c.ReloadIfChanged(); !changed || err != nil || !bytes.Equal(served(), der2) {
		t.Fatalf("after a rewrite: changed %v, err %v, new served %v", changed, err, bytes.Equal(served(), der2))
	}
	// A key file gone: the error once, the certificate in use stays, and
	// the next check is quiet until the files change again.
	os.Rename(keyFile, keyFile+".away")
	if changed, err := c.ReloadIfChanged(); !changed || err == nil || !bytes.Equal(served(), der2) {
		t.Fatalf("key gone: %v %v", changed, err)
	}
	if changed, err := c.ReloadIfChanged(); changed || err != nil {
		t.Fatalf("key still gone: %v %v", changed, err)
	}
	os.Rename(keyFile+".away", keyFile)
	if changed, err := c.ReloadIfChanged(); !changed || err != nil || !bytes.Equal(served(), der2) {
		t.Fatalf("key back: %v %v", changed, err)
	}
	// A key of another certificate is refused by Reload.
	other := filepath.Join(dir, "other")
	write(t, other+".c", other+".k")
	kb, _ := os.ReadFile(other + ".k")
	os.WriteFile(keyFile, kb, 0o600)
	if err := c.Reload(); err == nil || !bytes.Equal(served(), der2) {
		t.Fatalf("mismatched key: %v", err)
	}
	if _, err := Load(certFile, keyFile); err == nil {
		t.Fatal("Load took a mismatched pair")
	}
}

// A path mistaken for a certificate or key (/dev/zero) is refused at its
// bound instead of being read until memory runs out (found by a bad-input
// pass: 1 GB in 4 s).
func TestLoadBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write(t, certFile, keyFile)
	for _, pair := range [][2]string{{"/dev/zero", keyFile}, {certFile, "/dev/zero"}} {
		if _, err := Load(pair[0], pair[1]); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%v: %v", pair, err)
		}
	}
}
