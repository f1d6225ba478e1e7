package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/site"
)

// startServing serves hs on ln in the background, sending Serve's error to
// errc: plain HTTP when t is nil, else HTTPS with t's certificate (reloaded
// on SIGHUP and when its files change), the HSTS header, HTTP/2, and the
// plain-HTTP redirect listener when one is configured. shutdown stops
// what it started, finishing in-flight requests until ctx ends.
func startServing(hs *http.Server, ln net.Listener, t *site.TLS, log *slog.Logger, errc chan<- error) (shutdown func(context.Context) error, err error) {
	if t == nil {
		go func() { errc <- hs.Serve(ln) }()
		return hs.Shutdown, nil
	}
	hs.Handler = t.Handler(hs.Handler)
	hs.TLSConfig = t.Config()
	var redirect *http.Server
	if addr := t.RedirectAddr(); addr != "" {
		rln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("GATEHOUSE_HTTP_REDIRECT_ADDR: %w", err)
		}
		redirect = &http.Server{Handler: t.Redirect(ln.Addr().String()), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
		go func() { errc <- redirect.Serve(rln) }()
		log.Info("redirecting plain HTTP to HTTPS", "addr", rln.Addr().String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer signal.Stop(hup)
		go t.Watch(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				t.Reload() // logged; the certificate in use stays on an error
			}
		}
	}()
	// ServeTLS with no file names takes the certificate from TLSConfig's
	// GetCertificate and offers HTTP/2 ("h2") before HTTP/1.1.
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	return func(sctx context.Context) error {
		cancel()
		<-watched
		var err error
		if redirect != nil {
			err = redirect.Shutdown(sctx)
		}
		return errors.Join(hs.Shutdown(sctx), err)
	}, nil
}
