package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/site"
)

func cmdVersion(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("version takes no arguments, got %q", args)
	}
	fmt.Fprintln(e.stdout, buildinfo.Get())
	return nil
}

// healthFlags are the flags of healthcheck.
type healthFlags struct {
	url     string
	timeout time.Duration
}

func (f *healthFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "URL to GET (default: /readyz at GATEHOUSE_ADDR, https when GATEHOUSE_TLS_CERT_FILE is set, 127.0.0.1 for an unspecified address)")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
}

// cmdHealthcheck asks the running server whether it is ready, for a
// container image that has no curl: the exit status is the answer. It
// opens no database and writes no file. Over HTTPS to the default URL, the
// server must present the certificate of GATEHOUSE_TLS_CERT_FILE (the
// address, often 127.0.0.1, is not a name the certificate holds); to an
// explicit --url, a certificate the system trusts for its host will do too.
func cmdHealthcheck(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("healthcheck takes no arguments, got %q", args)
	}
	f := e.extra.health
	if f.timeout <= 0 {
		return usagef("healthcheck: --timeout must be above 0 (%s would wait for ever)", f.timeout)
	}
	target := f.url
	if target == "" {
		u, err := readyzURL(e.cfg)
		if err != nil {
			return usageError{err}
		}
		target = u
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		return usagef("--url: want an http:// or https:// URL, got %q", target)
	}
	// The server answers 400 to a host outside allowed-hosts: name one it
	// takes when the URL's host is an address.
	if net.ParseIP(req.URL.Hostname()) != nil {
		if h := firstExactHost(e.cfg.AllowedHosts); h != "" {
			req.Host = h
		}
	}
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if req.URL.Scheme == "https" && e.cfg.TLSCertFile != "" {
		pinned, err := leafOf(e.cfg.TLSCertFile)
		if err != nil {
			return fmt.Errorf("GATEHOUSE_TLS_CERT_FILE: %w", err)
		}
		explicit := f.url != ""
		host := req.URL.Hostname()
		transport.TLSClientConfig = &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // verified below: the configured certificate, or the system's roots for --url
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) > 0 && bytes.Equal(cs.PeerCertificates[0].Raw, pinned) {
					return nil
				}
				if explicit && len(cs.PeerCertificates) > 0 {
					inter := x509.NewCertPool()
					for _, c := range cs.PeerCertificates[1:] {
						inter.AddCert(c)
					}
					_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Intermediates: inter})
					return err
				}
				return errors.New("the server's certificate is not the one in GATEHOUSE_TLS_CERT_FILE")
			},
		}
	}
	client := &http.Client{Transport: transport, Timeout: f.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	line := strings.TrimSpace(string(body))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("not healthy: GET %s answered %s %s", target, res.Status, line)
	}
	fmt.Fprintln(e.stdout, line)
	return nil
}

// readyzURL is /readyz at the address serve listens on: an unspecified
// host (0.0.0.0, ::, none) is reached on loopback.
func readyzURL(cfg site.Config) (string, error) {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || port == "" || port == "0" {
		return "", fmt.Errorf("GATEHOUSE_ADDR %q is not a host:port to check; give --url", cfg.Addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// firstExactHost is the first name of allowed-hosts that is a host name
// itself (not a .domain pattern or *).
func firstExactHost(list string) string {
	for _, h := range site.SplitList(list) {
		if h = strings.TrimSpace(h); h != "" && h != "*" && !strings.HasPrefix(h, ".") {
			return h
		}
	}
	return ""
}

// leafOf is the DER of the first certificate in a PEM file.
func leafOf(path string) ([]byte, error) {
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}
