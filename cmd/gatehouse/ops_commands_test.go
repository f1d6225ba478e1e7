package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^gatehouse \S+ \((commit [0-9a-f]{1,12}(\+dirty)?, )?(\S+, )?go[0-9.a-z]+\)\n$`)
	for _, args := range [][]string{{"gatehouse", "version"}, {"gatehouse", "--version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, getenvFrom(nil), nil, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !line.MatchString(out.String()) {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
	err := run(context.Background(), []string{"gatehouse", "version", "extra"}, getenvFrom(nil), nil, io.Discard, io.Discard)
	if err == nil || exitCode(err) != 2 {
		t.Errorf("version extra: %v", err)
	}
}

func TestHealthcheck(t *testing.T) {
	env := baseEnv(filepath.Join(t.TempDir(), "gatehouse.db"))
	base, stop := serve(t, env)
	addr := strings.TrimPrefix(base, "http://")
	check := func(env map[string]string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"gatehouse", "healthcheck"}, args...), getenvFrom(env), nil, &out, io.Discard)
		return out.String(), err
	}
	// The address from the settings, an unspecified host reached on
	// loopback, or --url.
	for _, args := range [][]string{{"--addr", addr}, {"--addr", "0.0.0.0:" + strings.Split(addr, ":")[1]}, {"--url", base + "/readyz"}} {
		if out, err := check(env, args...); err != nil || out != "{\"status\":\"ok\"}\n" {
			t.Errorf("%v: %q %v", args, out, err)
		}
	}
	// allowed-hosts without 127.0.0.1: the first exact name is sent as Host.
	hosted := map[string]string{"GATEHOUSE_ALLOWED_HOSTS": ".example.org,auth.example.com"}
	var gotHost string
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer probe.Close()
	if _, err := check(hosted, "--url", probe.URL+"/readyz"); err != nil || gotHost != "auth.example.com" {
		t.Errorf("Host %q, err %v", gotHost, err)
	}
	// Not ready: 503 is exit 1, and so is nothing listening.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable"}`))
	}))
	defer down.Close()
	_, err := check(nil, "--url", down.URL+"/readyz")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), `answered 503 Service Unavailable {"status":"unavailable"}`) {
		t.Errorf("503: %v", err)
	}
	stop()
	if _, err := check(env, "--addr", addr); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "not healthy") {
		t.Errorf("stopped server: %v", err)
	}
	// Usage mistakes are exit 2.
	for _, args := range [][]string{{"--url", "ftp://x/readyz"}, {"--addr", "127.0.0.1:0"}, {"extra"}} {
		if _, err := check(nil, args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: %v", args, err)
		}
	}
}
