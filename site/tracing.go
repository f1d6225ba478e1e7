package site

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/tracing"
)

// tracingConfig is what the tracing settings say.
func (e *env) tracingConfig() tracing.Config {
	return tracing.Config{Endpoint: e.cfg.OTelEndpoint, SampleRatio: e.cfg.OTelSampleRatio,
		ServiceName: "gatehouse", ServiceVersion: buildinfo.Get().Version}
}

// checkTracing refuses a tracing setting that cannot work, before
// anything is opened or created: an endpoint that is not an http(s) URL,
// a ratio outside 0 to 1, or an endpoint in a binary built without the
// otel tag.
func (e *env) checkTracing() error {
	c := e.tracingConfig()
	if err := c.CheckSampleRatio(); err != nil {
		return fmt.Errorf("GATEHOUSE_OTEL_SAMPLE_RATIO: %w", err)
	}
	if !c.On() {
		return nil
	}
	if _, err := c.TracesURL(); err != nil {
		return fmt.Errorf("GATEHOUSE_OTEL_ENDPOINT: %w", err)
	}
	if !tracing.Available {
		return fmt.Errorf("GATEHOUSE_OTEL_ENDPOINT is set but %w", tracing.ErrNotBuilt)
	}
	return nil
}

// startTracing returns the tracer of the settings (nil when tracing is
// off). It sends nothing yet: a collector that is down is logged at the
// first export, not refused here.
func (e *env) startTracing(ctx context.Context) (*tracing.Tracer, error) {
	t, err := tracing.Setup(ctx, e.tracingConfig(), e.log)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_OTEL_ENDPOINT: %w", err)
	}
	if t != nil {
		e.log.Info("tracing to an OTLP/HTTP collector", "endpoint", e.cfg.OTelEndpoint, "sample_ratio", e.cfg.OTelSampleRatio)
	}
	return t, nil
}

// stopTracing sends the spans not yet sent, for up to 5 s.
func (e *env) stopTracing(t *tracing.Tracer) { stopTracer(t, e.log) }

// stopTracer sends the spans t has not yet sent (nil: none), for up to 5 s.
func stopTracer(t *tracing.Tracer, log *slog.Logger) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("tracing: spans not sent at shutdown", "err", err)
	}
}
