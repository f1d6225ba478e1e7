package testdb

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// LateServer is a PostgreSQL URL whose server is not up yet: its address
// refuses connections until Start, then forwards each one to the real
// server. Tests of how gatehouse waits for a database use it.
type LateServer struct {
	// URL is the real URL with its host replaced by the late address.
	URL string

	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener // nil until Start
	ended  bool         // the test is over: Start does nothing
}

// NewLateServer gives a LateServer in front of the PostgreSQL server of
// url (a URL from URL(t, "postgres")); it stops when the test ends.
func NewLateServer(t testing.TB, pgURL string) *LateServer {
	t.Helper()
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	// A port free now, left closed so that connections are refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &LateServer{t: t, addr: ln.Addr().String(), target: u.Host}
	ln.Close()
	u.Host = l.addr
	l.URL = u.String()
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ended = true
		if l.ln != nil {
			l.ln.Close()
		}
	})
	return l
}

// Start listens on the late address and forwards from then on. It may be
// called from another goroutine (time.AfterFunc), also after the test
// ended, when it does nothing.
func (l *LateServer) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended || l.ln != nil {
		return
	}
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		l.t.Errorf("late server: listening on %s: %v", l.addr, err)
		return
	}
	l.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go forward(c, l.target)
		}
	}()
}

func forward(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}
