package site_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/site"
)

// Metrics are off by default; GATEHOUSE_METRICS_ADDR opens their own
// listener with Open (port 0: the kernel's choice, in MetricsAddr), which
// serves /metrics only and is gone after Close.
func TestMetricsListener(t *testing.T) {
	s, err := site.Open(context.Background(), testConfig(t, "sqlite"), site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Metrics() != nil || s.MetricsAddr() != "" {
		t.Errorf("metrics on by default: %v %q", s.Metrics(), s.MetricsAddr())
	}
	s.Close()

	cfg := testConfig(t, "sqlite")
	cfg.MetricsAddr = "127.0.0.1:0"
	s, err = site.Open(context.Background(), cfg, site.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.MetricsAddr()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "gatehouse_build_info{") || !strings.Contains(string(body), `go_sql_max_open_connections{db_name="sqlite"}`) {
		t.Errorf("scrape: %d %s", res.StatusCode, body)
	}
	res, err = http.Get(base + "/api/me/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("the metrics listener answered /api/me/ %d", res.StatusCode)
	}
	s.Close()
	if res, err := http.Get(base + "/metrics"); err == nil {
		res.Body.Close()
		t.Error("the metrics listener still answers after Close")
	}
}
