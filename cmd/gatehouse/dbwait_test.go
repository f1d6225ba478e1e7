package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// A command and serve started before PostgreSQL accepts connections wait
// for it (GATEHOUSE_DATABASE_WAIT, 30 s by default), saying so; with the
// setting at 0 they fail at the first refusal.
func TestServeWaitsForPostgres(t *testing.T) {
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured (testdb)")
	}
	pg := testdb.URL(t, "postgres")
	late := testdb.NewLateServer(t, pg)
	env := baseEnv(late.URL)
	env["GATEHOUSE_LOG_LEVEL"] = "warn"
	env["GATEHOUSE_DATABASE_WAIT"] = "0"
	if _, _, err := runIn(t, env, "", "migrate"); err == nil || !strings.Contains(err.Error(), "connect postgres") {
		t.Fatalf("migrate with no wait and no server: %v", err)
	}
	delete(env, "GATEHOUSE_DATABASE_WAIT")
	time.AfterFunc(1500*time.Millisecond, late.Start)
	start := time.Now()
	out, errOut, err := runIn(t, env, "", "migrate")
	if err != nil {
		t.Fatalf("migrate while the server came up: %v\n%s%s", err, out, errOut)
	}
	if time.Since(start) < 1400*time.Millisecond || !strings.Contains(errOut, "PostgreSQL does not accept connections yet; trying again") {
		t.Errorf("migrate did not wait, or did not say so (%v):\n%s", time.Since(start), errOut)
	}

	later := testdb.NewLateServer(t, pg)
	env["GATEHOUSE_DATABASE_URL"] = later.URL
	time.AfterFunc(1500*time.Millisecond, later.Start)
	base, stop := serve(t, env)
	defer stop()
	if st, _ := call(t, "GET", base+"/readyz", "", nil); st != 200 {
		t.Errorf("/readyz after the wait: %d", st)
	}
}
