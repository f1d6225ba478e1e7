//go:build !unix

package smallfile

import "os"

// openFlags open a file for reading (no FIFOs to block on here).
const openFlags = os.O_RDONLY
