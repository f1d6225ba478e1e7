package server_test

import (
	"io"
	"log/slog"
	"testing"
)

// BenchmarkMeTokenJSONLog is BenchmarkMeToken with the access log written
// as serve writes it (JSON, level info) to io.Discard: the cost of the
// request log line.
func BenchmarkMeTokenJSONLog(b *testing.B) {
	benchMeWith(b, func(w *wiring) { w.Server.Log = slog.New(slog.NewJSONHandler(io.Discard, nil)) }, drfKeyAuth(b))
}
