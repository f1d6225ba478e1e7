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
			// The refusals loaded nothing: the whole dump loads now.
			gzPath := filepath.Join(dir, "dump.json.gz")
			os.WriteFile(gzPath, gzb.Bytes(), 0o600)
			out, err := load(nil, gzPath)
			if err != nil || !strings.Contains(out, "loaded 47 users, 47 tokens") {
				t.Fatalf("gzip dump: %v %s", err, out)
			}
			// A second load of the same dump overwrites by primary key and
			// changes nothing (Django's loaddata).
			if out, err := load(nil, gzPath); err != nil || !strings.Contains(out, "loaded 47 users, 47 tokens") {
				t.Fatalf("second load: %v %s", err, out)
			}
		})
	}
	// Standard input, into a fresh database.
	env := baseEnv(testdb.URL(t, "sqlite"))
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"gatehouse", "loaddata", "-"}, getenvFrom(env), bytes.NewReader(raw), &out, &errb); err != nil ||
		!strings.Contains(out.String(), "-: 97 objects") {
		t.Fatalf("loaddata -: %v %s %s", err, out.String(), errb.String())
	}
}

// Several files load in one transaction: a reference may cross files,
// and a failure in the last file leaves nothing from the first.
func TestLoaddataFilesAllOrNothing(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := baseEnv(testdb.URL(t, backend))
			file := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			users := file("users.json", `[{"model": "auth.user", "fields": {"username": "bob", "password": "!", "date_joined": "2024-01-01T00:00:00Z"}}]`)
			badTokens := file("tokens.jsonl", `{"model": "authtoken.token", "pk": "`+strings.Repeat("c", 40)+`", "fields": {"user": ["bob"], "created": "2024-01-01T00:00:00Z"}}
{"model": "authtoken.token", "pk": "`+strings.Repeat("d", 40)+`", "fields": {"user": ["carol"], "created": "2024-01-01T00:00:00Z"}}
`)
			_, err := runCmd(t, env, "loaddata", users, badTokens)
			if err == nil || !strings.Contains(err.Error(), "nothing loaded") || !strings.Contains(err.Error(), "tokens.jsonl: object 1 (authtoken.token pk sha256:") ||
				!strings.Contains(err.Error(), `auth.user "carol"`) || strings.Contains(err.Error(), strings.Repeat("d", 40)) {
				t.Fatalf("a missing parent in the second file: %v", err)
			}
			if _, err := runCmd(t, env, "createtoken", "bob"); err == nil {
				t.Fatal("bob was loaded by a failed load")
			}
			goodTokens := file("good.jsonl", `{"model": "authtoken.token", "pk": "`+strings.Repeat("c", 40)+`", "fields": {"user": ["bob"], "created": "2024-01-01T00:00:00Z"}}`+"\n")
			for range 2 {
				out, err := runCmd(t, env, "loaddata", goodTokens, users) // the parent in a later file
				if err != nil || !strings.Contains(out, "loaded 1 users, 1 tokens") {
					t.Fatalf("cross-file load: %v %s", err, out)
				}
			}
			if _, err := runCmd(t, env, "createtoken", "bob"); err != nil {
				t.Fatalf("bob after the load: %v", err)
			}
		})
	}
}
