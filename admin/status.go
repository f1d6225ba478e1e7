package admin

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// The status page: what runs, on what, how much it holds, and how the
// background work and the throttles are doing. Superusers only.

// CleanupSource is the cleanup's progress (oauth.Cleaner).
type CleanupSource interface{ Stats() oauth.CleanupStats }

// ThrottleSource reads the throttle counters (the store or throttle.Memory).
type ThrottleSource interface {
	ThrottleStats(ctx context.Context, now time.Time) (gatehouse.ThrottleStats, error)
}

// StatusDeps are what Status reads; nil fields are left out of it.
type StatusDeps struct {
	Backend  string                          // the store's dialect: sqlite or postgres
	Ready    func(ctx context.Context) error // the store's readiness (store.Store.Ready)
	Replicas gatehouse.ReplicaStore
	Cleanup  CleanupSource
	Throttle ThrottleSource
}

// Status is the status page's content.
type Status struct {
	Build                            buildinfo.Info
	Backend                          string
	DBError                          string // "" when the database is reachable and writable
	Replicas                         []gatehouse.Replica
	Users, ActiveUsers, Applications int
	LiveTokens                       map[string]int64 // by gatehouse.CredentialKinds
	Cleanup                          *oauth.CleanupStats
	Throttle                         *gatehouse.ThrottleStats
}

// Status reads the status. Superusers only. An unreachable database is
// reported (DBError), not an error: the page says what is wrong.
func (s *Service) Status(ctx context.Context, a Actor) (Status, error) {
	if err := a.requireSuperuser(); err != nil {
		return Status{}, err
	}
	d := s.d.Status
	st := Status{Build: buildinfo.Get(), Backend: d.Backend, LiveTokens: map[string]int64{}}
	if d.Ready != nil {
		if err := d.Ready(ctx); err != nil {
			st.DBError = "the database cannot serve reads and writes"
			return st, nil
		}
	}
	now := s.d.Now()
	var err error
	if st.Users, err = s.d.Users.CountUsers(ctx, gatehouse.UserFilter{}); err != nil {
		return st, err
	}
	active := true
	if st.ActiveUsers, err = s.d.Users.CountUsers(ctx, gatehouse.UserFilter{Active: &active}); err != nil {
		return st, err
	}
	apps, err := s.d.Applications.Applications(ctx)
	if err != nil {
		return st, err
	}
	st.Applications = len(apps)
	if st.LiveTokens, err = s.d.Credentials.CountCredentials(ctx, gatehouse.CredentialFilter{}, now); err != nil {
		return st, err
	}
	if d.Replicas != nil {
		if st.Replicas, err = d.Replicas.Replicas(ctx, now.Add(-gatehouse.ReplicaExpiry)); err != nil {
			return st, err
		}
	}
	if d.Cleanup != nil {
		c := d.Cleanup.Stats()
		st.Cleanup = &c
	}
	if d.Throttle != nil {
		t, err := d.Throttle.ThrottleStats(ctx, now)
		if err != nil {
			return st, err
		}
		st.Throttle = &t
	}
	return st, nil
}
