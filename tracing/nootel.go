//go:build !otel

package tracing

import (
	"context"
	"log/slog"
	"net/http"
)

// Available reports whether this binary was built with OpenTelemetry (the
// build tag otel). It was not.
const Available = false

// Tracer is the stub of a binary built without the otel tag: Setup never
// returns one.
type Tracer struct{}

// Setup returns nil when c does not ask for tracing, and ErrNotBuilt
// when it does.
func Setup(ctx context.Context, c Config, log *slog.Logger) (*Tracer, error) {
	if c.On() {
		return nil, ErrNotBuilt
	}
	return nil, nil
}

// StartRequest returns ctx unchanged and an end that does nothing.
func (t *Tracer) StartRequest(ctx context.Context, method string, header http.Header) (context.Context, func(string, int, int64, string)) {
	return ctx, func(string, int, int64, string) {}
}

// Shutdown does nothing.
func (t *Tracer) Shutdown(ctx context.Context) error { return nil }
