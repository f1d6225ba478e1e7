package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// benchDjango starts the Django reference (gunicorn, its own SQLite file
// with the fixture) on a free loopback port, measures the cases it offers
// and stops it. The results are keyed by case name.
func benchDjango(o options) (map[string]result, error) {
	start := filepath.Join(o.reference, "reference", "start-django.sh")
	stop := filepath.Join(o.reference, "reference", "stop-django.sh")
	if _, err := os.Stat(start); err != nil {
		return nil, err
	}
	addr := freeAddr()
	_, port, _ := strings.Cut(addr, ":")
	if _, err := strconv.Atoi(port); err != nil {
		return nil, errors.New("no free port")
	}
	if out, err := exec.Command(start, port).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", start, err, out)
	}
	defer exec.Command(stop, port).Run()
	base := "http://" + addr
	creds := credentials(base)
	out := map[string]result{}
	add := func(name string, mk request, seen observer) {
		r := measure(o, "django", "sqlite", name, mk, seen)
		out[name] = r
	}
	for _, c := range []struct{ name, auth string }{
		{"GET /api/me/ (DRF Token)", creds.token},
		{"GET /api/me/ (JWT)", creds.jwt},
		{"GET /api/me/ (OAuth)", creds.oauth},
	} {
		if c.auth != "" {
			add(c.name, get(base+"/api/me/", c.auth), nil)
		}
	}
	if creds.oauth != "" {
		add("POST /o/introspect/", post(base+"/o/introspect/", "token="+strings.TrimPrefix(creds.oauth, "Bearer "), "conf-client", "conf-secret"), nil)
		if mk, seen, err := refreshChain(base, o.conns, passwordRefresh(base)); err == nil {
			add("POST /o/token/ (refresh_token, rotated)", mk, seen)
		}
	}
	if o.logins {
		// Django 3.2 keeps PBKDF2-SHA256 260000, so alice's every login
		// verifies one PBKDF2 hash, as a first login in gatehouse does.
		for _, k := range logins {
			add(k.name, repeated(base, k, "alice", "alicepass"), nil)
		}
	}
	return out, nil
}
