package site

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/tlscert"
)

// TLS is gatehouse serving HTTPS itself, as the settings tls-cert-file,
// tls-key-file, tls-reload-interval, hsts-max-age and http-redirect-addr
// say: the certificate kept loaded and reloaded, the tls.Config, the HSTS
// header and the plain-HTTP redirect. `gatehouse serve` uses it; a Go
// program embedding gatehouse may serve its own mux with it.
type TLS struct {
	cert     *tlscert.Cert
	interval time.Duration
	hsts     string // the header's value; "" for none
	redirect string // the plain-HTTP address; "" for none
	issuer   string
	log      *slog.Logger
}

// NewTLS checks the TLS settings of cfg and loads the certificate. It
// returns nil and no error when neither file is set: serve then speaks
// plain HTTP. Only one of the two files set, a file that cannot be read,
// a key that is not the certificate's, or http-redirect-addr without TLS
// (or equal to addr) is an error naming the variables. It opens nothing,
// so a refusal leaves nothing behind.
func NewTLS(cfg Config, log *slog.Logger) (*TLS, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	certFile, keyFile := cfg.TLSCertFile, cfg.TLSKeyFile
	switch {
	case certFile == "" && keyFile == "":
		if cfg.HTTPRedirectAddr != "" {
			return nil, errors.New("GATEHOUSE_HTTP_REDIRECT_ADDR redirects to HTTPS, which needs GATEHOUSE_TLS_CERT_FILE and GATEHOUSE_TLS_KEY_FILE; behind a TLS proxy, let the proxy redirect")
		}
		return nil, nil
	case certFile == "":
		return nil, errors.New("GATEHOUSE_TLS_KEY_FILE is set without GATEHOUSE_TLS_CERT_FILE: set both (HTTPS) or neither (plain HTTP)")
	case keyFile == "":
		return nil, errors.New("GATEHOUSE_TLS_CERT_FILE is set without GATEHOUSE_TLS_KEY_FILE: set both (HTTPS) or neither (plain HTTP)")
	}
	if cfg.HTTPRedirectAddr != "" && cfg.HTTPRedirectAddr == cfg.Addr {
		return nil, fmt.Errorf("GATEHOUSE_HTTP_REDIRECT_ADDR is %s, the address HTTPS is served on (GATEHOUSE_ADDR): give the redirect another port", cfg.Addr)
	}
	cert, err := tlscert.Load(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_TLS_CERT_FILE, GATEHOUSE_TLS_KEY_FILE: %w", err)
	}
	t := &TLS{cert: cert, interval: cfg.TLSReloadInterval, redirect: cfg.HTTPRedirectAddr, issuer: cfg.Issuer, log: log}
	if secs := int64(cfg.HSTSMaxAge / time.Second); secs > 0 {
		t.hsts = "max-age=" + strconv.FormatInt(secs, 10)
	}
	cert.LogLoaded(log, "TLS certificate loaded")
	return t, nil
}

// Config is the tls.Config to serve with: TLS 1.2 at least, Go's default
// cipher suites and curves, the certificate in use at each handshake.
// http.Server.ServeTLS adds HTTP/2 to it.
func (t *TLS) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: t.cert.GetCertificate}
}

// Reload reads the certificate and key files again now (serve calls it on
// SIGHUP). On an error, logged and returned, the certificate in use stays.
func (t *TLS) Reload() error {
	if err := t.cert.Reload(); err != nil {
		t.log.Error("TLS certificate not reloaded; the one in use stays", "err", err)
		return err
	}
	t.cert.LogLoaded(t.log, "TLS certificate reloaded")
	return nil
}

// Watch reloads the certificate whenever its files change, checking them
// every tls-reload-interval, until ctx ends; with an interval of 0 it
// returns at once.
func (t *TLS) Watch(ctx context.Context) {
	if t.interval <= 0 {
		return
	}
	t.cert.Watch(ctx, t.interval, t.log)
}

// Handler adds the Strict-Transport-Security header (hsts-max-age) to the
// responses of h served over TLS.
func (t *TLS) Handler(h http.Handler) http.Handler {
	if t.hsts == "" {
		return h
	}
	value := []string{t.hsts}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header()["Strict-Transport-Security"] = value
		}
		h.ServeHTTP(w, r)
	})
}

// RedirectAddr is http-redirect-addr: where to listen for plain HTTP and
// answer with Redirect; "" for nowhere.
func (t *TLS) RedirectAddr() string { return t.redirect }

// Redirect answers every plain-HTTP request with a permanent redirect
// (308, which keeps the method) to the same path and query over HTTPS: at
// the issuer's host when the issuer setting is an https URL (the public
// name and port, which a container's port mapping may change), else at
// the host the request named with the port of httpsAddr, the address
// HTTPS is served on.
func (t *TLS) Redirect(httpsAddr string) http.Handler {
	_, port, _ := net.SplitHostPort(httpsAddr)
	var public string
	if u, err := url.Parse(t.issuer); err == nil && u.Scheme == "https" && u.Host != "" {
		public = u.Host
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := public
		if host == "" {
			host = r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if host == "" {
				http.Error(w, "a Host header is needed to redirect to HTTPS", http.StatusBadRequest)
				return
			}
			if port != "" && port != "443" {
				host = net.JoinHostPort(host, port)
			} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
				host = "[" + host + "]"
			}
		}
		target := "https://" + host + r.URL.RequestURI()
		w.Header().Set("Location", target)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusPermanentRedirect)
		fmt.Fprintln(w, "gatehouse answers over HTTPS:", target)
	})
}
