package server

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

type deadlineKey struct{}

func newDeadline(t *testing.T, parent context.Context, in time.Duration) (*requestDeadline, context.Context) {
	t.Helper()
	d := &requestDeadline{}
	ctx := d.init(parent, time.Now().Add(in))
	if ctx != context.Context(d) {
		t.Fatalf("init returned %T, want the requestDeadline", ctx)
	}
	return d, ctx
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// TestRequestDeadlineLazy: before anything waits on it, the context
// answers from its deadline and its parent, without a timer.
func TestRequestDeadlineLazy(t *testing.T) {
	parent := context.WithValue(context.Background(), deadlineKey{}, "v")
	d, ctx := newDeadline(t, parent, time.Minute)
	if at, ok := ctx.Deadline(); !ok || time.Until(at) < 50*time.Second {
		t.Fatalf("Deadline = %v, %v", at, ok)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if v := ctx.Value(deadlineKey{}); v != "v" {
		t.Fatalf("Value = %v", v)
	}
	if timedOut(ctx) {
		t.Fatal("timedOut before the deadline")
	}
	if d.armed.Load() != nil {
		t.Fatal("armed by Deadline, Err or Value")
	}
	done := ctx.Done()
	if d.armed.Load() == nil || isClosed(done) {
		t.Fatal("Done did not arm an open context")
	}
	if v := ctx.Value(deadlineKey{}); v != "v" {
		t.Fatalf("Value once armed = %v", v)
	}
	d.release()
	if !isClosed(done) || !errors.Is(ctx.Err(), context.Canceled) || timedOut(ctx) {
		t.Fatalf("after release: closed %v, Err %v", isClosed(done), ctx.Err())
	}
}

// TestRequestDeadlineExpires: waited on, it ends at the deadline with the
// request timeout as its cause, and so do the contexts made from it.
func TestRequestDeadlineExpires(t *testing.T) {
	d, ctx := newDeadline(t, context.Background(), 30*time.Millisecond)
	defer d.release()
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not done 5 s after its deadline")
	}
	if !isClosed(ctx.Done()) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v", ctx.Err())
	}
	if c := context.Cause(child); c != errRequestTimeout {
		t.Fatalf("child's cause = %v", c)
	}
	if !timedOut(ctx) || !timedOut(child) {
		t.Fatal("timedOut false past the deadline")
	}
}

// TestRequestDeadlinePassedUnwatched: past its deadline with nothing
// waiting, Err says so and timedOut finds the cause (Err arms it).
func TestRequestDeadlinePassedUnwatched(t *testing.T) {
	d := &requestDeadline{}
	ctx := d.init(context.Background(), time.Now().Add(-time.Millisecond))
	defer d.release()
	if !timedOut(ctx) {
		t.Fatalf("timedOut false; Err %v, cause %v", ctx.Err(), context.Cause(ctx))
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !isClosed(ctx.Done()) {
		t.Fatalf("Err = %v", ctx.Err())
	}
}

// TestRequestDeadlineParent: the parent's cancellation (the client gone)
// ends it, and is not taken for a timeout; a parent that ends first is
// used as it is.
func TestRequestDeadlineParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	d, ctx := newDeadline(t, parent, time.Minute)
	defer d.release()
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) || timedOut(ctx) {
		t.Fatalf("unarmed: Err %v, timedOut %v", ctx.Err(), timedOut(ctx))
	}
	if !isClosed(ctx.Done()) || !errors.Is(ctx.Err(), context.Canceled) || timedOut(ctx) {
		t.Fatalf("armed: Err %v", ctx.Err())
	}

	parent2, cancel2 := context.WithCancel(context.Background())
	d2, ctx2 := newDeadline(t, parent2, time.Minute)
	defer d2.release()
	done := ctx2.Done()
	cancel2()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the parent's cancellation did not reach an armed context")
	}
	if timedOut(ctx2) {
		t.Fatal("a cancelled parent read as a timeout")
	}

	early, cancel3 := context.WithTimeout(context.Background(), time.Second)
	defer cancel3()
	var d3 requestDeadline
	if got := d3.init(early, time.Now().Add(time.Minute)); got != early {
		t.Fatal("a parent ending first was wrapped")
	}
}

// TestRequestDeadlineReleasedFirst: released before anything waited, it
// reads as canceled and makes no timer; the cancel function twice is
// harmless.
func TestRequestDeadlineReleasedFirst(t *testing.T) {
	d, ctx := newDeadline(t, context.Background(), time.Minute)
	d.release()
	d.release()
	if !errors.Is(ctx.Err(), context.Canceled) || !isClosed(ctx.Done()) || timedOut(ctx) {
		t.Fatalf("Err %v", ctx.Err())
	}
	if d.armed.Load() != nil {
		t.Fatal("a released context made a timer")
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if !isClosed(child.Done()) {
		t.Fatal("a child of a released context is open")
	}
}

// TestRequestDeadlineChildrenNoGoroutine: children made from it attach to
// the armed context's cancellation, as to any of the standard library's,
// instead of a goroutine each watching Done (which a context the package
// does not recognise gets).
func TestRequestDeadlineChildrenNoGoroutine(t *testing.T) {
	d, ctx := newDeadline(t, context.Background(), time.Minute)
	defer d.release()
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	for range 200 {
		_, c := context.WithCancel(ctx)
		cancels = append(cancels, c)
	}
	after := runtime.NumGoroutine()
	for _, c := range cancels {
		c()
	}
	if after-before > 20 {
		t.Fatalf("%d goroutines for 200 children", after-before)
	}
}

// TestRequestDeadlineConcurrent: arming, reading and release from several
// goroutines at once (run with -race).
func TestRequestDeadlineConcurrent(t *testing.T) {
	for range 50 {
		d, ctx := newDeadline(t, context.Background(), time.Minute)
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				switch i {
				case 0:
					ctx.Done()
				case 1:
					ctx.Err()
				case 2:
					ctx.Value(deadlineKey{})
				case 3:
					d.release()
				}
			})
		}
		wg.Wait()
		if !isClosed(ctx.Done()) || !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("after release: Err %v", ctx.Err())
		}
	}
}
