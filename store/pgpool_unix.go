//go:build unix

package store

import (
	"errors"
	"net"
	"syscall"
)

// peek reads one byte of c's socket without taking it and without
// waiting: true at the end of the stream, with a byte waiting, or on an
// error other than "nothing to read yet". It runs under the descriptor's
// Control, not its Read: pgx may have a read of its own parked on the
// socket (its background reader, started by a long write), which holds
// the descriptor's read lock until data comes, so a Read here waited for
// that (a test's idle connection hung for minutes). A byte that parked
// read takes first is not seen here, and the connection counts as open.
func peek(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	readable := false
	var b [1]byte
	err = raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		readable = n > 0 || (n == 0 && err == nil) ||
			(err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR))
	})
	return readable || err != nil
}
