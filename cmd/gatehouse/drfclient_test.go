//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDRFClientPackage runs clients/python/run-tests.sh: the Python
// package gatehouse_drf (a DRF authentication class for Django projects
// that keep their views) against a fake gatehouse, then against gatehouse
// built from this checkout on SQLite and, when GATEHOUSE_TEST_POSTGRES_URL
// reaches a server, PostgreSQL. It needs Debian's Django packages for
// Python; without them it skips, naming them, or fails when
// GATEHOUSE_TEST_DRF_REQUIRED is set (CI installs them and sets it).
func TestDRFClientPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the DRF client's tests build and start gatehouse")
	}
	py := os.Getenv("PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	probe := exec.Command(py, "-c", "import django, rest_framework, jwt, cryptography, requests")
	if out, err := probe.CombinedOutput(); err != nil {
		skip := t.Skipf
		if os.Getenv("GATEHOUSE_TEST_DRF_REQUIRED") != "" {
			skip = t.Fatalf // CI: the packages are installed, so this must run
		}
		skip("%s cannot import Django, DRF, PyJWT, cryptography and requests (%v: %s); "+
			"apt-get install python3-django python3-djangorestframework python3-jwt python3-cryptography python3-requests",
			py, err, strings.TrimSpace(lastLine(string(out))))
	}
	const limit = 5 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../../clients/python/run-tests.sh")
	cmd.Env = append(os.Environ(), "PYTHON="+py)
	// On timeout the whole group is stopped (the script, which then removes
	// its temporary files and schema, Python, the gatehouse servers it
	// started), not bash alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("clients/python/run-tests.sh did not finish within %v (stopped)\n%s", limit, out.String())
	}
	if err != nil {
		t.Fatalf("clients/python/run-tests.sh: %v\n%s", err, out.String())
	}
	t.Logf("clients/python/run-tests.sh in %v: %s", time.Since(start).Round(time.Second), lastLine(out.String()))
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
