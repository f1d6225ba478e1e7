package site_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/site"
	"github.com/gatehouse-auth/gatehouse/tracing"
)

// A tracing setting that cannot work is refused at start naming its
// variable, before the database is created; with the default build, so is
// any endpoint at all.
func TestTracingSettingsRefused(t *testing.T) {
	notBuilt := "GATEHOUSE_OTEL_ENDPOINT is set but this binary was built without OpenTelemetry: build with -tags otel"
	cases := []struct {
		endpoint string
		ratio    float64
		want     string
	}{
		{"localhost:4318", 1, "GATEHOUSE_OTEL_ENDPOINT: want the http or https URL of an OTLP/HTTP collector"},
		{"http://user:hunter2@collector:4318", 1, "GATEHOUSE_OTEL_ENDPOINT: want a URL without user information"},
		{"http://127.0.0.1:4318", 1.5, "GATEHOUSE_OTEL_SAMPLE_RATIO: want a ratio from 0 to 1"},
		{"", 2, "GATEHOUSE_OTEL_SAMPLE_RATIO: want a ratio from 0 to 1"},
	}
	if !tracing.Available {
		cases = append(cases, struct {
			endpoint string
			ratio    float64
			want     string
		}{"http://127.0.0.1:4318", 1, notBuilt})
	}
	for _, tc := range cases {
		cfg := testConfig(t, "sqlite")
		cfg.OTelEndpoint, cfg.OTelSampleRatio = tc.endpoint, tc.ratio
		s, err := site.Open(context.Background(), cfg, site.Options{})
		if err == nil {
			s.Close()
			t.Errorf("%q ratio %v: opened", tc.endpoint, tc.ratio)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q ratio %v: %v; want %q...", tc.endpoint, tc.ratio, err, tc.want)
		}
		if _, err := os.Stat(cfg.DatabaseURL); !os.IsNotExist(err) {
			t.Errorf("%q ratio %v: the database was created (%v)", tc.endpoint, tc.ratio, err)
		}
	}
}

func TestTracingSettingsTable(t *testing.T) {
	c := site.DefaultConfig()
	if c.OTelEndpoint != "" || c.OTelSampleRatio != 1 {
		t.Errorf("defaults: endpoint %q ratio %v; want off and 1", c.OTelEndpoint, c.OTelSampleRatio)
	}
	c, err := site.FromEnv(func(k string) string {
		return map[string]string{"GATEHOUSE_OTEL_ENDPOINT": "http://collector:4318", "GATEHOUSE_OTEL_SAMPLE_RATIO": "0.25"}[k]
	})
	if err != nil || c.OTelEndpoint != "http://collector:4318" || c.OTelSampleRatio != 0.25 {
		t.Errorf("FromEnv: %q %v %v", c.OTelEndpoint, c.OTelSampleRatio, err)
	}
}
