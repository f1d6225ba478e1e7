// Package logbuf buffers the log's lines in memory and writes them in
// batches: the access log of a busy server is one line per request, and
// written one write(2) each to standard error it cost about a fifth of
// /api/me/'s throughput (issue 20). Lines are written at the latest every
// interval, when the buffer fills, at once after a record of level Warn or
// above (Handler), and on Close; a process killed outright loses the lines
// of its last interval.
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
type Writer struct {
	out  io.Writer
	size int

	mu  sync.Mutex // guards buf
	buf []byte
	wmu sync.Mutex // one write to out at a time, in order
	err error      // the last write error to out, under wmu

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// New returns a Writer to out that writes at the latest every interval
// (0: only on Flush, a full buffer and Close) and whenever size bytes are
// waiting.
func New(out io.Writer, interval time.Duration, size int) *Writer {
	w := &Writer{out: out, size: size, buf: make([]byte, 0, size), stop: make(chan struct{}), done: make(chan struct{})}
	if interval <= 0 {
		close(w.done)
		return w
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.Flush()
			}
		}
	}()
	return w
}

// Write keeps p (a copy) and returns len(p); a full buffer is written out
// first. An error of the underlying writer is returned by the Flush that
// met it, not here: a log line is not worth failing a request for.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) <= w.size || len(w.buf) == 0 { // the common case: one lock
		w.buf = append(w.buf, p...)
		w.mu.Unlock()
		return len(p), nil
	}
	w.mu.Unlock()
	w.Flush()
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	return len(p), nil
}

// Flush writes out what is waiting and returns the error of that write.
func (w *Writer) Flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	if len(w.buf) == 0 {
		w.mu.Unlock()
		return nil
	}
	out := w.buf
	w.buf = make([]byte, 0, w.size)
	w.mu.Unlock()
	_, w.err = w.out.Write(out)
	return w.err
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
