//go:build otel

package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// memoryTracer is a Tracer of c whose spans are kept in memory, each as
// soon as it ends.
func memoryTracer(t *testing.T, c Config) (*Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tr, err := newTracer(context.Background(), c, sdktrace.WithSyncer(exp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	return tr, exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestRequestSpan(t *testing.T) {
	tr, exp := memoryTracer(t, Config{SampleRatio: 1, ServiceVersion: "v1.2.3"})
	h := http.Header{"Authorization": {"Token 0123456789abcdef"}}
	ctx, end := tr.StartRequest(context.Background(), "GET", h)
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		t.Fatal("the handlers' context holds no span")
	}
	end("/api/tokens/{id}/{$}", 200, 42, "client-abc")

	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name != "GET /api/tokens/{id}/{$}" || s.SpanKind != trace.SpanKindServer || s.Status.Code != codes.Unset {
		t.Errorf("span %q kind %v status %v; want GET /api/tokens/{id}/{$}, server, unset", s.Name, s.SpanKind, s.Status.Code)
	}
	if s.Parent.IsValid() {
		t.Errorf("a request without traceparent has a parent: %v", s.Parent)
	}
	want := map[attribute.Key]attribute.Value{
		"http.request.method":       attribute.StringValue("GET"),
		"http.response.status_code": attribute.IntValue(200),
		"http.route":                attribute.StringValue("/api/tokens/{id}/{$}"),
		"gatehouse.user_id":         attribute.Int64Value(42),
		"gatehouse.client_id":       attribute.StringValue("client-abc"),
	}
	got := attrs(s)
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k].String(), v.String())
		}
	}
	for _, kv := range s.Attributes {
		if strings.Contains(kv.Value.String(), "0123456789abcdef") {
			t.Errorf("%s holds the credential", kv.Key)
		}
	}
	res := map[attribute.Key]string{}
	for _, kv := range s.Resource.Attributes() {
		res[kv.Key] = kv.Value.String()
	}
	if res["service.name"] != "gatehouse" || res["service.version"] != "v1.2.3" {
		t.Errorf("resource %v: want service.name gatehouse, service.version v1.2.3", res)
	}
}

func TestRequestSpanOutcomes(t *testing.T) {
	tr, exp := memoryTracer(t, Config{SampleRatio: 1})
	_, end := tr.StartRequest(context.Background(), "BREW", nil)
	end("", 404, 0, "") // no route: an unknown path
	_, end = tr.StartRequest(context.Background(), "POST", nil)
	end("/o/token/", 500, 0, "")

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	a, b := spans[0], spans[1]
	if a.Name != "_OTHER" || attrs(a)["http.request.method"].AsString() != "_OTHER" || a.Status.Code != codes.Unset {
		t.Errorf("unknown method, no route: span %q %v status %v", a.Name, attrs(a), a.Status.Code)
	}
	for _, k := range []attribute.Key{"http.route", "gatehouse.user_id", "gatehouse.client_id"} {
		if _, ok := attrs(a)[k]; ok {
			t.Errorf("%s set on a span that has none", k)
		}
	}
	if b.Name != "POST /o/token/" || b.Status.Code != codes.Error || attrs(b)["http.response.status_code"].AsInt64() != 500 {
		t.Errorf("500: span %q status %v %v", b.Name, b.Status.Code, attrs(b))
	}
}

func TestTraceparentAndSampling(t *testing.T) {
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	tr, exp := memoryTracer(t, Config{SampleRatio: 0})

	_, end := tr.StartRequest(context.Background(), "GET", nil)
	end("/healthz", 200, 0, "")
	if n := len(exp.GetSpans()); n != 0 {
		t.Fatalf("ratio 0, no parent: %d spans exported, want 0", n)
	}

	h := http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}}
	ctx, end := tr.StartRequest(context.Background(), "GET", h)
	if got := trace.SpanFromContext(ctx).SpanContext().TraceID().String(); got != traceID {
		t.Errorf("the handlers' trace %s, want the caller's %s", got, traceID)
	}
	end("/healthz", 200, 0, "")
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("a sampled parent: %d spans, want 1 (the parent's decision wins)", len(spans))
	}
	if s := spans[0]; s.SpanContext.TraceID().String() != traceID || s.Parent.SpanID().String() != parentID || !s.Parent.IsRemote() {
		t.Errorf("span in trace %s with parent %s, want %s and %s", s.SpanContext.TraceID(), s.Parent.SpanID(), traceID, parentID)
	}

	exp.Reset()
	h = http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-00"}}
	_, end = tr.StartRequest(context.Background(), "GET", h)
	end("/healthz", 200, 0, "")
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("an unsampled parent: %d spans, want 0", n)
	}

	all, exp1 := memoryTracer(t, Config{SampleRatio: 1})
	_, end = all.StartRequest(context.Background(), "GET", http.Header{"Traceparent": {"garbage"}})
	end("/healthz", 200, 0, "")
	if s := exp1.GetSpans(); len(s) != 1 || s[0].Parent.IsValid() {
		t.Errorf("a malformed traceparent: %d spans; want 1, a root", len(s))
	}
}

func TestServiceNameFromEnvironment(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "auth-eu")
	tr, exp := memoryTracer(t, Config{SampleRatio: 1, ServiceName: "gatehouse"})
	_, end := tr.StartRequest(context.Background(), "GET", nil)
	end("/healthz", 200, 0, "")
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	name, _ := spans[0].Resource.Set().Value("service.name")
	if name.AsString() != "auth-eu" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's auth-eu", name.AsString())
	}
}

// TestExportToCollector runs the real exporter against a fake OTLP/HTTP
// collector: the spans arrive at the endpoint's /v1/traces as protobuf
// when Shutdown flushes them, with the headers of
// OTEL_EXPORTER_OTLP_HEADERS.
func TestExportToCollector(t *testing.T) {
	var (
		mu       sync.Mutex
		received []*collectortrace.ExportTraceServiceRequest
		paths    []string
		auth     string
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, req) != nil {
			t.Errorf("collector: %s %s %s, %d bytes not an export request", r.Method, r.URL.Path, r.Header.Get("Content-Type"), len(body))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		received, paths, auth = append(received, req), append(paths, r.URL.Path), r.Header.Get("Authorization")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer collector-key")

	tr, err := Setup(context.Background(), Config{Endpoint: collector.URL + "/otlp", SampleRatio: 1, ServiceVersion: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.StartRequest(context.Background(), "POST", nil)
	end("/o/token/", 200, 7, "cli")
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(received) != 1 || paths[0] != "/otlp/v1/traces" || auth != "Bearer collector-key" {
		t.Fatalf("collector got %d exports at %v with Authorization %q; want 1 at /otlp/v1/traces with the configured header", len(received), paths, auth)
	}
	rs := received[0].ResourceSpans
	if len(rs) != 1 || len(rs[0].ScopeSpans) != 1 || len(rs[0].ScopeSpans[0].Spans) != 1 {
		t.Fatalf("export %v: want one span", received[0])
	}
	var service string
	for _, kv := range rs[0].Resource.Attributes {
		if kv.Key == "service.name" {
			service = kv.Value.GetStringValue()
		}
	}
	s := rs[0].ScopeSpans[0].Spans[0]
	got := map[string]*commonpb.AnyValue{}
	for _, kv := range s.Attributes {
		got[kv.Key] = kv.Value
	}
	if s.Name != "POST /o/token/" || service != "gatehouse" || len(s.TraceId) != 16 || s.Kind != tracepb.Span_SPAN_KIND_SERVER ||
		got["gatehouse.user_id"].GetIntValue() != 7 || got["gatehouse.client_id"].GetStringValue() != "cli" || got["http.route"].GetStringValue() != "/o/token/" {
		t.Errorf("exported span %q of %q with %v", s.Name, service, got)
	}
}

func TestSetupRefuses(t *testing.T) {
	if !Available {
		t.Fatal("Available is false in the otel build")
	}
	for _, c := range []Config{
		{Endpoint: "127.0.0.1:4318", SampleRatio: 1},
		{Endpoint: "http://127.0.0.1:4318", SampleRatio: 2},
	} {
		if tr, err := Setup(context.Background(), c, nil); err == nil {
			tr.Shutdown(context.Background())
			t.Errorf("%+v: accepted", c)
		}
	}
	if tr, err := Setup(context.Background(), Config{SampleRatio: 1}, nil); tr != nil || err != nil {
		t.Errorf("no endpoint: %v, %v; want nil, nil (off)", tr, err)
	}
}
