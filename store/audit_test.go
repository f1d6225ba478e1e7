package store_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Audit batches of every size are stored field for field, in order, and
// keep no statement text per size: on PostgreSQL each size of multi-row
// VALUES list used to stay in the process's memory for good (about 20 MB
// at batches of up to 1,000 in the benchmark).
func TestAuditBatchesOfEverySize(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		at := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
		// The first batch may prepare the one statement a backend keeps.
		first := []gatehouse.AuditEvent{{At: at, Event: gatehouse.AuditLoginFailed}}
		if err := s.AppendAudit(ctx, first); err != nil {
			t.Fatal(err)
		}
		kept := store.KeptStatements(s)
		var want []gatehouse.AuditEvent
		n := 0
		for size := 1; size <= 60; size++ {
			batch := make([]gatehouse.AuditEvent, size)
			for i := range batch {
				n++
				e := gatehouse.AuditEvent{At: at.Add(time.Duration(n) * time.Microsecond), Event: gatehouse.AuditLoginSucceeded,
					UserID: int64(n), ActorID: int64(n % 3), ClientID: fmt.Sprint("client-", n%5), RequestID: fmt.Sprint("req-", n),
					Detail: map[string]string{"n": fmt.Sprint(n), "name": "zoë \"q\" ✓"}}
				if n%2 == 0 {
					e.Source = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", n))
				}
				if n%7 == 0 {
					e.Detail = nil
				}
				batch[i] = e
			}
			if err := s.AppendAudit(ctx, batch); err != nil {
				t.Fatalf("a batch of %d: %v", size, err)
			}
			want = append(want, batch...)
		}
		if got := store.KeptStatements(s); got != kept {
			t.Errorf("after batches of 60 sizes the store keeps %d statement texts, %d before", got, kept)
		}
		got, err := s.AuditEvents(ctx, gatehouse.AuditFilter{Event: gatehouse.AuditLoginSucceeded, Limit: len(want) + 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("listed %d events, stored %d", len(got), len(want))
		}
		for i, g := range got {
			w := want[len(want)-1-i] // newest first
			if i > 0 && g.ID >= got[i-1].ID {
				t.Errorf("event %d: id %d not below the newer one's %d", i, g.ID, got[i-1].ID)
			}
			if !g.At.Equal(w.At) || g.Event != w.Event || g.UserID != w.UserID || g.ActorID != w.ActorID || g.ClientID != w.ClientID ||
				g.Source != w.Source || g.RequestID != w.RequestID || fmt.Sprint(g.Detail) != fmt.Sprint(w.Detail) {
				t.Fatalf("event %d read back as\n%+v\nwant\n%+v", i, g, w)
			}
		}
	})
}
