package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
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

// PostgreSQL sessions ended while a command starts (an administrator's
// pg_terminate_backend, a failover: what faults/killtest does under load)
// do not end the start: it runs again within GATEHOUSE_DATABASE_WAIT, saying
// so, and succeeds once the sessions are left alone.
func TestStartSurvivesEndedSessions(t *testing.T) {
	if !slices.Contains(testdb.Backends(), "postgres") {
		t.Skip("PostgreSQL not configured (testdb)")
	}
	pg := testdb.URL(t, "postgres")
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	app := fmt.Sprintf("gh-startcut-%d", time.Now().UnixNano())
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", os.Getenv(testdb.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// Every session of the command is ended as soon as it shows, for 1.5 s.
	ended := make(chan int)
	go func() {
		n := 0
		for stop := time.Now().Add(1500 * time.Millisecond); time.Now().Before(stop); time.Sleep(5 * time.Millisecond) {
			var k int
			admin.QueryRow("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&k)
			n += k
		}
		ended <- n
	}()
	env := baseEnv(u.String())
	env["GATEHOUSE_LOG_LEVEL"] = "warn"
	out, errOut, err := runIn(t, env, "", "migrate")
	n := <-ended
	if err != nil {
		t.Fatalf("migrate while its sessions were ended (%d ended): %v\n%s%s", n, err, out, errOut)
	}
	if n == 0 || !strings.Contains(errOut, "trying again") {
		t.Errorf("no session was ended (%d), or the start did not say it tried again:\n%s", n, errOut)
	}
}
