// Package metrics is gatehouse's Prometheus instrumentation: it owns the
// registry and every collector, and reaches the rest of gatehouse only
// through what those packages already expose, so that none of them
// imports Prometheus:
//
//   - the requests, through server.Deps.Observer (ObserveRequest);
//   - the security events (logins, tokens, replays, throttling), through
//     the gatehouse.Auditor every service reports to (Auditor decorates
//     the real recorder);
//   - the password-hash slots, the authentication cache, the cleanup and
//     the database pool, read at each scrape from their read-only stats
//     (Watch*);
//   - the build and the Go runtime and process.
//
// Every label takes its values from a fixed set (routes from routes.go,
// status codes, event names, the kinds, grants, login paths and reasons of
// audit.go); anything else is counted as "other". No label ever holds a
// request path, a username, a token or an address.
package metrics

import (
	"database/sql"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry of gatehouse's metrics. Build it with New,
// attach it (Observer, Auditor, Watch*), and serve Handler.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	series   atomic.Pointer[map[seriesKey]*requestSeries]
	seriesMu sync.Mutex // held to add to series

	events  *prometheus.CounterVec
	logins  *prometheus.CounterVec
	tokens  *prometheus.CounterVec
	replays *prometheus.CounterVec
}

// Build is what gatehouse_build_info reports.
type Build struct {
	Version, Commit, GoVersion string
}

// ReadBuild is the build of the running binary from runtime/debug:
// the main module's version ("(devel)" from a checkout), the VCS
// revision go build stamps ("unknown" without one) and the Go version.
func ReadBuild() Build {
	b := Build{Version: "unknown", Commit: "unknown", GoVersion: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = info.GoVersion
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			b.Commit = s.Value
		}
	}
	return b
}

// latencyBuckets span what gatehouse answers: a cached token lookup in
// well under a millisecond, a password hash in tens to hundreds of
// milliseconds, a request queued for a hash slot up to the request timeout.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns a registry holding the request, audit, build, Go runtime
// and process metrics; b is the build reported (ReadBuild for the running
// binary).
func New(b Build) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total",
		Help: "HTTP requests answered, by route (the pattern that served them; unmatched for none) and status code."},
		[]string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
		Help:    "Time from a request's arrival at gatehouse's middleware to its answer, by route and status class (2xx, 4xx, ...).",
		Buckets: latencyBuckets}, []string{"route", "class"})
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_audit_events_total",
		Help: "Security events recorded in the audit log, by event name."}, []string{"event"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_logins_total",
		Help: "Username and password checks, by path (via) and outcome: succeeded, a failure reason, or throttled and locked for the refusals of the failed-login guard."},
		[]string{"via", "outcome"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_total",
		Help: "Credentials issued, refreshed and revoked, by kind (oauth, simplejwt, drf), OAuth grant (none for the others) and outcome."},
		[]string{"kind", "grant", "outcome"})
	m.replays = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_replays_total",
		Help: "Replays detected: a redeemed authorization code (code) or an exchanged refresh token (oauth, simplejwt) presented again."},
		[]string{"kind"})
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_build_info",
		Help:        "Always 1; the labels say which gatehouse runs.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "go_version": b.GoVersion}})
	build.Set(1)
	empty := map[seriesKey]*requestSeries{}
	m.series.Store(&empty)
	m.reg.MustRegister(m.requests, m.latency, m.events, m.logins, m.tokens, m.replays, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.preset()
	return m
}

// Handler serves the registry in Prometheus's text (or OpenMetrics)
// format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry, for a program that adds collectors of its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// seriesKey names the request series of one route and status.
type seriesKey struct {
	route  string
	status int
}

// requestSeries are the counter and histogram of one route and status,
// resolved once so that a request costs two atomic updates and no label
// lookup.
type requestSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// statusClasses are the class labels by status/100.
var statusClasses = [...]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// ObserveRequest counts a request and its latency (server.RequestObserver).
// The series of each route and status are made on first use and read
// without a lock after: the map is replaced, never changed, when one is
// added (routes × statuses seen: a few hundred at most).
func (m *Metrics) ObserveRequest(route string, status int, elapsed time.Duration) {
	k := seriesKey{route, status}
	s := (*m.series.Load())[k]
	if s == nil {
		s = m.addSeries(k)
	}
	s.count.Inc()
	s.latency.Observe(elapsed.Seconds())
}

func (m *Metrics) addSeries(k seriesKey) *requestSeries {
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	old := *m.series.Load()
	if s := old[k]; s != nil {
		return s
	}
	route := k.route
	if route == "" {
		route = "unmatched"
	}
	class := statusClasses[0]
	if c := k.status / 100; c >= 1 && c < len(statusClasses) {
		class = statusClasses[c]
	}
	code := strconv.Itoa(k.status)
	if k.status < 100 || k.status > 599 {
		code = "other"
	}
	s := &requestSeries{count: m.requests.WithLabelValues(route, code), latency: m.latency.WithLabelValues(route, class)}
	next := make(map[seriesKey]*requestSeries, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

// WatchDB adds the database pool's statistics (sql.DB.Stats, read at each
// scrape) as the standard go_sql_* metrics, labelled db_name=name.
func (m *Metrics) WatchDB(db *sql.DB, name string) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}
