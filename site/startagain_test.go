package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// A start that fails after connecting, as a PostgreSQL session ended by an
// administrator or a lost connection makes it fail (EUNAVAILABLE, however
// wrapped), is run again within the wait, saying so; another error ends it
// at once; past the wait the last error is returned; the caller's context
// ends the wait.
func TestStartAgain(t *testing.T) {
	cut := fmt.Errorf("checking the server secret: %w", &gatehouse.Error{Code: gatehouse.EUNAVAILABLE,
		Message: "the database cannot serve this now", Err: errors.New("FATAL: terminating connection due to administrator command (SQLSTATE 57P01)")})
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	want := &Services{}

	calls := 0
	a, err := startAgain(context.Background(), time.Now().Add(10*time.Second), log, func() (*Services, error) {
		if calls++; calls < 3 {
			return nil, cut
		}
		return want, nil
	})
	if err != nil || a != want || calls != 3 || strings.Count(logs.String(), "the database failed during the start; trying again") != 2 {
		t.Fatalf("two cuts then a start: %v, %d calls, log:\n%s", err, calls, logs.String())
	}

	calls = 0
	mismatch := errors.New("the server secret does not match")
	if _, err := startAgain(context.Background(), time.Now().Add(10*time.Second), log, func() (*Services, error) {
		calls++
		return nil, mismatch
	}); err != mismatch || calls != 1 {
		t.Fatalf("another error: %v after %d calls", err, calls)
	}

	calls = 0
	start := time.Now()
	if _, err := startAgain(context.Background(), time.Now().Add(time.Second), log, func() (*Services, error) {
		calls++
		return nil, cut
	}); err != cut || calls < 2 || time.Since(start) > 3*time.Second {
		t.Fatalf("past the wait: %v after %d calls in %v", err, calls, time.Since(start))
	}

	calls = 0
	if _, err := startAgain(context.Background(), time.Now(), log, func() (*Services, error) {
		calls++
		return nil, cut
	}); err != cut || calls != 1 {
		t.Fatalf("no wait (GATEHOUSE_DATABASE_WAIT=0): %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := startAgain(ctx, time.Now().Add(time.Minute), log, func() (*Services, error) { return nil, cut }); err != cut || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled: %v after %v", err, time.Since(start))
	}
}
