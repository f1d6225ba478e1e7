package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	// Registers the "sqlite" and "pgx" database/sql drivers: only the
	// store package may import a driver (internal/archtest).
	_ "github.com/gatehouse-auth/gatehouse/store"
)

// database is a fresh database for one backend: its URL for gatehouse and
// a function that removes it.
type database struct {
	url     string
	sqlite  string // the file, on SQLite
	cleanup func() error
	// cut ends every session gatehouse has open (PostgreSQL: its
	// connections carry the schema's name as application_name) and says
	// how many it ended; nil on SQLite.
	cut func(context.Context) (int, error)
}

// newDatabase makes an empty database of backend: a file in dir on SQLite,
// a new schema on PostgreSQL (named in the URL's search_path, so that
// every connection gatehouse opens lands in it).
func newDatabase(ctx context.Context, o options, backend, dir string) (*database, error) {
	if backend == "sqlite" {
		p := filepath.Join(dir, "gatehouse.db")
		return &database{url: p, sqlite: p, cleanup: func() error { return nil }}, nil
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "killtest_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", o.postgresURL)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("postgres at %s: %w", o.postgresURL, err)
	}
	drop := func() error {
		db, err := sql.Open("pgx", o.postgresURL)
		if err != nil {
			return err
		}
		defer db.Close()
		// Not the run's context: an interrupted run still drops its schema.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		return err
	}
	u, err := url.Parse(o.postgresURL)
	if err != nil {
		drop()
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	cut := func(ctx context.Context) (int, error) {
		db, err := sql.Open("pgx", o.postgresURL)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		var n int
		err = db.QueryRowContext(ctx, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", schema).Scan(&n)
		return n, err
	}
	return &database{url: u.String(), cleanup: drop, cut: cut}, nil
}

// integrityCheck runs PRAGMA integrity_check on a SQLite file opened
// read-only and returns its answer ("ok" when the file is sound).
func integrityCheck(ctx context.Context, path string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// server runs `gatehouse serve` on one database and address, one process
// after another: each life logs to a file of its own in dir.
type server struct {
	bin, dir, addr string
	env            []string
	lives          int
	cmd            *exec.Cmd
	exited         chan error // receives the process's exit, then is closed
}

// serverEnv is the environment of every gatehouse command of a run: the
// caller's, without its GATEHOUSE_* settings, plus the run's. The argon2
// cost is the lowest so that logins measure the server's writes, not the
// hash; the login rate is off (the failed-login guard stays on).
func serverEnv(dbURL, addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEHOUSE_") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GATEHOUSE_DATABASE_URL="+dbURL,
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_SECRET_KEY=killtest-fixed-secret-key-0123456789",
		"GATEHOUSE_PASSWORD_VALIDATION=false",
		"GATEHOUSE_ARGON2_MEMORY=1024",
		"GATEHOUSE_ARGON2_TIME=1",
		"GATEHOUSE_LOG_LEVEL=warn",
		"GATEHOUSE_LOG_FORMAT=json",
		// Hundreds of logins a second from one address, all legitimate:
		// the per-address login rate would refuse most of them.
		"GATEHOUSE_THROTTLE_RATES=login=none",
	)
}

// freeAddr returns a loopback address with a port nobody listens on now.
// Every life of the server reuses it, as an operator's restart would.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// command runs a gatehouse CLI command to completion and returns its
// standard output.
func (s *server) command(ctx context.Context, extraEnv []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(append([]string{}, s.env...), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gatehouse %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// start starts a new life of the server; it does not wait for readiness.
func (s *server) start() error {
	s.lives++
	logf, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("serve-%d.log", s.lives)))
	if err != nil {
		return err
	}
	// Not CommandContext: the run stops its servers itself, by signal,
	// and waits for them.
	cmd := exec.Command(s.bin, "serve")
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close() // the child holds its own descriptor
	s.cmd, s.exited = cmd, make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait(); close(done) }(cmd, s.exited)
	return nil
}

// running reports whether the current life has not exited.
func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the current life and waits until it is reaped, so
// that its listening socket and database handles are gone.
func (s *server) kill() error {
	if !s.running() {
		return errors.New("the server was not running when it was to be killed")
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-s.exited
	return nil
}

// stop asks the current life to shut down (SIGTERM) and waits up to
// timeout; one that does not exit in time, or exits with an error, is an
// error (and is killed).
func (s *server) stop(timeout time.Duration) error {
	if !s.running() {
		if s.cmd != nil {
			if err := <-s.exited; err != nil {
				return fmt.Errorf("the server had already exited: %w", err)
			}
		}
		return errors.New("the server had already exited")
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("graceful shutdown: %w", err)
		}
		return nil
	case <-time.After(timeout):
		s.kill()
		return fmt.Errorf("the server did not shut down within %s of SIGTERM", timeout)
	}
}

// waitReady polls /readyz until it answers 200, the process exits, or
// timeout passes.
func (s *server) waitReady(ctx context.Context, client *http.Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if !s.running() {
			return fmt.Errorf("the server exited before it was ready (log: %s)", s.logPath(s.lives))
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.addr+"/readyz", nil)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %s of the restart (last: %s)", timeout, last)
}

func (s *server) logPath(life int) string {
	return filepath.Join(s.dir, fmt.Sprintf("serve-%d.log", life))
}

// logErrors returns the ERROR-level lines every life logged: each is an
// internal error a client saw as a 500, or a failure of the server's own
// work (cleanup, checkpoints). The 503s of /readyz are left out: only
// waitReady asks it, and answering 503 while the database is not yet
// reachable is what it is for (the 15 s limit judges the restart).
func (s *server) logErrors() []string {
	var out []string
	for life := 1; life <= s.lives; life++ {
		f, err := os.Open(s.logPath(life))
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if line := sc.Text(); strings.Contains(line, `"level":"ERROR"`) && !strings.Contains(line, `"path":"/readyz"`) {
				out = append(out, fmt.Sprintf("life %d: %s", life, line))
			}
		}
		f.Close()
	}
	return out
}

// logTail returns the last n lines of a life's log, for a failure report.
func (s *server) logTail(life, n int) string {
	b, err := os.ReadFile(s.logPath(life))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
