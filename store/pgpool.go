package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"
)

// openPostgres opens the PostgreSQL pool for url.
//
// A pooled connection whose session the server ended while it sat idle
// (a restart or failover, pg_terminate_backend, idle_session_timeout) is
// replaced when it is taken from the pool, before the caller's statement
// is sent on it: the server's goodbye (a FATAL message, then the end of the
// stream) is already waiting on its socket, and one look at the socket
// that neither waits nor sends (peerClosed) finds it. pgx alone pings a
// connection only when it was idle for more than a second, so each
// connection of a busy pool failed one request with 503 after the
// server ended its session. A connection that is found so is closed and
// database/sql takes another, opening a new one after two such.
func openPostgres(url string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: connect postgres: %w", err)
	}
	// A statement whose context ends is cancelled in PostgreSQL (a cancel
	// request, at once), not only abandoned: pgx's default closes the
	// socket, and a statement waiting for a lock then runs on and commits
	// once it gets it, after its caller was answered that it timed out.
	// The socket's deadline follows cancelWait later, for a server that
	// does not answer at all.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelWait}
	}
	return stdlib.OpenDB(*cfg, stdlib.OptionResetSession(func(_ context.Context, c *pgx.Conn) error {
		if peerClosed(c.PgConn().Conn()) {
			return driver.ErrBadConn
		}
		return nil
	})), nil
}

// cancelWait is how long a statement whose context ended may take to
// come back from PostgreSQL's cancel before its connection is given up.
const cancelWait = 500 * time.Millisecond

// peerClosed reports whether an idle connection has something to read: the
// end of the stream, or a message nobody asked for, which from a
// PostgreSQL server between statements is the FATAL that ends the session
// (or an asynchronous notice, after which a new connection costs only its
// start). It looks without waiting (peek, per platform); where it cannot
// look, it reports false and the connection is used as before.
func peerClosed(c net.Conn) bool {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS: the socket under it
		c = t.NetConn()
	}
	return peek(c)
}
