// Killtest is the operator's "kill -9 under load" pass, automated: it
// proves that every credential gatehouse answered for survives the server
// being killed mid-write, and that a restarted server is ready at once.
//
//	go run ./faults/killtest [-backends sqlite,postgres] [-duration 8s] [-kills 2] [-cuts 0]
//
// For each backend it builds cmd/gatehouse, prepares a fresh database (a
// SQLite file in a temporary directory, or a PostgreSQL schema of its own
// named in the URL's search_path), creates a few users and two OAuth
// clients with the CLI, and starts `gatehouse serve`. Workers then issue
// credentials of every kind as fast as the server answers:
//
//   - DRF keys: POST /api-token-auth/ and per-device POST /api/tokens/;
//   - simplejwt: POST /access-token/ and /access-token/refresh/;
//   - OAuth: POST /o/token/ with the password, client_credentials and
//     refresh_token grants (each worker rotates its own chain).
//
// A credential is recorded only when its 200/201 answer was read in full,
// because only then may a client rely on it. During the load the server is
// killed with SIGKILL -kills times and restarted on the same database at
// once; it must answer /readyz within 15 s. After the load, a freshly
// started server (empty caches) must accept every recorded credential that
// was not legitimately replaced: keys and access tokens on GET /api/me/
// (client_credentials tokens, which carry no user, by their own client's
// introspection), refresh tokens that were never rotated by one refresh
// each. A rotation whose answer was read must have stuck: the refresh
// token and access token it replaced are refused. A rotation whose answer
// was lost at a kill leaves its old tokens in an unknown state; they are
// counted as uncertain and not checked.
//
// On PostgreSQL, -cuts N also ends every database session of the server N
// times during the load (pg_terminate_backend on the sessions named by
// the schema's application_name), as a database restart or failover
// would. A request that overlaps a cut may be answered 503 with
// Retry-After (counted, not an error; a rotation so answered is uncertain,
// as at a kill); every other check stays, a 500 among them, and the run
// fails when no cut found a session to end.
//
// Any 5xx, any unexpected status, any request without an answer outside
// a kill (a request in flight at a kill may go unanswered; it records
// nothing), any ERROR line in the server's log, and on SQLite a
// `PRAGMA integrity_check` other than "ok" after the last shutdown fails
// the backend. The exit status is 1 when a backend failed (its checks or
// its setup), 2 when the run could not start (flags, build). -keep keeps
// a failed backend's database and server logs for a post-mortem.
//
// The database drivers are registered by the store package, imported here
// for that alone as internal/testdb does: only store imports a driver
// (internal/archtest).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	backends     []string
	duration     time.Duration // of the load
	kills        int           // SIGKILLs spread evenly over the load
	cuts         int           // PostgreSQL: times every session of the server is ended, spread between the kills
	workers      int
	users        int
	readyTimeout time.Duration
	postgresURL  string
	keep         bool // keep the temporary directory of a failed backend
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errFailed):
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "killtest:", err)
		os.Exit(2)
	}
}

// errFailed reports that a backend failed its checks (the details are
// already printed); any other error from run is a setup error.
var errFailed = errors.New("fault test failed")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "killtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "gatehouse")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gatehouse-auth/gatehouse/cmd/gatehouse")
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/gatehouse: %w", err)
	}
	failed := false
	for _, b := range o.backends {
		start := time.Now()
		cuts := ""
		if b == "postgres" && o.cuts > 0 {
			cuts = fmt.Sprintf(", %d × every database session ended", o.cuts)
		}
		fmt.Fprintf(stdout, "== %s: %d workers, %s of load, %d × kill -9%s\n", b, o.workers, o.duration, o.kills, cuts)
		res, err := runBackend(ctx, o, b, bin, stdout)
		if err != nil {
			fmt.Fprintf(stdout, "%s: SETUP FAILED after %.1fs: %v\n", b, time.Since(start).Seconds(), err)
			failed = true
			continue
		}
		if ctx.Err() != nil {
			fmt.Fprintf(stdout, "%s: interrupted after %.1fs\n", b, time.Since(start).Seconds())
			return ctx.Err()
		}
		res.print(stdout)
		verdict := "PASS"
		if !res.ok() {
			verdict, failed = "FAIL", true
		}
		fmt.Fprintf(stdout, "%s: %s in %.1fs\n", b, verdict, time.Since(start).Seconds())
	}
	if failed {
		return errFailed
	}
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("killtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	backends := fs.String("backends", "sqlite,postgres", "comma-separated backends: sqlite, postgres")
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "how long the load runs (the kills are spread over it)")
	fs.IntVar(&o.kills, "kills", 2, "how many times the server is killed with SIGKILL during the load")
	fs.IntVar(&o.cuts, "cuts", 0, "PostgreSQL only: how many times every database session of the server is ended (pg_terminate_backend) during the load")
	fs.IntVar(&o.workers, "workers", 24, "concurrent clients issuing credentials")
	fs.IntVar(&o.users, "users", 4, "users the workers log in as")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 15*time.Second, "how long a restarted server may take to answer /readyz")
	pg := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	fs.StringVar(&o.postgresURL, "postgres-url", pg, "PostgreSQL to create a schema in (default $GATEHOUSE_TEST_POSTGRES_URL)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (database, server logs) of a failed backend")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, b := range strings.Split(*backends, ",") {
		switch b = strings.TrimSpace(b); b {
		case "sqlite", "postgres":
			o.backends = append(o.backends, b)
		case "":
		default:
			return o, fmt.Errorf("unknown backend %q (sqlite or postgres)", b)
		}
	}
	if len(o.backends) == 0 || o.duration <= 0 || o.kills < 1 || o.cuts < 0 || o.workers < 1 || o.users < 1 {
		return o, errors.New("need a backend, a positive -duration, at least one kill, worker and user, and no negative -cuts")
	}
	return o, nil
}
