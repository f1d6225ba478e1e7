package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/testdb"
	"github.com/gatehouse-auth/gatehouse/store"
)

// A statement cut off by the database (its session ended by a restart, a
// failover, pg_terminate_backend) is a 503 for the caller, not a 500,
// whatever store method ran it: pool reads, the rotation writers' sets
// and their transactions alike. Each call below is held on a table lock
// until its session is ended. Before every exported method classified its
// error, a simplejwt refresh's blacklist read (RefreshBlacklisted) and a
// rotation whose set failed alone answered such a cut as an internal
// error: 22 answers of 500 in a 40 s load with a session ended every
// half second (faults/killtest -terminate).
func TestSessionEndedMidStatementIsUnavailable(t *testing.T) {
	base := postgresURL(t)
	name := fmt.Sprintf("gh_cut_%d", time.Now().UnixNano())
	s := testdb.OpenURL(t, base+"&application_name="+name)
	ctx := t.Context()
	app := newApp(t, s, "conf")
	uid := newUser(t, s, "cut").ID
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	now := time.Now()
	jwtRecord := func(jti string) gatehouse.RefreshRecord {
		return gatehouse.RefreshRecord{JTI: jti, UserID: uid, Family: jti, Created: now, Expires: now.Add(time.Hour)}
	}
	if err := s.RecordRefresh(ctx, jwtRecord("old")); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, table string
		call        func(context.Context) error
	}{
		{"RefreshBlacklisted", "jwt_tokens", func(ctx context.Context) error {
			_, err := s.RefreshBlacklisted(ctx, "", "old")
			return err
		}},
		{"User", "users", func(ctx context.Context) error {
			_, err := s.User(ctx, uid)
			return err
		}},
		{"ApplicationByID", "oauth_applications", func(ctx context.Context) error {
			_, err := s.ApplicationByID(ctx, app.ID)
			return err
		}},
		{"RotateRefresh (a rotation writer)", "jwt_tokens", func(ctx context.Context) error {
			_, err := s.RotateRefresh(ctx, jwtRecord("old"), jwtRecord("new"), now)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx := lockTable(t, admin, c.table)
			defer tx.Rollback()
			done := make(chan error, 1)
			go func() { done <- c.call(ctx) }()
			// End every session of the store that waits for the lock, until
			// the call returns: a writer tries again in a new session.
			ended := 0
			deadline := time.After(20 * time.Second)
			for {
				select {
				case err := <-done:
					if ended == 0 {
						t.Fatalf("the call returned (%v) before any session was ended", err)
					}
					if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
						t.Fatalf("after %d sessions ended: %v (code %q), want %q", ended, err, code, gatehouse.EUNAVAILABLE)
					}
					return
				case <-deadline:
					t.Fatal("the call did not return within 20 s")
				case <-time.After(20 * time.Millisecond):
				}
				var n int
				if err := admin.QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE application_name = $1 AND wait_event_type = 'Lock'`, name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				ended += n
			}
		})
	}
	// The store serves again once the lock is gone.
	if _, err := s.User(ctx, uid); err != nil {
		t.Fatalf("after the cuts: %v", err)
	}
}

// Every exported method of Store that returns an error classifies it
// (Store.classified, deferred first): the check above exercises a few
// paths; this one keeps a new method from forgetting.
func TestExportedErrorsClassified(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || !isStoreReceiver(fn.Recv) || fn.Type.Results == nil {
				continue
			}
			res := fn.Type.Results.List
			last := res[len(res)-1]
			if id, ok := last.Type.(*ast.Ident); !ok || id.Name != "error" {
				continue
			}
			checked++
			where := fset.Position(fn.Pos()).String() + " " + fn.Name.Name
			if len(last.Names) != 1 || last.Names[0].Name != "err" {
				t.Errorf("%s: its error result is not named err", where)
				continue
			}
			if !defersClassified(fn.Body) {
				t.Errorf("%s: its first statement is not `defer s.classified(&err)`", where)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d methods checked: the walk is broken", checked)
	}
}

func isStoreReceiver(r *ast.FieldList) bool {
	if len(r.List) != 1 {
		return false
	}
	star, ok := r.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Store"
}

func defersClassified(body *ast.BlockStmt) bool {
	if body == nil || len(body.List) == 0 {
		return false
	}
	d, ok := body.List[0].(*ast.DeferStmt)
	if !ok || len(d.Call.Args) != 1 {
		return false
	}
	sel, ok := d.Call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "classified" {
		return false
	}
	u, ok := d.Call.Args[0].(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return false
	}
	id, ok := u.X.(*ast.Ident)
	return ok && id.Name == "err"
}

// A statement that PostgreSQL ends for a timeout the operator set on the
// role or database (statement_timeout, lock_timeout: a common guard in
// production) is a 503 too, not a 500: it says "not now", as the lock it
// waited for will be released.
func TestDatabaseTimeoutsAreUnavailable(t *testing.T) {
	base := postgresURL(t)
	setup := testdb.OpenURL(t, base) // migrated here, without the timeout: a loaded machine's migration may take longer
	for _, setting := range []string{"statement_timeout", "lock_timeout"} {
		t.Run(setting, func(t *testing.T) {
			s := testdb.OpenURL(t, base+"&"+setting+"=300")
			ctx := t.Context()
			uid := newUser(t, setup, strings.ReplaceAll(setting, "_", "")).ID
			now := time.Now()
			rec := func(jti string) gatehouse.RefreshRecord {
				jti = setting + "-" + jti // the subtests share a schema
				return gatehouse.RefreshRecord{JTI: jti, UserID: uid, Family: jti, Created: now, Expires: now.Add(time.Hour)}
			}
			if err := setup.RecordRefresh(ctx, rec("old")); err != nil {
				t.Fatal(err)
			}
			admin, err := sql.Open("pgx", base)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			tx, err := admin.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "LOCK TABLE users, jwt_tokens IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			_, err = s.User(ctx, uid)
			if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
				t.Errorf("User: %v (code %q), want %q", err, code, gatehouse.EUNAVAILABLE)
			}
			_, err = s.RotateRefresh(ctx, rec("old"), rec("new"), now)
			if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAVAILABLE {
				t.Errorf("RotateRefresh: %v (code %q), want %q", err, code, gatehouse.EUNAVAILABLE)
			}
			tx.Rollback()
			// Nothing was rotated: the old token rotates once the lock is gone.
			out, err := s.RotateRefresh(ctx, rec("old"), rec("new"), now)
			if err != nil || out != gatehouse.Rotated {
				t.Fatalf("after the lock: %v, %v; want Rotated", out, err)
			}
		})
	}
}

// A request's write naming a user or an application deleted since the
// request read it (another replica deleted it; this one still had it
// cached) is a refused credential (EUNAUTHORIZED), not an internal error:
// it was a 500 (found by a multi-replica pass).
func TestForeignKeyViolationIsUnauthorized(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		app := newApp(t, s, "gone")
		now := time.Now()
		at, rt := pair(app, newUser(t, s, "owner").ID, "fk-family", "fk-a", "fk-r", now)
		at.ApplicationID, rt.ApplicationID = app.ID+1000, app.ID+1000 // an application that is not there
		err := s.CreateTokens(ctx, at, rt, nil)
		if code := gatehouse.ErrorCode(err); code != gatehouse.EUNAUTHORIZED {
			t.Fatalf("tokens of a missing application: %v (code %q)", err, code)
		}
		if err := s.CreateToken(ctx, &gatehouse.Token{UserID: 987654, Hash: []byte("0123456789abcdef0123456789abcdef"), Name: "x", Created: now}); gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			t.Fatalf("a DRF token of a missing user: %v (code %q)", err, gatehouse.ErrorCode(err))
		}
	})
}
