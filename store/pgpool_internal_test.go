package store

import (
	"net"
	"testing"
	"time"
)

// peerClosed tells an idle connection from one whose peer closed it or
// sent something unasked, without waiting; it leaves what it saw unread.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				accepted <- nil
				return
			}
			accepted <- c
		}()
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server = <-accepted
		if server == nil {
			t.Fatal("accept failed")
		}
		return client, server
	}
	settle := func() { time.Sleep(20 * time.Millisecond) } // loopback delivery

	c, srv := pair()
	start := time.Now()
	if peerClosed(c) {
		t.Error("an idle open connection reads as closed")
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("peerClosed waited %v on an idle connection", d)
	}
	srv.Write([]byte("E"))
	settle()
	if !peerClosed(c) {
		t.Error("a connection with a message waiting reads as idle")
	}
	b := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := c.Read(b); n != 1 || b[0] != 'E' {
		t.Errorf("the waiting byte was taken: read %d %q, %v", n, b[:n], err)
	}
	if peerClosed(c) {
		t.Error("an idle connection again reads as closed")
	}
	srv.Close()
	settle()
	if !peerClosed(c) {
		t.Error("a connection its peer closed reads as idle")
	}
	c.Close()

	// A read parked on the socket (pgx's background reader) does not make
	// the look wait.
	c, srv = pair()
	parked := make(chan struct{})
	go func() {
		defer close(parked)
		c.Read(make([]byte, 1))
	}()
	settle()
	looked := make(chan bool, 1)
	go func() { looked <- peerClosed(c) }()
	select {
	case closed := <-looked:
		if closed {
			t.Error("an idle connection with a parked read reads as closed")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("peerClosed waited for a read parked on the same connection")
	}
	srv.Close()
	<-parked
	c.Close()

	c, srv = pair()
	defer srv.Close()
	c.Close()
	if !peerClosed(c) {
		t.Error("a connection closed on this side reads as idle")
	}
}
