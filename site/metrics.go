package site

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/metrics"
	"github.com/gatehouse-auth/gatehouse/server"
)

// metricsOn reports whether a setting asks for the metrics: they are off
// (nothing is counted, nothing is served) unless one does.
func (e *env) metricsOn() bool { return e.cfg.MetricsAddr != "" || e.cfg.MetricsPathOnMain != "" }

// checkMetrics refuses a metrics setting that cannot work, before
// anything is opened or created.
func (e *env) checkMetrics() error {
	c := e.cfg
	if c.MetricsAddr != "" {
		host, port, err := net.SplitHostPort(c.MetricsAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return fmt.Errorf("GATEHOUSE_METRICS_ADDR: want host:port such as 127.0.0.1:9090, not %q", c.MetricsAddr)
		}
		if c.MetricsAddr == c.Addr && port != "0" {
			return fmt.Errorf("GATEHOUSE_METRICS_ADDR is GATEHOUSE_ADDR (%s): the metrics listener needs an address of its own (or set GATEHOUSE_METRICS_PATH_ON_MAIN)", c.Addr)
		}
		if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
			e.log.Warn("the metrics listener is not on a loopback address: every network that reaches it can read the metrics",
				"addr", c.MetricsAddr)
		}
	}
	if c.MetricsPathOnMain != "" {
		if err := server.CheckMountPrefix(c.MetricsPathOnMain); err != nil {
			return fmt.Errorf("GATEHOUSE_METRICS_PATH_ON_MAIN: %w", err)
		}
	}
	return nil
}

// auditor is the Auditor the services report to: the audit log's
// recorder, counted by the metrics when they are on.
func (e *env) auditor(a *Services) gatehouse.Auditor {
	if e.metrics == nil {
		return a.Audit
	}
	return e.metrics.Auditor(a.Audit)
}

// watch points the metrics at what a's services expose.
func (e *env) watch(a *Services) {
	if e.metrics == nil {
		return
	}
	e.metrics.WatchHashing(a.Accounts)
	e.metrics.WatchAuthCache(a.Authn)
	e.metrics.WatchDB(a.Store.DB(), a.Store.Dialect())
}

// serverMetrics adds the request observer, and the metrics handler on the
// main listener when asked, to the server's dependencies.
func (e *env) serverMetrics(d *server.Deps) {
	if e.metrics == nil {
		return
	}
	d.Observer = e.metrics
	if e.cfg.MetricsPathOnMain != "" {
		d.Config.MetricsPath = e.cfg.MetricsPathOnMain
		d.Metrics = e.metrics.Handler()
	}
}

// metricsListener is the separate listener of GATEHOUSE_METRICS_ADDR.
type metricsListener struct {
	ln   net.Listener
	hs   *http.Server
	done chan struct{}
}

// listenMetrics opens the listener of GATEHOUSE_METRICS_ADDR (nil when
// it is unset); serve starts it.
func (e *env) listenMetrics() (*metricsListener, error) {
	if e.cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", e.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_METRICS_ADDR: %w", err)
	}
	return &metricsListener{ln: ln, done: make(chan struct{})}, nil
}

// serve serves m's handler at /metrics (GET and HEAD; any other path is
// 404) until close.
func (l *metricsListener) serve(m *metrics.Metrics, log interface{ Error(string, ...any) }) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	l.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 16 << 10}
	go func() {
		defer close(l.done)
		if err := l.hs.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
}

// close finishes the scrapes in flight (for up to 5 s) and stops the
// listener.
func (l *metricsListener) close() {
	if l.hs == nil {
		l.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.hs.Shutdown(ctx); err != nil {
		l.hs.Close()
	}
	<-l.done
}
