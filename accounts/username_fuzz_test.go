package accounts_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
)

// FuzzCreateUser sends sign-up fields to Create. Properties: a user is
// created under the NFKC form of the name (NormalizeUsername, idempotent),
// which is a valid Django username of at most 150 characters; every
// other spelling of it is then taken; logins look the name up as given,
// so only the stored form logs in; fields that are refused are refused as
// EINVALID field errors.
func FuzzCreateUser(f *testing.F) {
	for _, s := range [][4]string{
		{"alice", "alice@example.com", "Alice", "Liddell"},
		{"  pony3  ", "", "", ""},
		{"ｆｕｌｌ", "", "", ""},
		{"e\u0301te\u0301", "", "", ""},
		{"été", "a@[127.0.0.1]", "", ""},
		{"ﷺ", "", "", ""},
		{"a b", "not-an-email", "", ""},
		{"a\x00", "x\r\n@[evil]", "", ""},
		{"\xff", "a@example.com", "\xff", "\x00"},
		{"user@example.com", "user@example.com", "", ""},
		{"Ω", "", "", ""},
		{"K", "", "", ""},
		{"", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	const pw = "correct horse battery staple"
	f.Fuzz(func(t *testing.T, username, email, first, last string) {
		normal := accounts.NormalizeUsername(username)
		if accounts.NormalizeUsername(normal) != normal {
			t.Fatalf("NormalizeUsername(%q) = %q is not stable", username, normal)
		}
		e := newEnv(t, nil)
		ctx := context.Background()
		u, err := e.svc.Create(ctx, accounts.NewUser{Username: username, Email: email, FirstName: first, LastName: last, Password: pw})
		if err != nil {
			var ge *gatehouse.Error
			if !errors.As(err, &ge) || ge.Code != gatehouse.EINVALID || len(ge.Fields) == 0 {
				t.Fatalf("%q: %v, want EINVALID field errors", username, err)
			}
			return
		}
		if u.Username != normal || !norm.NFKC.IsNormalString(u.Username) || !gatehouse.ValidUsername(u.Username) ||
			!gatehouse.ValidText(u.Username) || gatehouse.Length(u.Username) > gatehouse.MaxUsername {
			t.Fatalf("%q created as %q", username, u.Username)
		}
		if u.Email != "" && !gatehouse.ValidEmail(u.Email) || gatehouse.Length(u.FirstName) > gatehouse.MaxName ||
			gatehouse.Length(u.LastName) > gatehouse.MaxName {
			t.Fatalf("created with email %q, names %q %q", u.Email, u.FirstName, u.LastName)
		}
		if _, err := e.svc.Create(ctx, accounts.NewUser{Username: username, Password: pw}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Fatalf("%q created twice: %v", username, err)
		}
		for _, name := range []string{username, normal} {
			_, ok, err := e.svc.CheckPassword(ctx, gatehouse.LoginDRFToken, name, pw)
			if err != nil || ok != (name == u.Username) {
				t.Fatalf("login as %q (stored %q): ok %v, %v", name, u.Username, ok, err)
			}
		}
	})
}
