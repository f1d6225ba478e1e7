// Package audit keeps gatehouse's audit log. The services report security
// events to a Recorder (as a gatehouse.Auditor); each becomes one
// structured log line at once and one database row soon after: one
// goroutine writes the rows in batches, so that no request waits for an
// INSERT of its own. Rows older than the retention are removed by Prune,
// which the background cleanup runs.
package audit

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
)

// Store is the storage the audit log needs.
type Store interface {
	AppendAudit(ctx context.Context, events []gatehouse.AuditEvent) error
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int64, error)
}

// Config holds the audit log's settings. Start from DefaultConfig.
type Config struct {
	// Retention is how long rows are kept; 0 keeps them forever.
	Retention time.Duration
	// Queue is how many events may wait for the writer. When it is full
	// the caller stores its own row before it returns (backpressure).
	Queue int
	// Batch is the most rows one write stores.
	Batch int
	// Linger is how long the writer waits for more events after the
	// first one of a batch: a row is stored at most about this late, and
	// a busy server commits once per Linger (or per Batch rows) rather
	// than once per event.
	Linger time.Duration
	// FlushTimeout bounds how long Close keeps writing what is queued.
	FlushTimeout time.Duration
}

// DefaultConfig returns the defaults: 90 days of rows (PCI DSS 10.5.1
// wants three months of audit trail at hand for analysis; the log lines
// serve a longer archive, and addresses are personal data not to be kept
// longer than needed), a queue of 4,096 events, batches of up to 1,000
// rows gathered for up to 100 ms.
func DefaultConfig() Config {
	return Config{Retention: 90 * 24 * time.Hour, Queue: 4096, Batch: 1000, Linger: 100 * time.Millisecond, FlushTimeout: 10 * time.Second}
}

// Deps are what a Recorder is built from.
type Deps struct {
	Store  Store            // required
	Log    *slog.Logger     // where the audit lines go; nil discards them
	Now    func() time.Time // nil means time.Now
	Config Config           // zero fields take DefaultConfig's, Retention excepted
}

// Recorder is the audit log: a gatehouse.Auditor. Safe for concurrent use;
// the methods of a nil *Recorder do nothing.
type Recorder struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	cfg   Config

	// mu orders Record's enqueueing before Close: once closed is set no
	// event enters the queue, so the writer's last drain finds them all.
	mu     sync.RWMutex
	closed bool
	queue  chan gatehouse.AuditEvent
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the writer has finished
	// life ends the writer's retries when Close's flush time is up.
	life     context.Context
	endLife  context.CancelFunc
	closing  sync.Once
	closeErr error

	recorded, stored, direct, lost atomic.Int64
	lastWarn                       atomic.Int64 // unix nanoseconds of the last "queue full" warning
}

// Stats counts what a Recorder did since it was built.
type Stats struct {
	Recorded int64 // events reported (each was logged)
	Stored   int64 // rows written
	// Direct counts rows their caller wrote itself because the queue was
	// full (or the Recorder closed): the backpressure.
	Direct int64
	// Lost counts rows the database refused or could not take in time;
	// their log lines are the only record (each loss is logged as an error).
	Lost int64
}

// New returns a Recorder and starts its writer; Close stops it.
func New(d Deps) *Recorder {
	def := DefaultConfig()
	cfg := d.Config
	if cfg.Queue <= 0 {
		cfg.Queue = def.Queue
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Linger <= 0 {
		cfg.Linger = def.Linger
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = def.FlushTimeout
	}
	r := &Recorder{store: d.Store, log: d.Log, now: d.Now, cfg: cfg,
		queue: make(chan gatehouse.AuditEvent, cfg.Queue), stop: make(chan struct{}), done: make(chan struct{})}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.life, r.endLife = context.WithCancel(context.Background())
	go r.writer()
	return r
}

// Config returns the settings in force.
func (r *Recorder) Config() Config { return r.cfg }

// Stats returns the counts so far.
func (r *Recorder) Stats() Stats {
	if r == nil {
		return Stats{}
	}
	return Stats{Recorded: r.recorded.Load(), Stored: r.stored.Load(), Direct: r.direct.Load(), Lost: r.lost.Load()}
}

// Record completes e from ctx (the request id, the client's address and
// the acting user of gatehouse.RequestFrom, where e leaves them zero) and
// the clock, writes its log line and queues its row. Text is made valid
// UTF-8 without NUL bytes and bounded in length (event and detail keys 64
// bytes, the client id 255, other values 256), so that one odd input
// cannot make a batch fail. Record owns e.Detail from then on.
//
// When the queue is full Record stores the row itself before returning,
// and counts it (Stats.Direct): a burst slows its callers down to the
// database's pace instead of losing rows.
func (r *Recorder) Record(ctx context.Context, e gatehouse.AuditEvent) {
	if r == nil {
		return
	}
	r.complete(ctx, &e)
	r.logLine(ctx, &e)
	r.recorded.Add(1)
	r.mu.RLock()
	if !r.closed {
		select {
		case r.queue <- e:
			r.mu.RUnlock()
			return
		default:
		}
		r.warnFull()
	}
	r.mu.RUnlock()
	r.direct.Add(1)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	r.write(wctx, []gatehouse.AuditEvent{e})
}

// writeTimeout bounds one write of rows.
const writeTimeout = 10 * time.Second

// Text bounds, in bytes.
const (
	maxName  = 64
	maxValue = 256
)

func (r *Recorder) complete(ctx context.Context, e *gatehouse.AuditEvent) {
	if e.At.IsZero() {
		e.At = r.now()
	}
	if ri := gatehouse.RequestFrom(ctx); ri != nil {
		if e.RequestID == "" {
			e.RequestID = ri.ID
		}
		if !e.Source.IsValid() {
			e.Source = ri.Source
		}
		if e.ActorID == 0 {
			e.ActorID = ri.UserID
		}
	}
	e.Event = clean(e.Event, maxName)
	e.ClientID = clean(e.ClientID, gatehouse.MaxClientID)
	e.RequestID = clean(e.RequestID, maxName)
	for k, v := range e.Detail {
		if clean(k, maxName) != k || clean(v, maxValue) != v {
			e.Detail = cleanDetail(e.Detail)
			break
		}
	}
}

func cleanDetail(d map[string]string) map[string]string {
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[clean(k, maxName)] = clean(v, maxValue)
	}
	return out
}

// clean returns s as valid UTF-8 without NUL bytes, cut to at most max
// bytes (a cut string ends with "…").
func clean(s string, max int) string {
	if len(s) <= max && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// logLine writes e as one info line, "audit", with every field, so that
// a log pipeline sees the same record as the table.
func (r *Recorder) logLine(ctx context.Context, e *gatehouse.AuditEvent) {
	if !r.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	src := ""
	if e.Source.IsValid() {
		src = e.Source.String()
	}
	attrs := []slog.Attr{slog.String("event", e.Event), slog.Time("at", e.At.UTC()), slog.Int64("user_id", e.UserID),
		slog.Int64("actor_id", e.ActorID), slog.String("client_id", e.ClientID), slog.String("source", src),
		slog.String("request_id", e.RequestID)}
	if len(e.Detail) > 0 {
		detail := make([]any, 0, len(e.Detail))
		for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
			detail = append(detail, slog.String(k, e.Detail[k]))
		}
		attrs = append(attrs, slog.Group("detail", detail...))
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}

// warnFull says, at most once a minute, that callers are writing their
// own rows.
func (r *Recorder) warnFull() {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last < int64(time.Minute) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn("audit: the queue is full; requests are storing their own audit rows (backpressure)",
		"queue", r.cfg.Queue, "direct_so_far", r.direct.Load()+1)
}

// writer stores the queued events in batches, each gathered for up to
// Linger after its first event, until Close; then it drains the queue.
// On SQLite a commit of the audit log competes with the token inserts for
// the one write lock: writing each event as soon as it came made a
// client_credentials issuance about a quarter slower; with a batch per
// Linger the writer is about 4 % of the issuance's CPU profile
// (docs/performance.md).
func (r *Recorder) writer() {
	defer close(r.done)
	batch := make([]gatehouse.AuditEvent, 0, r.cfg.Batch)
	linger := time.NewTimer(r.cfg.Linger)
	linger.Stop()
	for {
		select {
		case e := <-r.queue:
			batch = r.gather(append(batch[:0], e), linger)
			r.writeBatch(batch)
		case <-r.stop:
			for {
				batch = r.drain(batch[:0])
				if len(batch) == 0 {
					return
				}
				r.writeBatch(batch)
			}
		}
	}
}

// gather adds events to batch until it is full, Linger has passed, or
// Close was called.
func (r *Recorder) gather(batch []gatehouse.AuditEvent, linger *time.Timer) []gatehouse.AuditEvent {
	linger.Reset(r.cfg.Linger)
	defer linger.Stop()
	for len(batch) < r.cfg.Batch {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		case <-linger.C:
			return batch
		case <-r.stop:
			return batch
		}
	}
	return batch
}

// drain adds the events waiting now, up to a batch, without blocking.
func (r *Recorder) drain(batch []gatehouse.AuditEvent) []gatehouse.AuditEvent {
	for len(batch) < r.cfg.Batch {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// Retries of a batch the database could not take now (EUNAVAILABLE): a
// failover or a busy SQLite file passes within them.
var retryPauses = []time.Duration{100 * time.Millisecond, 500 * time.Millisecond, 2 * time.Second, 5 * time.Second}

// writeBatch stores batch, retrying while the database is unavailable and
// the Recorder's life lasts.
func (r *Recorder) writeBatch(batch []gatehouse.AuditEvent) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(r.life, writeTimeout)
		err := r.store.AppendAudit(ctx, batch)
		cancel()
		if err == nil {
			r.stored.Add(int64(len(batch)))
			return
		}
		if attempt >= len(retryPauses) || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE {
			r.lose(batch, err)
			return
		}
		select {
		case <-time.After(retryPauses[attempt]):
		case <-r.life.Done():
			r.lose(batch, err)
			return
		}
	}
}

// write stores events once, with ctx.
func (r *Recorder) write(ctx context.Context, events []gatehouse.AuditEvent) {
	if err := r.store.AppendAudit(ctx, events); err != nil {
		r.lose(events, err)
		return
	}
	r.stored.Add(int64(len(events)))
}

func (r *Recorder) lose(events []gatehouse.AuditEvent, err error) {
	r.lost.Add(int64(len(events)))
	r.log.Error("audit: rows not stored; their audit log lines are the record", "rows", len(events),
		"first_request_id", events[0].RequestID, "err", err)
}

// Close stores what is queued, waiting at most FlushTimeout, and stops the
// writer. Events recorded afterwards are stored by their callers. It
// returns an error when rows were lost since the Recorder was built; later
// calls return the first result.
func (r *Recorder) Close() error {
	if r == nil {
		return nil
	}
	r.closing.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.stop)
		t := time.AfterFunc(r.cfg.FlushTimeout, r.endLife)
		<-r.done
		t.Stop()
		r.endLife()
		if n := r.lost.Load(); n > 0 {
			r.closeErr = fmt.Errorf("audit: %d rows were not stored (see the errors logged)", n)
		}
	})
	return r.closeErr
}

// Prune deletes up to batch rows older than the retention as of now and
// returns how many; with no retention it deletes nothing. It is a cleanup
// step of oauth.Cleaner (Also), which calls it until it returns 0.
func (r *Recorder) Prune(ctx context.Context, now time.Time, batch int) (int64, error) {
	if r == nil || r.cfg.Retention <= 0 {
		return 0, nil
	}
	return r.store.DeleteAuditBefore(ctx, now.Add(-r.cfg.Retention), batch)
}
