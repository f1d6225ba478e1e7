package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	reachable := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	cases := []struct {
		name, url, required string
		rc                  int
		out, errHas         string
	}{
		{"no url", "", "", 0, "sqlite\n", "PostgreSQL NOT tested (GATEHOUSE_TEST_POSTGRES_URL is empty)"},
		{"unreachable", "postgres://postgres:hunter2@127.0.0.1:1/x", "", 0, "sqlite\n", "Set GATEHOUSE_TEST_POSTGRES_URL"},
		{"not a url", "postgres://u:hunter2@[::1", "", 0, "sqlite\n", "cannot parse"},
		{"not postgres", "mysql://u:hunter2@127.0.0.1/x", "", 0, "sqlite\n", "not a postgres:// URL"},
		{"required and unreachable", "postgres://postgres:hunter2@127.0.0.1:1/x", "1", 2, "", "is required"},
	}
	if reachable != "" {
		cases = append(cases, struct {
			name, url, required string
			rc                  int
			out, errHas         string
		}{"reachable", reachable, "1", 0, "postgres\n", "PostgreSQL reachable"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"GATEHOUSE_TEST_POSTGRES_URL": c.url, "GATEHOUSE_TEST_POSTGRES_REQUIRED": c.required}
			var out, errb bytes.Buffer
			rc := probe(func(k string) string { return env[k] }, &out, &errb)
			if rc != c.rc || out.String() != c.out || !strings.Contains(errb.String(), c.errHas) {
				t.Fatalf("rc %d stdout %q stderr %q", rc, out.String(), errb.String())
			}
			if strings.Count(errb.String(), "\n") != 1 || strings.Contains(errb.String(), "hunter2") {
				t.Fatalf("want one line without the password: %q", errb.String())
			}
		})
	}
}
