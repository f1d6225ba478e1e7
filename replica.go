package gatehouse

import (
	"context"
	"time"
)

// Replica is one serving gatehouse process, as it records itself in the
// database every ReplicaBeat so that the admin's status page lists the
// replicas seen.
type Replica struct {
	ID       string // random, chosen at start
	Host     string // the host name
	Version  string // the build's version
	Started  time.Time
	LastSeen time.Time
}

// ReplicaBeat is how often a serving replica records itself;
// ReplicaExpiry how long after its last record a replica is no longer
// listed (and its row is deleted).
const (
	ReplicaBeat   = time.Minute
	ReplicaExpiry = 5 * time.Minute
)

// ReplicaStore keeps the replicas seen.
type ReplicaStore interface {
	// SeeReplica records r (by r.ID: its LastSeen, Host and Version
	// replace the stored ones) and deletes the replicas last seen before
	// expired.
	SeeReplica(ctx context.Context, r Replica, expired time.Time) error
	// Replicas lists the replicas last seen at or after since, by start
	// time then ID.
	Replicas(ctx context.Context, since time.Time) ([]Replica, error)
}

// ThrottleStats is what the throttle counters hold now.
type ThrottleStats struct {
	// Counters is how many rate and failure counters are live.
	Counters int64
	// FailingAccounts is how many accounts (usernames, client ids) have
	// failed attempts counted by the failed-login guard.
	FailingAccounts int64
	// HeldAccounts is how many of them the guard holds now: locked until
	// their failures age out of its window.
	HeldAccounts int64
}
