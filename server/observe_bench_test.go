package server_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/metrics"
)

// BenchmarkMeTokenMetrics is BenchmarkMeToken with the Prometheus
// request observer attached, as serve runs with metrics on: the
// difference is the observer's cost per request.
func BenchmarkMeTokenMetrics(b *testing.B) {
	m := metrics.New(metrics.ReadBuild())
	benchMeWith(b, func(w *wiring) { w.Server.Observer = m }, drfKeyAuth(b))
}
