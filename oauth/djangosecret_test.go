package oauth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Django password hashes are verified one at a time, and a request whose
// context ends while it waits for its turn gets the context's cause.
func TestDjangoSecretsOneAtATime(t *testing.T) {
	var running, most atomic.Int32
	release := make(chan struct{})
	d := newDjangoSecrets(func(secret, encoded string) bool {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		return secret == "right"
	})
	results := make(chan bool, 3)
	for _, s := range []string{"right", "wrong", "right"} {
		go func() {
			ok, err := d.check(context.Background(), s, "pbkdf2_sha256$1$salt$hash")
			if err != nil {
				t.Error(err)
			}
			results <- ok
		}()
	}
	time.Sleep(50 * time.Millisecond) // the three are running or waiting
	cause := errors.New("request timed out")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if ok, err := d.check(ctx, "right", "x"); ok || !errors.Is(err, cause) {
		t.Errorf("a waiter whose request ended: %v %v", ok, err)
	}
	close(release)
	accepted := 0
	for range 3 {
		if <-results {
			accepted++
		}
	}
	if accepted != 2 || most.Load() != 1 {
		t.Errorf("%d accepted, at most %d at once; want 2 and 1", accepted, most.Load())
	}
	if ok, err := newDjangoSecrets(nil).check(context.Background(), "right", "x"); ok || err != nil {
		t.Errorf("without a verifier: %v %v", ok, err)
	}
}
