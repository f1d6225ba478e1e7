package store

import (
	"context"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// SeeReplica records r and deletes the replicas last seen before expired.
func (s *Store) SeeReplica(ctx context.Context, r gatehouse.Replica, expired time.Time) (err error) {
	defer s.classified(&err)
	if _, err := s.exec(ctx, `INSERT INTO replicas (id, host, version, started, last_seen) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET host = excluded.host, version = excluded.version, last_seen = excluded.last_seen`,
		r.ID, r.Host, r.Version, micros(r.Started), micros(r.LastSeen)); err != nil {
		return s.classify(err)
	}
	_, err = s.exec(ctx, `DELETE FROM replicas WHERE last_seen < ?`, micros(expired))
	return s.classify(err)
}

// Replicas lists the replicas last seen at or after since.
func (s *Store) Replicas(ctx context.Context, since time.Time) (_ []gatehouse.Replica, err error) {
	defer s.classified(&err)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, host, version, started, last_seen FROM replicas
		WHERE last_seen >= ? ORDER BY started, id`), micros(since))
	if err != nil {
		return nil, s.classify(err)
	}
	defer rows.Close()
	out := []gatehouse.Replica{}
	for rows.Next() {
		var r gatehouse.Replica
		var started, seen int64
		if err := rows.Scan(&r.ID, &r.Host, &r.Version, &started, &seen); err != nil {
			return nil, s.classify(err)
		}
		r.Started, r.LastSeen = fromMicros(started), fromMicros(seen)
		out = append(out, r)
	}
	return out, s.classify(rows.Err())
}
