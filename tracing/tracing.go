// Package tracing is gatehouse's optional OpenTelemetry tracing: one
// server span per request, exported over OTLP/HTTP to a collector.
//
// OpenTelemetry's SDK and exporter are linked only into a binary built with
// the build tag otel (go build -tags otel): they weigh about twenty
// modules, gRPC's among them, for a feature most sites leave off. Without
// the tag the package is a stub: Setup returns nil when no endpoint is
// configured and ErrNotBuilt when one is, so a configuration asking for
// tracing is refused at start rather than ignored (internal/archtest
// checks the default build links no OpenTelemetry package).
//
// A span carries the method, the route pattern (never the request's path
// or query), the status, and gatehouse's user id and OAuth client id when
// the request authenticated; never a token, a secret or a header's value.
package tracing

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotBuilt is Setup's error for a configuration asking for tracing in
// a binary built without the otel tag.
var ErrNotBuilt = errors.New("this binary was built without OpenTelemetry: build with -tags otel")

// Config is what tracing needs. Tracing is on when Endpoint is set.
type Config struct {
	// Endpoint is the base URL of the OTLP/HTTP collector, such as
	// http://127.0.0.1:4318; spans are posted to its path /v1/traces
	// (added unless the URL's path already ends with it). Empty: off.
	Endpoint string
	// SampleRatio is the share of traces started here that are recorded,
	// 0 to 1. A request continuing a trace (traceparent) follows its
	// parent's decision.
	SampleRatio float64
	// ServiceName and ServiceVersion describe this process in every span
	// (OTEL_SERVICE_NAME, when set, overrides ServiceName; empty: "gatehouse").
	ServiceName    string
	ServiceVersion string
}

// On reports whether c asks for tracing.
func (c Config) On() bool { return c.Endpoint != "" }

// TracesURL checks Endpoint and returns the URL spans are posted to: an
// absolute http or https URL with a host, and no user information, query
// or fragment (credentials for the collector go in
// OTEL_EXPORTER_OTLP_HEADERS, never in the URL a log may print).
func (c Config) TracesURL() (string, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		shown := fmt.Sprintf(", not %q", c.Endpoint)
		if strings.Contains(c.Endpoint, "@") { // it may hold a password
			shown = ""
		}
		return "", fmt.Errorf("want the http or https URL of an OTLP/HTTP collector, such as http://127.0.0.1:4318%s", shown)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errors.New("want a URL without user information, query or fragment (put the collector's credentials in OTEL_EXPORTER_OTLP_HEADERS)")
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		u.RawPath = ""
	}
	return u.String(), nil
}

// CheckSampleRatio refuses a ratio outside 0 to 1.
func (c Config) CheckSampleRatio() error {
	if !(c.SampleRatio >= 0 && c.SampleRatio <= 1) { // NaN too
		return fmt.Errorf("want a ratio from 0 to 1, such as 0.1, not %v", c.SampleRatio)
	}
	return nil
}
