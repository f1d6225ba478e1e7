//go:build otel

package tracing

import (
	"context"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Available reports whether this binary was built with OpenTelemetry (the
// build tag otel). It was.
const Available = true

// instrumentation names gatehouse's spans' instrumentation scope.
const instrumentation = "github.com/gatehouse-auth/gatehouse/tracing"

// Tracer starts the request spans (server.RequestTracer) and sends them
// in batches to the collector until Shutdown.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// Setup returns nil when c does not ask for tracing. Otherwise it checks
// c and returns a Tracer exporting over OTLP/HTTP to c's collector
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION and the TLS
// variables apply; the endpoint is c's), sampling c.SampleRatio of the
// traces it starts. Nothing is sent before the first span: an unreachable
// collector is not an error here, failed exports are logged to log (nil:
// not logged). The caller must call Shutdown.
func Setup(ctx context.Context, c Config, log *slog.Logger) (*Tracer, error) {
	if !c.On() {
		return nil, nil
	}
	u, err := c.TracesURL()
	if err != nil {
		return nil, err
	}
	if err := c.CheckSampleRatio(); err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u))
	if err != nil {
		return nil, err
	}
	return newTracer(ctx, c, sdktrace.WithBatcher(loggingExporter{exp, log}))
}

// newTracer builds the Tracer of c whose spans go to the processor p.
func newTracer(ctx context.Context, c Config, p sdktrace.TracerProviderOption) (*Tracer, error) {
	name := c.ServiceName
	if name == "" {
		name = "gatehouse"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if c.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", c.ServiceVersion))
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override what gatehouse says of itself.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(p, sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))))
	return &Tracer{provider: tp, tracer: tp.Tracer(instrumentation)}, nil
}

// StartRequest starts the request's server span, the child of the
// request's traceparent when it carries a valid one, and returns the
// context holding it; end names it after the route and records the
// outcome (server.RequestTracer).
func (t *Tracer) StartRequest(ctx context.Context, method string, header http.Header) (context.Context, func(string, int, int64, string)) {
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(header))
	m := httpMethod(method)
	ctx, span := t.tracer.Start(ctx, m, trace.WithSpanKind(trace.SpanKindServer))
	return ctx, func(route string, status int, userID int64, clientID string) {
		if !span.IsRecording() { // not sampled
			span.End()
			return
		}
		span.SetName(spanName(m, route))
		span.SetAttributes(attribute.String("http.request.method", m), attribute.Int("http.response.status_code", status))
		if route != "" {
			span.SetAttributes(attribute.String("http.route", route))
		}
		if userID != 0 {
			span.SetAttributes(attribute.Int64("gatehouse.user_id", userID))
		}
		if clientID != "" {
			span.SetAttributes(attribute.String("gatehouse.client_id", clientID))
		}
		if status >= 500 { // a 4xx is the client's error, not the server span's
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}

// Shutdown sends the spans not yet sent (until ctx ends) and stops the
// exporter.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// loggingExporter logs a failed export to gatehouse's log and reports
// success to the batcher, which would otherwise hand the error to
// OpenTelemetry's process-wide error handler (a log of its own format on
// standard error).
type loggingExporter struct {
	sdktrace.SpanExporter
	log *slog.Logger
}

func (e loggingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil && e.log != nil {
		e.log.Warn("tracing: spans not exported", "spans", len(spans), "err", err)
	}
	return nil
}

// httpMethod is the method as a span names it: one of the methods HTTP
// defines, else "_OTHER", so that names and attributes stay few.
func httpMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return m
	}
	return "_OTHER"
}

// spanName is "METHOD route", or the method alone when no route served
// the request.
func spanName(method, route string) string {
	if route == "" {
		return method
	}
	return method + " " + route
}
