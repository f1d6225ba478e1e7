// Package site opens gatehouse from its settings: the store, the services
// and the HTTP handler, wired as the gatehouse binary wires them (the
// binary calls this package). A Go program embeds gatehouse with Open: it
// mounts Handler under a prefix of its own mux and protects its own routes
// with Authenticator, which authenticates in-process, without a network
// hop.
//
//	s, err := site.Open(ctx, cfg, site.Options{Log: log})
//	defer s.Close()
//	mux.Handle("/auth/", http.StripPrefix("/auth", s.Handler()))
//	g := guard.New(s.Authenticator())
//	mux.Handle("/todos/", g.Protect(guard.IsAuthenticated, todos))
package site

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/metrics"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/throttle"
	"github.com/gatehouse-auth/gatehouse/tracing"
)

// DefaultConfig is every setting at its default, as the binary starts
// when none is set. With SQLite and no SecretKey, a secret is generated
// beside the database file on first open, as the binary does.
func DefaultConfig() Config {
	var c Config
	for _, s := range c.Settings() {
		s.Value.Set(s.Default) // Parse refuses a default that does not read, and its tests would fail
	}
	return c
}

// FromEnv reads the settings as the binary does, flags aside: each
// GATEHOUSE_* variable getenv gives (os.Getenv), else the line of the
// configuration file GATEHOUSE_CONFIG names, else the default. A value
// that is refused is an error naming the variable, or the file and line.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("gatehouse", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := c.Parse(fs, nil, getenv)
	return c, err
}

// Options are what a Config does not say: where logs go and the hooks of
// the process that runs gatehouse.
type Options struct {
	// Log receives gatehouse's log lines; nil discards them.
	Log *slog.Logger
	// HashMemory is told the memory of each password hash before it runs
	// (the binary's serve raises its soft memory limit with it); nil: no
	// one is told.
	HashMemory func(bytes int64)
	// HashesRunning is told when password hashing starts while none runs
	// (true) and when the last hash running ends (false) (the binary's
	// serve lowers the collector's target meanwhile); nil: no one is told.
	HashesRunning func(running bool)
}

// env is what the wiring reads: the settings and the options.
type env struct {
	cfg           Config
	log           *slog.Logger
	hashMemory    func(bytes int64)
	hashesRunning func(running bool)
	// generatedSecret is the secret file this start generated, if any.
	generatedSecret string
	// settled is what settle built from the settings, before the
	// database opened.
	settled *settled
	// metrics are the Prometheus metrics; nil when off (Open only).
	metrics *metrics.Metrics
	// tracer starts the request spans; nil when off (Open only).
	tracer *tracing.Tracer
}

func newEnv(cfg Config, opts Options) *env {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &env{cfg: cfg, log: log, hashMemory: opts.HashMemory, hashesRunning: opts.HashesRunning}
}

// OpenServices opens the database of cfg, applies its migrations and
// builds the services on it, with no HTTP handler and no background work
// (the binary's commands other than serve). A setting that is refused is
// an error naming its GATEHOUSE_* variable; nothing is left open then.
func OpenServices(ctx context.Context, cfg Config, opts Options) (*Services, error) {
	return newEnv(cfg, opts).open(ctx, true)
}

// Site is a running gatehouse: its services, its HTTP handler and the
// background work (removing expired OAuth rows, old audit rows and expired
// knox tokens; sweeping throttle counters; rotating signing keys). Close
// stops it.
type Site struct {
	*Services
	srv  *server.Server
	stop func() // stops the background work and waits for it

	metrics   *metrics.Metrics // nil: off
	metricsLn *metricsListener // nil: no GATEHOUSE_METRICS_ADDR
	tracer    *tracing.Tracer  // nil: no GATEHOUSE_OTEL_ENDPOINT
	log       *slog.Logger
}

// Open opens gatehouse as `gatehouse serve` does, without listening: the
// services (OpenServices), the HTTP handler of every route, and the
// background work, which runs until Close. The one listener it opens is
// the metrics' own, when GATEHOUSE_METRICS_ADDR is set (Close stops it). A refused setting is an error
// naming its GATEHOUSE_* variable (Config.Explain adds the configuration
// file's line), and nothing is left open; the migrations may have run.
//
// To mount the handler under a prefix of another mux, set
// cfg.MountPrefix to it:
//
//	cfg.MountPrefix = "/auth"
//	mux.Handle("/auth/", http.StripPrefix("/auth", s.Handler()))
func Open(ctx context.Context, cfg Config, opts Options) (*Site, error) {
	e := newEnv(cfg, opts)
	if err := e.checkMetrics(); err != nil {
		return nil, err
	}
	if err := e.checkTracing(); err != nil {
		return nil, err
	}
	ml, err := e.listenMetrics()
	if err != nil {
		return nil, err
	}
	if e.metricsOn() {
		bi := buildinfo.Get() // the linker's version and commit (make build), as gatehouse version prints them
		e.metrics = metrics.New(metrics.Build{Version: bi.Version, Commit: bi.Commit, GoVersion: bi.GoVersion})
	}
	a, err := e.open(ctx, true)
	if err != nil {
		if ml != nil {
			ml.close()
		}
		return nil, err
	}
	e.watch(a)
	if e.tracer, err = e.startTracing(ctx); err != nil {
		if ml != nil {
			ml.close()
		}
		a.Close()
		return nil, err
	}
	srv, err := e.serverFor(a)
	if err != nil {
		if ml != nil {
			ml.close()
		}
		e.stopTracing(e.tracer)
		a.Close()
		return nil, err
	}
	s := &Site{Services: a, srv: srv, stop: e.background(a), metrics: e.metrics, metricsLn: ml, tracer: e.tracer, log: e.log}
	if ml != nil {
		ml.serve(e.metrics, e.log)
		e.log.Info("metrics listening", "addr", ml.ln.Addr().String())
	}
	return s, nil
}

// Metrics are the Prometheus metrics of the site, nil when they are off
// (neither GATEHOUSE_METRICS_ADDR nor GATEHOUSE_METRICS_PATH_ON_MAIN is
// set). An embedding program may serve Metrics().Handler() where it likes.
func (s *Site) Metrics() *metrics.Metrics { return s.metrics }

// MetricsAddr is the address the metrics listener listens on ("" when
// there is none): GATEHOUSE_METRICS_ADDR with the port the kernel chose
// for port 0.
func (s *Site) MetricsAddr() string {
	if s.metricsLn == nil {
		return ""
	}
	return s.metricsLn.ln.Addr().String()
}

// background starts the cleanup, the throttle sweep and the signing keys'
// maintenance (rereading, scheduled rotation, removal) and returns what
// stops them and waits until they have.
func (e *env) background(a *Services) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	cleaned, swept, rotated, beaten := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { a.Cleaner.Run(ctx); close(cleaned) }()
	go func() { throttle.Sweep(ctx, a.Counters, time.Minute, e.log); close(swept) }()
	go func() { a.Keys.Run(ctx); close(rotated) }()
	go func() { e.heartbeat(ctx, a.Store); close(beaten) }()
	if e.metrics != nil {
		e.metrics.WatchCleanup(a.Cleaner)
	}
	return func() { cancel(); <-cleaned; <-swept; <-rotated; <-beaten }
}

// heartbeat records this replica in the database every
// gatehouse.ReplicaBeat until ctx ends (the admin's status page lists the
// replicas seen); a failed record is logged and tried again next beat.
func (e *env) heartbeat(ctx context.Context, st gatehouse.ReplicaStore) {
	host, _ := os.Hostname()
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		e.log.Warn("replica heartbeat off", "err", err)
		return
	}
	r := gatehouse.Replica{ID: hex.EncodeToString(id), Host: host, Version: buildinfo.Get().Version, Started: time.Now()}
	t := time.NewTicker(gatehouse.ReplicaBeat)
	defer t.Stop()
	for {
		r.LastSeen = time.Now()
		if err := st.SeeReplica(ctx, r, r.LastSeen.Add(-gatehouse.ReplicaExpiry)); err != nil && ctx.Err() == nil {
			e.log.Warn("replica heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handler is gatehouse's HTTP handler: every route of the binary's serve,
// at the root of the paths it is given (strip cfg.MountPrefix first).
func (s *Site) Handler() http.Handler { return s.srv }

// Close sends the trace spans not yet sent (for up to 5 s), stops the
// background work, then the services and the store. The handler must no
// longer be serving.
func (s *Site) Close() {
	if s.metricsLn != nil {
		s.metricsLn.close()
	}
	stopTracer(s.tracer, s.log)
	s.stop()
	s.Services.Close()
}
