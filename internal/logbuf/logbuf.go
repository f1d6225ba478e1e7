// Package logbuf buffers the log's lines in memory and writes them in
// batches: the access log of a busy server is one line per request, and
// written one write(2) each to standard error it cost about a fifth of
// /api/me/'s throughput (issue 20). Lines are written at the latest every
// interval, when the buffer fills (by the Writer's goroutine, so that the
// request whose line filled it does not wait for the output), at once
// after a record of level Warn or above (Handler), and on Close; a process
// killed outright loses the lines of its last interval.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer is an io.Writer that keeps what is written until Flush, the
// interval's tick, a full buffer or Close. Safe for concurrent use; each
// Write is kept whole and in order.
//
// With an interval, a full buffer is handed to the writer's goroutine and
// the caller goes on filling a spare one: a request never waits for the
// log's output, unless maxFull buffers already wait for it, when the
// caller writes them out itself (the output sets the pace, and the memory
// held stays bounded). Buffers are reused.
type Writer struct {
	out  io.Writer
	size int

	mu   sync.Mutex // guards buf, full and free
	buf  []byte     // being filled
	full [][]byte   // filled, oldest first, waiting for out
	free [][]byte   // written out, for reuse
	wmu  sync.Mutex // held while writing to out, so that buffers leave in order

	kick     chan struct{} // wakes the goroutine for a full buffer; nil without one
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// maxFull is how many full buffers may wait for the writer's goroutine
// before Write writes them itself.
const maxFull = 2

// New returns a Writer to out that writes at the latest every interval
// (0: only on Flush, a full buffer and Close) and whenever size bytes are
// waiting.
func New(out io.Writer, interval time.Duration, size int) *Writer {
	w := &Writer{out: out, size: size, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	if interval <= 0 {
		close(w.done)
		return w
	}
	w.kick = make(chan struct{}, 1)
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-w.kick:
				w.drain(false)
			case <-t.C:
				w.drain(true)
			}
		}
	}()
	return w
}

// Write keeps p (a copy) and returns len(p); a full buffer is passed on
// to be written out first. An error of the underlying writer is returned
// by the Flush that met it, not here: a log line is not worth failing a
// request for.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) > w.size && len(w.buf) > 0 {
		w.full = append(w.full, w.buf)
		w.buf = w.spare()
		if w.kick == nil || len(w.full) > maxFull {
			w.mu.Unlock()
			w.drain(false)
			w.mu.Lock()
		} else {
			select {
			case w.kick <- struct{}{}:
			default: // already woken
			}
		}
	}
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	return len(p), nil
}

// spare returns an empty buffer, a written one if any. w.mu is held.
func (w *Writer) spare() []byte {
	if n := len(w.free); n > 0 {
		b := w.free[n-1]
		w.free = w.free[:n-1]
		return b
	}
	return make([]byte, 0, w.size)
}

// Flush writes out what is waiting and returns the error of the last
// write to out.
func (w *Writer) Flush() error { return w.drain(true) }

// drain writes out the full buffers, and with all the one being filled,
// oldest first. It returns the error of its last write (nil if it wrote
// nothing).
func (w *Writer) drain(all bool) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	out := w.full
	w.full = nil
	if all && len(w.buf) > 0 {
		out = append(out, w.buf)
		w.buf = w.spare()
	}
	w.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	var err error
	for _, b := range out {
		_, err = w.out.Write(b)
	}
	w.mu.Lock()
	for _, b := range out {
		if len(w.free) < maxFull && cap(b) <= 2*w.size { // a buffer grown by a huge line is dropped
			w.free = append(w.free, b[:0])
		}
	}
	w.mu.Unlock()
	return err
}

// Close stops the interval's writes and writes out what is waiting.
func (w *Writer) Close() error {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.done
	return w.Flush()
}

// Handler wraps h, whose output is w, so that a record of level Warn or
// above is written out at once rather than at the next interval.
func Handler(h slog.Handler, w *Writer) slog.Handler { return &handler{Handler: h, w: w} }

type handler struct {
	slog.Handler
	w *Writer
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{Handler: h.Handler.WithGroup(name), w: h.w}
}
