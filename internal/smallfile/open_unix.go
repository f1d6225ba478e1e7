//go:build unix

package smallfile

import (
	"os"
	"syscall"
)

// openFlags open a file for reading without blocking on a FIFO.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK
