package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
)

// keyRows parses `gatehouse keys list`: kid to its row's fields.
func keyRows(t *testing.T, out string) (map[string][]string, []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var start int
	for start < len(lines) && !strings.HasPrefix(lines[start], "KID") {
		start++
	}
	if start == len(lines) || strings.Join(strings.Fields(lines[start]), " ") != "KID ALGORITHM STATE CREATED SIGNS_FROM SIGNS_UNTIL PUBLISHED_UNTIL" {
		t.Fatalf("no header in %q", out)
	}
	rows := map[string][]string{}
	var order []string
	for _, l := range lines[start+1:] {
		f := strings.Fields(l)
		if len(f) != 7 {
			t.Fatalf("row %q", l)
		}
		rows[f[0]] = f
		order = append(order, f[0])
	}
	return rows, order
}

// keys list, rotate and retire on a real database; the listing shows the
// schedule and never the private key, sealed or not.
func TestKeysCommand(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			env := baseEnv(testdb.URL(t, backend))
			env["GATEHOUSE_SIGNING_KEY_ALGORITHM"] = "ES256"
			out, _, err := runSplit(t, env, "keys", "list")
			if err != nil {
				t.Fatalf("keys list: %v %s", err, out)
			}
			rows, order := keyRows(t, out)
			if len(order) != 1 || rows[order[0]][1] != "ES256" || rows[order[0]][2] != "current" || rows[order[0]][5] != "-" || rows[order[0]][6] != "-" {
				t.Fatalf("first listing:\n%s", out)
			}
			first := order[0]

			if out, _, err := runSplit(t, env, "keys", "retire", first); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "only key able to sign; rotate first") {
				t.Fatalf("retiring the only key: %v (exit %d) %s", err, exitCode(err), out)
			}

			out, _, err = runSplit(t, env, "keys", "rotate")
			if err != nil || !strings.Contains(out, "new signing key ") {
				t.Fatalf("keys rotate: %v %s", err, out)
			}
			rows, order = keyRows(t, out)
			if len(order) != 2 || order[0] != first || rows[first][2] != "current" || rows[order[1]][2] != "next" ||
				rows[first][5] != rows[order[1]][4] || rows[first][6] == "-" {
				t.Fatalf("after rotate:\n%s", out)
			}
			second := order[1]

			out, _, err = runSplit(t, env, "keys", "retire", first)
			if err != nil || !strings.Contains(out, "retired signing key "+first) {
				t.Fatalf("keys retire: %v %s", err, out)
			}
			rows, _ = keyRows(t, out)
			if rows[first][2] != "retired" || rows[second][2] != "current" {
				t.Fatalf("after retire:\n%s", out)
			}
			if _, _, err := runSplit(t, env, "keys", "retire", first); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "No published signing key has the kid") {
				t.Errorf("retiring again: %v", err)
			}

			// Nothing private in any listing.
			out, _, err = runSplit(t, env, "keys", "list")
			if err != nil {
				t.Fatal(err)
			}
			st := testdb.OpenURL(t, env["GATEHOUSE_DATABASE_URL"])
			rs, err := st.DB().Query("SELECT private_sealed FROM signing_keys")
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			for rs.Next() {
				var sealed []byte
				rs.Scan(&sealed)
				for _, form := range []string{hex.EncodeToString(sealed)[:16], base64.StdEncoding.EncodeToString(sealed)[:16], base64.RawURLEncoding.EncodeToString(sealed)[:16]} {
					if strings.Contains(out, form) {
						t.Errorf("the sealed private key is in the listing")
					}
				}
			}
			if strings.Contains(out, "PRIVATE") || strings.Contains(out, `"d"`) {
				t.Errorf("private material in %s", out)
			}
		})
	}
}

// Bad input: a clear message and exit 2 for a usage mistake (nothing
// opened), exit 1 for an unknown kid.
func TestKeysCommandBadInput(t *testing.T) {
	env := baseEnv(testdb.URL(t, "sqlite"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys"}, "keys: missing subcommand; usage: gatehouse keys list | rotate | retire KID"},
		{[]string{"keys", "delete"}, `keys: unknown subcommand "delete"`},
		{[]string{"keys", "retire"}, "keys retire: missing KID"},
		{[]string{"keys", "retire", "a", "b"}, `keys retire: unexpected arguments ["b"]`},
		{[]string{"keys", "list", "extra"}, `keys list: unexpected arguments ["extra"]`},
		{[]string{"keys", "rotate", "now"}, `keys rotate: unexpected arguments ["now"]`},
		{[]string{"keys", "list", "--no-such-flag"}, "flag provided but not defined"},
	} {
		out, _, err := runSplit(t, env, c.args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) || out != "" {
			t.Errorf("%q: %v (exit %d), out %q; want %q and exit 2", c.args, err, exitCode(err), out, c.want)
		}
	}
	// The usage mistakes made no key: they stopped before opening the database.
	st := testdb.OpenURL(t, env["GATEHOUSE_DATABASE_URL"])
	if keys, _ := st.SigningKeys(context.Background()); len(keys) != 0 {
		t.Errorf("a refused command made keys: %+v", keys)
	}
	out, _, err := runSplit(t, env, "keys", "retire", "no-such-kid")
	if err == nil || exitCode(err) != 1 || err.Error() != `No published signing key has the kid "no-such-kid".` || out != "" {
		t.Errorf("unknown kid: %v (exit %d) %q", err, exitCode(err), out)
	}
	env["GATEHOUSE_SIGNING_KEY_ALGORITHM"] = "RS512"
	if _, _, err := runSplit(t, env, "keys", "list"); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_SIGNING_KEY_ALGORITHM") {
		t.Errorf("bad algorithm: %v", err)
	}
}
