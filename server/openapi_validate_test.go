package server_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/openapitest"
	"github.com/gatehouse-auth/gatehouse/server"
)

// validated wraps srv so that every exchange of the test server is checked
// against the OpenAPI document srv serves (internal/openapitest); report
// fails t with what did not match. The harness (buildOn) calls it for
// every test server, so an undocumented path, method, status or body
// fails the test that sent the request.
func validated(t testing.TB, srv *server.Server) (_ http.Handler, report func()) {
	t.Helper()
	v, err := openapitest.Compile(server.OpenAPIJSON(srv))
	if err != nil {
		t.Fatal(err)
	}
	rec := &openapitest.Recorder{}
	return v.Wrap(srv, rec), func() {
		for _, e := range rec.Errors() {
			t.Errorf("OpenAPI: %s", e)
		}
	}
}

// TestMain prints what the validation covered (with
// GATEHOUSE_OPENAPI_STATS set, the refused invalid requests by operation).
func TestMain(m *testing.M) {
	code := m.Run()
	fmt.Fprint(os.Stderr, openapitest.Stats.Summary(os.Getenv("GATEHOUSE_OPENAPI_STATS") != ""))
	os.Exit(code)
}
