package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// requestDeadline is a request's context with the request timeout
// (Config.RequestTimeout), armed only when something waits on it.
//
// context.WithTimeoutCause on every request made a timer, a context and
// an entry in the parent's children, and took them down again at the end:
// about a tenth of an in-process /api/me/ request (BenchmarkMeJWT, 4.6 µs
// against 4.1 without a timeout; docs/performance.md, eighteenth round),
// though most requests (a JWT or a cached token, a cached user) never wait
// on anything. This context knows its deadline from the start (Deadline,
// and Err once it has passed) and makes the timer the first time it is
// waited on (Done: a database call, a password-hash slot, a child
// context), from then on answering exactly as that timer's context. Its
// cause past the deadline is errRequestTimeout, as before; release is the
// cancel function, after which it reads as canceled.
type requestDeadline struct {
	parent   context.Context
	deadline time.Time

	mu       sync.Mutex                    // arming and release
	armed    atomic.Pointer[armedDeadline] // the timer's context, once made
	released atomic.Bool
}

type armedDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// closedDone is the Done of a context released before it was armed.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// init readies d as parent with the deadline at; it returns the context
// the request runs with: parent itself when that ends first.
func (d *requestDeadline) init(parent context.Context, at time.Time) context.Context {
	if pd, ok := parent.Deadline(); ok && !at.Before(pd) {
		return parent
	}
	d.parent, d.deadline = parent, at
	return d
}

func (d *requestDeadline) Deadline() (time.Time, bool) { return d.deadline, true }

func (d *requestDeadline) Done() <-chan struct{} {
	if a := d.armed.Load(); a != nil {
		return a.ctx.Done()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if a := d.armed.Load(); a != nil {
		return a.ctx.Done()
	}
	if d.released.Load() {
		return closedDone
	}
	ctx, cancel := context.WithDeadlineCause(d.parent, d.deadline, errRequestTimeout)
	d.armed.Store(&armedDeadline{ctx: ctx, cancel: cancel})
	return ctx.Done()
}

func (d *requestDeadline) Err() error {
	if a := d.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if d.released.Load() {
		return context.Canceled
	}
	if err := d.parent.Err(); err != nil {
		return err
	}
	if time.Now().Before(d.deadline) {
		return nil
	}
	// Past the deadline: armed now, so that its cause is found (Value).
	d.Done()
	return d.Err()
}

// Value is the armed context's (whose cancellation and cause
// context.Cause finds), or the parent's before.
func (d *requestDeadline) Value(key any) any {
	if a := d.armed.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return d.parent.Value(key)
}

// release ends the context: the timer stops, if there is one, and it reads
// as canceled from now on.
func (d *requestDeadline) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.released.Store(true)
	if a := d.armed.Load(); a != nil {
		a.cancel()
	}
}

// timedOut reports whether ctx ended because the request timeout passed.
// Err comes first: a requestDeadline past its deadline that nothing
// waited on is armed by it, and only then has the cause context.Cause
// reads.
func timedOut(ctx context.Context) bool {
	return ctx.Err() != nil && context.Cause(ctx) == errRequestTimeout
}
