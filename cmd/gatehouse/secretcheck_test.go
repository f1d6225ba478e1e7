package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// A database loaded with one server secret refuses every command run with
// another, saying what to do, instead of failing each migrated credential
// later (invalid_client, a 500 on /api-token-auth/).
func TestAnotherSecretIsRefused(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			if _, err := runCmd(t, env, "loaddata", testdb.ReferenceDumpFile(t)); err != nil {
				t.Fatal(err)
			}
			other := map[string]string{}
			for k, v := range env {
				other[k] = v
			}
			other["GATEHOUSE_SECRET_KEY"] = "another-secret-key-0123456789abcdef"
			for _, args := range [][]string{{"loaddata", testdb.ReferenceDumpFile(t)}, {"createtoken", "alice"}, {"serve"}} {
				out, err := runCmd(t, other, args...)
				if err == nil || !strings.Contains(err.Error(), "different server secret") || !strings.Contains(err.Error(), "GATEHOUSE_SECRET_KEY") {
					t.Fatalf("%s with another secret: %v %s", args[0], err, out)
				}
				if strings.Contains(err.Error()+out, other["GATEHOUSE_SECRET_KEY"]) || strings.Contains(err.Error()+out, env["GATEHOUSE_SECRET_KEY"]) {
					t.Fatalf("a secret in the message: %v", err)
				}
			}
			if _, err := runCmd(t, env, "createtoken", "alice"); err != nil {
				t.Fatalf("the right secret after the refusals: %v", err)
			}
		})
	}
}

// A SQLite database copied without its secret file: the secret generated
// in its place is refused and removed again, and the message says to copy
// the file.
func TestCopiedDatabaseWithoutSecretFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	env := map[string]string{"GATEHOUSE_DATABASE_URL": db, "GATEHOUSE_LOG_LEVEL": "error"}
	if _, err := runCmd(t, env, "loaddata", testdb.ReferenceDumpFile(t)); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(t.TempDir(), "gatehouse.db")
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	env["GATEHOUSE_DATABASE_URL"] = moved
	_, err = runCmd(t, env, "createtoken", "alice")
	if err == nil || !strings.Contains(err.Error(), "secret file "+moved+".secret was missing") {
		t.Fatalf("copied without the secret: %v", err)
	}
	if _, err := os.Stat(moved + ".secret"); !os.IsNotExist(err) {
		t.Fatalf("the generated secret file stayed: %v", err)
	}
	secretFile, err := os.ReadFile(db + ".secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved+".secret", secretFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, env, "createtoken", "alice"); err != nil {
		t.Fatalf("with the secret file copied: %v", err)
	}
}
