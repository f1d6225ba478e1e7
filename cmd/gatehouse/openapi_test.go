package main

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/openapitest"
)

// openapiTransport checks every exchange the tests' clients make through
// http.DefaultTransport with a server serve started (serveWith registers
// it) against the OpenAPI document that server serves at /api/schema/.
var openapiTransport = &openapitest.Transport{Base: http.DefaultTransport}

// checkExchanges checks the exchanges with the server at base from now on
// and fails t, at its end, with those the document does not describe.
func checkExchanges(t *testing.T, base string) {
	rec := &openapitest.Recorder{}
	openapiTransport.Register(base, rec)
	t.Cleanup(func() {
		openapiTransport.Unregister(base)
		for _, e := range rec.Errors() {
			t.Errorf("OpenAPI: %s", e)
		}
	})
}

// TestMain installs the checking transport and prints what it checked
// (GATEHOUSE_OPENAPI_STATS: the refused invalid requests by operation).
func TestMain(m *testing.M) {
	http.DefaultTransport = openapiTransport
	code := m.Run()
	fmt.Fprint(os.Stderr, openapitest.Stats.Summary(os.Getenv("GATEHOUSE_OPENAPI_STATS") != ""))
	os.Exit(code)
}
