package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Replicas record themselves by id (a second record updates the first),
// are listed while seen lately, by start time, and expire.
func testReplicas(t *testing.T, s gatehouse.Store) {
	ctx := t.Context()
	t0 := micro(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	a := gatehouse.Replica{ID: "a", Host: "host-a", Version: "v1", Started: t0, LastSeen: t0}
	b := gatehouse.Replica{ID: "b", Host: "host-b", Version: "v1", Started: t0.Add(-time.Hour), LastSeen: t0}
	for _, r := range []gatehouse.Replica{a, b} {
		if err := s.SeeReplica(ctx, r, t0.Add(-gatehouse.ReplicaExpiry)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Replicas(ctx, t0.Add(-gatehouse.ReplicaExpiry))
	if err != nil || len(got) != 2 || got[0].ID != "b" || got[1] != a {
		t.Fatalf("replicas %+v %v", got, err)
	}
	// a beats again, with a new version; b falls silent and expires.
	a.LastSeen, a.Version = t0.Add(10*time.Minute), "v2"
	if err := s.SeeReplica(ctx, a, a.LastSeen.Add(-gatehouse.ReplicaExpiry)); err != nil {
		t.Fatal(err)
	}
	got, err = s.Replicas(ctx, time.Time{})
	if err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("after b expired: %+v %v", got, err)
	}
	if got, _ := s.Replicas(ctx, a.LastSeen.Add(time.Second)); len(got) != 0 {
		t.Fatalf("seen since after the last beat: %+v", got)
	}
}
