package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// fakeStore is a Store whose methods the tests write.
type fakeStore struct {
	appendAudit func(ctx context.Context, events []gatehouse.AuditEvent) error
	mu          sync.Mutex
	rows        []gatehouse.AuditEvent
	calls       int
}

func (f *fakeStore) AppendAudit(ctx context.Context, events []gatehouse.AuditEvent) error {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.appendAudit != nil {
		if err := f.appendAudit(ctx, events); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.rows = append(f.rows, events...)
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) DeleteAuditBefore(context.Context, time.Time, int) (int64, error) {
	return 0, errors.New("unexpected")
}

func (f *fakeStore) stored() []gatehouse.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gatehouse.AuditEvent(nil), f.rows...)
}

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func request(id string, src string, user int64) context.Context {
	return gatehouse.WithRequest(context.Background(), &gatehouse.RequestInfo{ID: id, Source: netip.MustParseAddr(src), UserID: user})
}

// logLines decodes every JSON line of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// Record fills in the request's id, address and user and the time where
// the event leaves them zero, keeps what it sets, logs one info line
// "audit" with every field, and stores the same row.
func TestRecordCompletesLogsAndStores(t *testing.T) {
	st := &fakeStore{}
	var buf bytes.Buffer
	r := audit.New(audit.Deps{Store: st, Log: slog.New(slog.NewJSONHandler(&buf, nil)), Now: func() time.Time { return t0 }})
	r.Record(request("req-1", "203.0.113.9", 5), gatehouse.AuditEvent{Event: gatehouse.AuditLoggedOutEverywhere, UserID: 5})
	r.Record(request("req-2", "2001:db8::7", 0), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed, ActorID: 9,
		RequestID: "own-id", At: t0.Add(time.Hour), Detail: map[string]string{"via": "drf_token", "username": "zoë"}})
	r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditPasswordChanged, UserID: 3})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rows := st.stored()
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	want := []gatehouse.AuditEvent{
		{At: t0, Event: gatehouse.AuditLoggedOutEverywhere, UserID: 5, ActorID: 5, Source: netip.MustParseAddr("203.0.113.9"), RequestID: "req-1"},
		{At: t0.Add(time.Hour), Event: gatehouse.AuditLoginFailed, ActorID: 9, Source: netip.MustParseAddr("2001:db8::7"), RequestID: "own-id",
			Detail: map[string]string{"via": "drf_token", "username": "zoë"}},
		{At: t0, Event: gatehouse.AuditPasswordChanged, UserID: 3},
	}
	for i := range want {
		g, w := rows[i], want[i]
		if g.At != w.At || g.Event != w.Event || g.UserID != w.UserID || g.ActorID != w.ActorID || g.Source != w.Source ||
			g.RequestID != w.RequestID || len(g.Detail) != len(w.Detail) || g.Detail["username"] != w.Detail["username"] {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	lines := logLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), buf.String())
	}
	l := lines[1]
	if l["level"] != "INFO" || l["msg"] != "audit" || l["event"] != "login.failed" || l["user_id"] != 0.0 || l["actor_id"] != 9.0 ||
		l["source"] != "2001:db8::7" || l["request_id"] != "own-id" || l["client_id"] != "" || l["at"] != "2026-03-14T16:09:26.535897Z" {
		t.Errorf("log line %v", l)
	}
	if d, _ := l["detail"].(map[string]any); d["via"] != "drf_token" || d["username"] != "zoë" {
		t.Errorf("log line detail %v", l["detail"])
	}
	if s := r.Stats(); s != (audit.Stats{Recorded: 3, Stored: 3}) {
		t.Errorf("stats %+v", s)
	}
}

// Text from outside (a username, a request id) is stored on both backends
// whatever it holds: invalid UTF-8 and NUL become U+FFFD, long values are
// cut. PostgreSQL refuses such text, which would fail the whole batch.
func TestRecordCleansText(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			st := testdb.Open(t, backend)
			r := audit.New(audit.Deps{Store: st, Now: func() time.Time { return t0 }})
			long := strings.Repeat("é", 300)
			r.Record(request("id\xff", "192.0.2.1", 0), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed, ClientID: "c\x00",
				Detail: map[string]string{"username": "a\x00b\xffc", "long": long, "k\xfe": "v"}})
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := st.AuditEvents(t.Context(), gatehouse.AuditFilter{Limit: 10})
			if err != nil || len(got) != 1 {
				t.Fatalf("%+v %v", got, err)
			}
			e := got[0]
			d := e.Detail
			if e.RequestID != "id\uFFFD" || e.ClientID != "c\uFFFD" || d["username"] != "a\uFFFDb\uFFFDc" || d["k\uFFFD"] != "v" ||
				len(d["long"]) > 256 || !strings.HasSuffix(d["long"], "é…") {
				t.Errorf("stored %+v", e)
			}
		})
	}
}

// Close stores everything recorded before it, on both backends; what is
// recorded after it is stored by its caller.
func TestCloseFlushes(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			st := testdb.Open(t, backend)
			r := audit.New(audit.Deps{Store: st})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 250 {
						r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditTokenIssued, UserID: int64(w + 1)})
					}
				}()
			}
			wg.Wait()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditTokenRevoked})
			got, err := st.AuditEvents(t.Context(), gatehouse.AuditFilter{Limit: 5000})
			if err != nil || len(got) != 2001 {
				t.Fatalf("%d rows after Close, want 2001 (%v)", len(got), err)
			}
			if s := r.Stats(); s.Recorded != 2001 || s.Stored != 2001 || s.Lost != 0 || s.Direct < 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// A full queue makes the caller store its own row, counted, never dropped.
func TestFullQueueWritesDirectly(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st := &fakeStore{}
	st.appendAudit = func(ctx context.Context, events []gatehouse.AuditEvent) error {
		first := false
		once.Do(func() { first = true })
		if first { // the writer's first batch waits for the test
			close(started)
			<-release
		}
		return nil
	}
	var buf bytes.Buffer
	r := audit.New(audit.Deps{Store: st, Log: slog.New(slog.NewJSONHandler(&buf, nil)), Config: audit.Config{Queue: 2}})
	ev := func(n string) gatehouse.AuditEvent {
		return gatehouse.AuditEvent{Event: gatehouse.AuditTokenIssued, Detail: map[string]string{"n": n}}
	}
	r.Record(context.Background(), ev("1"))
	<-started
	r.Record(context.Background(), ev("2"))
	r.Record(context.Background(), ev("3"))
	r.Record(context.Background(), ev("4")) // the queue holds 2 and 3
	if s := r.Stats(); s.Direct != 1 || s.Stored != 1 {
		t.Fatalf("after a full queue: %+v", s)
	}
	if rows := st.stored(); len(rows) != 1 || rows[0].Detail["n"] != "4" {
		t.Fatalf("stored directly: %+v", rows)
	}
	close(release)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s != (audit.Stats{Recorded: 4, Stored: 4, Direct: 1}) {
		t.Fatalf("stats %+v", s)
	}
	if !strings.Contains(buf.String(), `"level":"WARN","msg":"audit: the queue is full`) {
		t.Errorf("no warning of the backpressure:\n%s", buf.String())
	}
}

// A database that is unavailable for a moment is waited for; one that
// refuses the rows loses them loudly: an error line, the count, Close's error.
func TestWriteFailures(t *testing.T) {
	unavailable := &gatehouse.Error{Code: gatehouse.EUNAVAILABLE, Message: "busy"}
	t.Run("retried while unavailable", func(t *testing.T) {
		st := &fakeStore{}
		st.appendAudit = func(context.Context, []gatehouse.AuditEvent) error {
			if st.calls <= 2 {
				return unavailable
			}
			return nil
		}
		r := audit.New(audit.Deps{Store: st})
		r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed})
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if s := r.Stats(); s.Stored != 1 || s.Lost != 0 || st.calls != 3 {
			t.Fatalf("stats %+v after %d calls", s, st.calls)
		}
	})
	t.Run("refused", func(t *testing.T) {
		st := &fakeStore{appendAudit: func(context.Context, []gatehouse.AuditEvent) error { return errors.New("disk on fire") }}
		var buf bytes.Buffer
		r := audit.New(audit.Deps{Store: st, Log: slog.New(slog.NewJSONHandler(&buf, nil))})
		r.Record(request("req-9", "192.0.2.1", 0), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed})
		err := r.Close()
		if err == nil || !strings.Contains(err.Error(), "1 rows were not stored") {
			t.Fatalf("Close: %v", err)
		}
		if s := r.Stats(); s.Lost != 1 || s.Stored != 0 || st.calls != 1 {
			t.Fatalf("stats %+v after %d calls", s, st.calls)
		}
		if !strings.Contains(buf.String(), `"level":"ERROR","msg":"audit: rows not stored; their audit log lines are the record","rows":1,"first_request_id":"req-9"`) {
			t.Errorf("the loss was not logged:\n%s", buf.String())
		}
	})
	t.Run("flush time is bounded", func(t *testing.T) {
		st := &fakeStore{appendAudit: func(ctx context.Context, _ []gatehouse.AuditEvent) error {
			<-ctx.Done()
			return unavailable
		}}
		r := audit.New(audit.Deps{Store: st, Config: audit.Config{FlushTimeout: 200 * time.Millisecond}})
		r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed})
		start := time.Now()
		if err := r.Close(); err == nil {
			t.Fatal("Close reported no loss")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Close took %v with a 200ms flush timeout", d)
		}
	})
}

// Prune deletes, batch by batch, only rows older than the retention; with
// no retention it deletes nothing.
func TestPrune(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			st := testdb.Open(t, backend)
			day := 24 * time.Hour
			var events []gatehouse.AuditEvent
			for i, age := range []time.Duration{200 * day, 91 * day, 90*day + time.Second, 90*day - time.Second, 89 * day, time.Hour} {
				events = append(events, gatehouse.AuditEvent{At: t0.Add(-age), Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"n": string(rune('a' + i))}})
			}
			if err := st.AppendAudit(t.Context(), events); err != nil {
				t.Fatal(err)
			}
			forever := audit.New(audit.Deps{Store: st, Config: audit.Config{Retention: 0}})
			defer forever.Close()
			if n, err := forever.Prune(t.Context(), t0, 100); n != 0 || err != nil {
				t.Fatalf("without retention Prune deleted %d (%v)", n, err)
			}
			r := audit.New(audit.Deps{Store: st, Config: audit.Config{Retention: 90 * day}})
			defer r.Close()
			var counts []int64
			for {
				n, err := r.Prune(t.Context(), t0, 2)
				if err != nil {
					t.Fatal(err)
				}
				if counts = append(counts, n); n == 0 {
					break
				}
			}
			if len(counts) != 3 || counts[0] != 2 || counts[1] != 1 {
				t.Errorf("deleted %v per batch of 2, want [2 1 0]", counts)
			}
			got, _ := st.AuditEvents(t.Context(), gatehouse.AuditFilter{Limit: 10})
			var left []string
			for _, e := range got {
				left = append(left, e.Detail["n"])
			}
			if strings.Join(left, "") != "fed" {
				t.Errorf("left %v, want f e d (younger than 90 days)", left)
			}
		})
	}
}

// A nil Recorder is a valid no-op, so that a service built without one works.
func TestNilRecorder(t *testing.T) {
	var r *audit.Recorder
	r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditLoginFailed})
	if n, err := r.Prune(context.Background(), t0, 10); n != 0 || err != nil || r.Close() != nil || r.Stats() != (audit.Stats{}) {
		t.Fatal("a nil Recorder did something")
	}
}

// Events that come close together are stored in one write, at most about
// Linger after the first; nothing waits for Close.
func TestBatchesGatherForLinger(t *testing.T) {
	st := &fakeStore{}
	r := audit.New(audit.Deps{Store: st, Config: audit.Config{Linger: 500 * time.Millisecond}})
	defer r.Close()
	start := time.Now()
	for range 3 {
		r.Record(context.Background(), gatehouse.AuditEvent{Event: gatehouse.AuditTokenIssued})
	}
	for len(st.stored()) < 3 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the rows were not stored without Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st.mu.Lock()
	calls := st.calls
	st.mu.Unlock()
	if calls != 1 {
		t.Errorf("3 events in %d writes, want 1", calls)
	}
}
