// Package tlscert keeps the certificate a TLS server presents loaded from
// its PEM files, and swaps in a new one when the files change or Reload is
// called, without a restart. Connections already open keep the
// certificate they were made with; new handshakes get the new one. A pair
// that does not load (a key not matching the certificate, a file half
// written) is refused and the one in use stays.
package tlscert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Cert is a certificate and key pair read from two files. Its
// GetCertificate goes into a tls.Config.
type Cert struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]

	mu   sync.Mutex // one reload at a time
	seen [2]stamp   // the files as the last attempt found them
}

// stamp is what says a file changed: a rewrite or a symbolic link moved
// to another file (as Kubernetes updates a mounted Secret) changes it.
type stamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (stamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{st.ModTime(), st.Size()}, nil
}

// Load reads the pair, refusing files that cannot be read or parsed and a
// key that is not the certificate's.
func Load(certFile, keyFile string) (*Cert, error) {
	c := &Cert{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate returns the pair in use, for tls.Config.GetCertificate.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// Leaf is the certificate in use (the first of its chain).
func (c *Cert) Leaf() *x509.Certificate { return c.cur.Load().Leaf }

// Reload reads the files again and uses the pair they hold from the next
// handshake on. On an error the pair in use stays.
func (c *Cert) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reload()
}

func (c *Cert) reload() error {
	// Stamped before reading: a write landing after the stamp is seen as
	// a change at the next check.
	var err error
	for i, p := range []string{c.certFile, c.keyFile} {
		var e error
		c.seen[i], e = stampOf(p)
		err = errors.Join(err, e)
	}
	if err != nil {
		return err
	}
	// Read with a bound (a path mistaken for a certificate, /dev/zero,
	// is refused instead of filling the memory).
	certPEM, err := smallfile.Read(c.certFile, smallfile.Text)
	if err != nil {
		return err
	}
	keyPEM, err := smallfile.Read(c.keyFile, smallfile.Text)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		return err
	}
	if pair.Leaf == nil { // set by X509KeyPair since Go 1.23
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return err
		}
	}
	c.cur.Store(&pair)
	return nil
}

// ReloadIfChanged reloads when either file's modification time or size
// differs from when they were last read; changed says it tried.
func (c *Cert) ReloadIfChanged() (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range []string{c.certFile, c.keyFile} {
		// A file missing now and at the last attempt is no change: the
		// error was logged then.
		if s, _ := stampOf(p); s != c.seen[i] {
			return true, c.reload()
		}
	}
	return false, nil
}

// Watch checks the files every interval until ctx ends, reloading them
// when they changed; each reload and each refused pair is logged. A pair
// that was refused is tried again when the files change again.
func (c *Cert) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := c.ReloadIfChanged()
		switch {
		case err != nil:
			log.Error("TLS certificate not reloaded; the one in use stays", "cert_file", c.certFile, "key_file", c.keyFile, "err", err)
		case changed:
			c.LogLoaded(log, "TLS certificate reloaded (files changed)")
		}
	}
}

// LogLoaded logs msg with the certificate in use: subject, names, expiry.
func (c *Cert) LogLoaded(log *slog.Logger, msg string) {
	leaf := c.Leaf()
	level := slog.LevelInfo
	if time.Now().After(leaf.NotAfter) {
		level = slog.LevelWarn
		msg += ": the certificate has expired"
	}
	log.Log(context.Background(), level, msg, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames,
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "serial", fmt.Sprintf("%x", leaf.SerialNumber))
}
