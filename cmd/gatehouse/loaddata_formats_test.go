package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// The reference dump loads gzip-compressed, as JSON lines, and from
// standard input, on every backend; a file with data after its array is
// refused and loads nothing.
func TestLoaddataFormats(t *testing.T) {
	raw := testdb.ReferenceDump()
	var gzb bytes.Buffer
	zw := gzip.NewWriter(&gzb)
	zw.Write(raw)
	zw.Close()
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := baseEnv(testdb.URL(t, backend))
			load := func(stdin []byte, args ...string) (string, error) {
				var out, errb bytes.Buffer
				err := run(context.Background(), append([]string{"gatehouse", "loaddata"}, args...), getenvFrom(env), bytes.NewReader(stdin), &out, &errb)
				return out.String() + errb.String(), err
			}
			bad := filepath.Join(dir, "two.json")
			os.WriteFile(bad, append(append([]byte{}, raw...), raw...), 0o600)
			if out, err := load(nil, bad); err == nil || !strings.Contains(err.Error(), "two.json") || !strings.Contains(err.Error(), "data after the JSON array") {
				t.Fatalf("concatenated dumps: %v %s", err, out)
			}
			if out, err := load(nil, "-"); err == nil || !strings.Contains(err.Error(), "not a dumpdata JSON array") {
				t.Fatalf("empty standard input: %v %s", err, out)
			}
			// The refusals loaded nothing: the whole dump loads now (a second
			// load of the same users would conflict).
			gzPath := filepath.Join(dir, "dump.json.gz")
			os.WriteFile(gzPath, gzb.Bytes(), 0o600)
			out, err := load(nil, gzPath)
			if err != nil || !strings.Contains(out, "loaded 47 users, 47 tokens") {
				t.Fatalf("gzip dump: %v %s", err, out)
			}
		})
	}
	// Standard input, into a fresh database.
	env := baseEnv(testdb.URL(t, "sqlite"))
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "loaddata", "-"}, getenvFrom(env), bytes.NewReader(raw), &out, &errb); err != nil ||
		!strings.Contains(out.String(), "-: loaded 47 users, 47 tokens") {
		t.Fatalf("loaddata -: %v %s %s", err, out.String(), errb.String())
	}
}
