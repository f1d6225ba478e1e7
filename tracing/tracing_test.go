package tracing

import (
	"math"
	"strings"
	"testing"
)

func TestTracesURL(t *testing.T) {
	for _, tc := range []struct{ endpoint, want string }{
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"},
		{"https://otel.example.com/collector", "https://otel.example.com/collector/v1/traces"},
		{"https://otel.example.com/v1/traces", "https://otel.example.com/v1/traces"},
	} {
		got, err := Config{Endpoint: tc.endpoint}.TracesURL()
		if err != nil || got != tc.want {
			t.Errorf("TracesURL(%q) = %q, %v; want %q", tc.endpoint, got, err, tc.want)
		}
	}
	for _, bad := range []string{"127.0.0.1:4318", "localhost:4318", "grpc://collector:4317", "http://", "/v1/traces", "http://user:pw@collector:4318",
		"http://collector:4318/?token=x", "http://collector:4318/#x", "mailto:x@example.com", "http://[::1", "grpc://u:pw@collector:4317", "http://u:pw@[::1"} {
		if got, err := (Config{Endpoint: bad}).TracesURL(); err == nil {
			t.Errorf("TracesURL(%q) = %q, want an error", bad, got)
		} else if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "token=x") {
			t.Errorf("TracesURL(%q): error %q repeats a credential", bad, err)
		}
	}
}

func TestCheckSampleRatio(t *testing.T) {
	for _, ok := range []float64{0, 0.25, 1} {
		if err := (Config{SampleRatio: ok}).CheckSampleRatio(); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range []float64{-0.1, 1.01, math.NaN(), math.Inf(1)} {
		if err := (Config{SampleRatio: bad}).CheckSampleRatio(); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
