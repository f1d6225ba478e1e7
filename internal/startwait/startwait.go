// Package startwait paces the tries of a start that waits for its
// database (the store's connection check, the site's start steps): pauses
// from a quarter of a second doubling to two seconds, until a deadline.
package startwait

import (
	"context"
	"time"
)

// Pauses are the pauses between tries, up to a deadline.
type Pauses struct {
	next     time.Duration
	deadline time.Time
}

// Until gives the pauses of a wait that ends at deadline.
func Until(deadline time.Time) *Pauses {
	return &Pauses{next: 250 * time.Millisecond, deadline: deadline}
}

// Next is the pause before the next try.
func (p *Pauses) Next() time.Duration { return p.next }

// Deadline is when the wait ends.
func (p *Pauses) Deadline() time.Time { return p.deadline }

// Due reports whether a try after the next pause starts before the
// deadline.
func (p *Pauses) Due() bool { return !time.Now().Add(p.next).After(p.deadline) }

// Wait makes the next pause, then doubles it (up to two seconds); false
// when ctx ends first.
func (p *Pauses) Wait(ctx context.Context) bool {
	t := time.NewTimer(p.next)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	p.next = min(2*p.next, 2*time.Second)
	return true
}
