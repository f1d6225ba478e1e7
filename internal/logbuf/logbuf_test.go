package logbuf_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/logbuf"
)

// syncBuffer is a bytes.Buffer safe for the writer's goroutine, counting
// the writes it receives.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	fail   error
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) read() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

// Lines wait for Flush; concurrent lines arrive whole, each once, in one
// write.
func TestLinesWaitAndArriveWhole(t *testing.T) {
	out := &syncBuffer{}
	w := logbuf.New(out, 0, 1<<20)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(w, "line %d %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if got, _ := out.read(); got != "" {
		t.Fatalf("written before Flush: %q", got[:min(len(got), 40)])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, writes := out.read()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		if n, err := fmt.Sscanf(l, "line %d %d", &g, &i); n != 2 || err != nil || seen[l] {
			t.Fatalf("line %q (seen before: %v)", l, seen[l])
		}
		seen[l] = true
	}
	if len(seen) != 800 || writes != 1 {
		t.Fatalf("%d lines in %d writes, want 800 in 1", len(seen), writes)
	}
}

// A full buffer is written before the line that would overflow it.
func TestFullBufferIsWritten(t *testing.T) {
	out := &syncBuffer{}
	w := logbuf.New(out, 0, 64)
	line := strings.Repeat("x", 39) + "\n" // 40 bytes
	w.Write([]byte(line))
	if got, _ := out.read(); got != "" {
		t.Fatal("one line under the size was written")
	}
	w.Write([]byte(line))
	if got, writes := out.read(); got != line || writes != 1 {
		t.Fatalf("after overflowing: %q in %d writes", got, writes)
	}
	w.Close()
	if got, _ := out.read(); got != line+line {
		t.Fatalf("after Close: %q", got)
	}
}

// The interval writes what waits without a Flush; Close stops it.
func TestIntervalWrites(t *testing.T) {
	out := &syncBuffer{}
	w := logbuf.New(out, 10*time.Millisecond, 1<<20)
	w.Write([]byte("tick\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := out.read(); got == "tick\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval never wrote the line")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
}

// Records of level Warn and above are written at once, the others wait.
func TestHandlerFlushesWarnings(t *testing.T) {
	out := &syncBuffer{}
	w := logbuf.New(out, 0, 1<<20)
	log := slog.New(logbuf.Handler(slog.NewJSONHandler(w, nil), w)).With("replica", "a").WithGroup("g")
	log.Info("request", "status", 200)
	if got, _ := out.read(); got != "" {
		t.Fatalf("an info record was written at once: %q", got)
	}
	log.Warn("slow", "ms", 900)
	got, _ := out.read()
	if !strings.Contains(got, `"msg":"request"`) || !strings.Contains(got, `"msg":"slow"`) || !strings.Contains(got, `"replica":"a"`) ||
		strings.Index(got, "request") > strings.Index(got, "slow") {
		t.Fatalf("after a warning: %q", got)
	}
}

// A failing output is reported by the Flush that met it; Write never fails.
func TestWriteErrorsComeFromFlush(t *testing.T) {
	bad := errors.New("disk full")
	out := &syncBuffer{fail: bad}
	w := logbuf.New(out, 0, 1<<20)
	if n, err := w.Write([]byte("x\n")); n != 2 || err != nil {
		t.Fatalf("write: %d %v", n, err)
	}
	if err := w.Flush(); !errors.Is(err, bad) {
		t.Fatalf("flush: %v, want the output's error", err)
	}
}

// gate is an output whose writes wait until it is opened.
type gate struct {
	syncBuffer
	open    chan struct{}
	entered chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.open
	return g.syncBuffer.Write(p)
}

// With an interval, a full buffer goes to the writer's goroutine: the
// caller does not wait for the output, until maxFull (2) buffers wait
// for it besides the one being written; then it writes them itself.
// Nothing is lost or reordered.
func TestFullBufferLeavesTheCaller(t *testing.T) {
	out := &gate{open: make(chan struct{}), entered: make(chan struct{}, 1)}
	w := logbuf.New(out, time.Hour, 64)
	line := func(i int) []byte { return fmt.Appendf(nil, "%038d\n", i) } // 39 bytes: one per buffer
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		w.Write(line(0))
		w.Write(line(1)) // fills: buffer 0 goes to the goroutine, which blocks in out
		<-out.entered
		for i := 2; i <= 3; i++ { // buffers 1 and 2 wait: still no waiting
			w.Write(line(i))
		}
	}()
	select {
	case <-wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("a Write waited for the output with fewer than maxFull buffers waiting")
	}
	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		w.Write(line(4)) // a third waiting buffer: this caller writes them
	}()
	select {
	case <-blocked:
		t.Fatal("Write returned with more than maxFull buffers waiting for a blocked output")
	case <-time.After(50 * time.Millisecond):
	}
	close(out.open)
	<-blocked
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := out.read()
	var want strings.Builder
	for i := 0; i <= 4; i++ {
		want.Write(line(i))
	}
	if got != want.String() {
		t.Fatalf("written:\n%s\nwant:\n%s", got, want.String())
	}
}

// Many writers through small buffers with the goroutine: every line once,
// each writer's lines in its order.
func TestConcurrentWritersThroughTheGoroutine(t *testing.T) {
	out := &syncBuffer{}
	w := logbuf.New(out, time.Millisecond, 256)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				fmt.Fprintf(w, "line %d %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := out.read()
	next := map[int]int{}
	n := 0
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var g, i int
		if k, err := fmt.Sscanf(l, "line %d %d", &g, &i); k != 2 || err != nil || i != next[g] {
			t.Fatalf("line %q: want line %d %d", l, g, next[g])
		}
		next[g]++
		n++
	}
	if n != 8*500 {
		t.Fatalf("%d lines, want %d", n, 8*500)
	}
}
