package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// A dump of a project whose USE_TZ is False holds its TIME_ZONE's
// wall-clock times without an offset (dumpdata writes them so). With
// --time-zone they are those instants; without, they are read as UTC and
// the load says so, naming the flag. A name that is not a zone is a
// usage error (exit 2) that loads nothing. (Found by an import pass: a
// Tokyo project's access token that had expired 30 minutes before the
// dump was accepted for 9 hours more.)
func TestLoaddataTimeZone(t *testing.T) {
	const dump = `[{"model": "auth.user", "pk": 1, "fields": {"password": "!", "last_login": "2026-03-01T09:30:00", ` +
		`"is_superuser": false, "username": "tokyo", "first_name": "", "last_name": "", "email": "", "is_staff": false, ` +
		`"is_active": true, "date_joined": "2026-03-01T09:00:00.250", "groups": [], "user_permissions": []}}]`
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dump.json")
			os.WriteFile(path, []byte(dump), 0o600)
			load := func(dbURL string, args ...string) (string, error) {
				var out, errb bytes.Buffer
				err := run(context.Background(), append([]string{"gatehouse", "loaddata"}, args...), getenvFrom(baseEnv(dbURL)), nil, &out, &errb)
				return out.String() + errb.String(), err
			}
			joined := func(dbURL string) time.Time {
				st, err := store.Open(context.Background(), dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				u, err := st.UserByUsername(context.Background(), "tokyo")
				if err != nil {
					t.Fatal(err)
				}
				return u.DateJoined
			}

			db := testdb.URL(t, backend)
			for _, bad := range []string{"Mars/Olympus", "Local", "../../etc/passwd", ""} {
				out, err := load(db, "--time-zone", bad, path)
				if exitCode(err) != 2 || !strings.Contains(out+errText(err), "time zone") {
					t.Fatalf("--time-zone %q: exit %d, %v %s", bad, exitCode(err), err, out)
				}
			}
			out, err := load(db, "--time-zone", "Asia/Tokyo", path)
			if err != nil || strings.Contains(out, "no time zone") {
				t.Fatalf("with --time-zone: %v %s", err, out)
			}
			if got, want := joined(db), time.Date(2026, 3, 1, 0, 0, 0, 250e6, time.UTC); !got.Equal(want) {
				t.Fatalf("date_joined in Tokyo: %v, want %v", got, want)
			}

			db = testdb.URL(t, backend)
			out, err = load(db, path)
			if err != nil || !strings.Contains(out, "2 datetimes have no time zone and were read as UTC") || !strings.Contains(out, "--time-zone") {
				t.Fatalf("without --time-zone: %v %s", err, out)
			}
			if got, want := joined(db), time.Date(2026, 3, 1, 9, 0, 0, 250e6, time.UTC); !got.Equal(want) {
				t.Fatalf("date_joined as UTC: %v, want %v", got, want)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
