package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// server is one gatehouse process on a fresh database of its own.
type server struct {
	backend, base, dbURL string
	env                  []string // of every command run on its database
	bin                  string
	cmd                  *exec.Cmd    // serve, once started
	logs                 bytes.Buffer // serve's stderr, unless logFile is set
	logFile              *os.File     // serve's stderr, when set (a sibling's)
	drop                 func()       // drops the database
}

// newServer creates a fresh database for backend and loads fixture into it
// with loaddata. The server is not started, so that the caller can prepare
// its database first (createapplication, a bulk load). close stops it and
// drops the database; on error nothing is left to close.
func newServer(o options, work, bin, backend, fixture string) (*server, error) {
	dbURL, drop, err := databaseURL(o, work, backend)
	if err != nil {
		return nil, err
	}
	policy, err := writeForwardPolicy(work)
	if err != nil {
		drop()
		return nil, err
	}
	addr := freeAddr()
	s := &server{backend: backend, base: "http://" + addr, dbURL: dbURL, bin: bin, drop: drop}
	s.env = append(os.Environ(),
		"GATEHOUSE_DATABASE_URL="+dbURL,
		"GATEHOUSE_ADDR="+addr,
		"GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789abcdef",
		"GATEHOUSE_LOG_LEVEL=error",
		// simplejwt's refresh rotates and blacklists (the refresh case).
		"GATEHOUSE_JWT_ROTATE_REFRESH_TOKENS=true",
		"GATEHOUSE_JWT_BLACKLIST_AFTER_ROTATION=true",
		// Cleanup every second, so that it starts as soon as the expired
		// rows of the cleanup case are loaded (1m by default).
		"GATEHOUSE_OAUTH_CLEANUP_INTERVAL=1s",
		// The cases measure the paths, not the throttles in front of
		// them: the login cases send hundreds of logins a second from one
		// address, and the timing case fails 200 logins of one user from
		// as many addresses. The security cases (flood.go) name their
		// addresses in X-Forwarded-For.
		"GATEHOUSE_THROTTLE_RATES=login=none,sign_up=none,token=none",
		"GATEHOUSE_LOCKOUT_FAILURES=1000000",
		"GATEHOUSE_TRUSTED_PROXIES=127.0.0.1,::1",
		"GATEHOUSE_FORWARD_AUTH_POLICY="+policy,
	)
	if out, err := s.command("loaddata", fixture).CombinedOutput(); err != nil {
		s.close()
		return nil, fmt.Errorf("loaddata: %v\n%s", err, out)
	}
	return s, nil
}

// command is a gatehouse command on the server's database.
func (s *server) command(args ...string) *exec.Cmd {
	c := exec.Command(s.bin, args...)
	c.Env = s.env
	return c
}

// start runs serve and returns the time from its start to the first 200
// of /readyz; the error of a server that did not get ready carries its log.
func (s *server) start() (time.Duration, error) {
	s.cmd = s.command("serve")
	s.cmd.Stderr = &s.logs
	if s.logFile != nil {
		s.cmd.Stderr = s.logFile
	}
	t0 := time.Now()
	if err := s.cmd.Start(); err != nil {
		s.cmd = nil
		return 0, err
	}
	readyAt, err := untilReady(s.base+"/readyz", 20*time.Second)
	if err != nil {
		return 0, fmt.Errorf("%v\n%s", err, s.logs.String())
	}
	return readyAt.Sub(t0), nil
}

// sibling starts a second serve on s's database, on an address of its
// own, with env added to s's (a later value wins), writing its log to the
// file logFile (as a container runtime or journald takes it: not through
// the load generator's memory); its close stops it and leaves the
// database to s.
func (s *server) sibling(logFile *os.File, env ...string) (*server, error) {
	addr := freeAddr()
	t := &server{backend: s.backend, base: "http://" + addr, dbURL: s.dbURL, bin: s.bin, logFile: logFile}
	t.env = append(append(slices.Clone(s.env), "GATEHOUSE_ADDR="+addr), env...)
	if _, err := t.start(); err != nil {
		return nil, err
	}
	return t, nil
}

// pid is the running server's process id (0: not started).
func (s *server) pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// close stops the server if it runs and drops its database; a second call
// does nothing.
func (s *server) close() {
	if s.cmd != nil {
		s.cmd.Process.Signal(os.Interrupt)
		s.cmd.Wait()
		s.cmd = nil
	}
	if s.drop != nil {
		s.drop()
		s.drop = nil
	}
}

// databaseURL returns a fresh database for backend and a cleanup that
// drops it.
func databaseURL(o options, work, backend string) (string, func(), error) {
	switch backend {
	case "sqlite":
		path := filepath.Join(work, fmt.Sprintf("bench-%d.db", time.Now().UnixNano()))
		return path, func() {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}, nil
	case "postgres":
		db, err := sql.Open("pgx", o.pgURL)
		if err != nil {
			return "", nil, err
		}
		schema := fmt.Sprintf("gh_bench_%d", time.Now().UnixNano())
		if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
			db.Close()
			return "", nil, fmt.Errorf("postgres unreachable: %w", err)
		}
		u, _ := url.Parse(o.pgURL)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() }, nil
	}
	return "", nil, fmt.Errorf("unknown backend %q", backend)
}
