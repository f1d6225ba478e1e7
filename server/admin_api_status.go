package server

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/admin"
)

// The admin API's status (docs/admin-api.md): GET /api/admin/status/,
// superusers only.

type adminReplicaOut struct {
	ID       string    `json:"id"`
	Host     string    `json:"host"`
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	LastSeen time.Time `json:"last_seen"`
}

type adminCleanupOut struct {
	Passes          uint64           `json:"passes"`
	Failures        uint64           `json:"failures"`
	Removed         map[string]int64 `json:"removed"`
	LastRemoved     int64            `json:"last_removed"`
	LastDurationSec float64          `json:"last_duration_seconds"`
	LastPass        *time.Time       `json:"last_pass"`
}

type adminThrottleOut struct {
	Counters        int64 `json:"counters"`
	FailingAccounts int64 `json:"failing_accounts"`
	HeldAccounts    int64 `json:"held_accounts"`
}

type adminStatusOut struct {
	Version  map[string]string `json:"version"`
	Database struct {
		Backend   string `json:"backend"`
		Reachable bool   `json:"reachable"`
		Error     string `json:"error,omitempty"`
	} `json:"database"`
	Replicas []adminReplicaOut `json:"replicas"`
	Counts   *struct {
		Users        int              `json:"users"`
		ActiveUsers  int              `json:"active_users"`
		Applications int              `json:"applications"`
		LiveTokens   map[string]int64 `json:"live_tokens"`
	} `json:"counts"`
	Cleanup    *adminCleanupOut  `json:"cleanup"`
	Throttling *adminThrottleOut `json:"throttling"`
}

func (s *Server) adminStatusView() http.Handler {
	return s.adminView("Admin Status", map[string]adminHandler{"GET": (*Server).adminStatus})
}

// adminStatus: GET /api/admin/status/.
func (s *Server) adminStatus(c *call, a admin.Actor) *apiError {
	st, err := s.admin.Status(c.r.Context(), a)
	if err != nil {
		return s.internal(c, err)
	}
	var out adminStatusOut
	out.Version = map[string]string{"version": st.Build.Version, "commit": st.Build.Commit, "date": st.Build.Date, "go": st.Build.GoVersion}
	out.Database.Backend, out.Database.Reachable, out.Database.Error = st.Backend, st.DBError == "", st.DBError
	out.Replicas = []adminReplicaOut{}
	for _, r := range st.Replicas {
		out.Replicas = append(out.Replicas, adminReplicaOut{ID: r.ID, Host: r.Host, Version: r.Version, Started: r.Started.UTC(), LastSeen: r.LastSeen.UTC()})
	}
	if st.DBError == "" {
		out.Counts = &struct {
			Users        int              `json:"users"`
			ActiveUsers  int              `json:"active_users"`
			Applications int              `json:"applications"`
			LiveTokens   map[string]int64 `json:"live_tokens"`
		}{st.Users, st.ActiveUsers, st.Applications, st.LiveTokens}
	}
	if cs := st.Cleanup; cs != nil {
		out.Cleanup = &adminCleanupOut{Passes: cs.Passes, Failures: cs.Failures, Removed: cs.Removed, LastRemoved: cs.LastRemoved,
			LastDurationSec: cs.LastDuration.Seconds()}
		if out.Cleanup.Removed == nil {
			out.Cleanup.Removed = map[string]int64{}
		}
		if !cs.LastPass.IsZero() {
			t := cs.LastPass.UTC()
			out.Cleanup.LastPass = &t
		}
	}
	if ts := st.Throttle; ts != nil {
		out.Throttling = &adminThrottleOut{Counters: ts.Counters, FailingAccounts: ts.FailingAccounts, HeldAccounts: ts.HeldAccounts}
	}
	c.respond(http.StatusOK, out)
	return nil
}
