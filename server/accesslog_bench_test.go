package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/jsonlog"
	"github.com/gatehouse-auth/gatehouse/internal/logbuf"
)

// BenchmarkMeTokenJSONLog is BenchmarkMeToken with the access log written
// as serve writes it (JSON, level info) to io.Discard: the cost of the
// request log line.
func BenchmarkMeTokenJSONLog(b *testing.B) {
	benchMeWith(b, func(w *wiring) { w.Server.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) }, drfKeyAuth(b))
}

// BenchmarkMeTokenFileLog is BenchmarkMeTokenJSONLog with the log as serve
// writes it: through the log buffer (internal/logbuf) into a file, with
// serve's JSON handler (internal/jsonlog) and with slog's, which it
// replaces.
func BenchmarkMeTokenFileLog(b *testing.B) {
	for _, hc := range []struct {
		name string
		new  func(io.Writer, *slog.HandlerOptions) slog.Handler
	}{
		{"jsonlog", jsonlog.New},
		{"slog", func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) }},
	} {
		b.Run(hc.name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
			if err != nil {
				b.Fatal(err)
			}
			w := logbuf.New(f, 100*time.Millisecond, 64<<10)
			b.Cleanup(func() { w.Close(); f.Close() })
			benchMeWith(b, func(wi *wiring) { wi.Server.Log = slog.New(logbuf.Handler(hc.new(w, nil), w)) }, drfKeyAuth(b))
		})
	}
}
