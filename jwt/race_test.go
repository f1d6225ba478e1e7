//go:build race

package jwt

// raceEnabled skips the allocation tests: under the race detector sync.Pool drops items on
// purpose, so pooled buffers are reallocated.
const raceEnabled = true
