package accounts_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
)

// Each change to an account, each login and each DRF token is audited
// once, naming its user and what identifies it, never a secret.
func TestAuditedEvents(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const pw, newPW = "correct-horse-battery", "staple-another-horse"
	u := e.create(t, "alice", pw)
	steps := []struct {
		name string
		do   func() error
		want []gatehouse.AuditEvent // Detail holds the keys to compare
	}{
		{"login", func() error { return login(e, gatehouse.LoginDRFToken, "alice", pw, true) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoginSucceeded, UserID: u.ID, Detail: map[string]string{"via": "drf_token", "username": "alice"}}}},
		{"wrong password", func() error { return login(e, gatehouse.LoginSimpleJWT, "alice", "wrong", false) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoginFailed, UserID: u.ID, Detail: map[string]string{"via": "simplejwt", "username": "alice", "reason": "bad_password"}}}},
		{"unknown user", func() error { return login(e, gatehouse.LoginPage, "mallory", pw, false) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"via": "login_page", "username": "mallory", "reason": "unknown_user"}}}},
		{"long password", func() error { return login(e, gatehouse.LoginOAuthPassword, "alice", strings.Repeat("x", 4097), false) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoginFailed, Detail: map[string]string{"via": "oauth_password", "reason": "password_too_long"}}}},
		{"device token", func() error { _, _, err := e.svc.CreateToken(ctx, u.ID, "laptop", time.Hour, nil); return err },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditTokenIssued, UserID: u.ID, Detail: map[string]string{"kind": "drf", "name": "laptop", "expires": "2026-03-14T16:09:26Z"}}}},
		{"token deleted", func() error {
			toks, _ := e.svc.Tokens(ctx, u.ID)
			return e.svc.DeleteToken(ctx, u.ID, toks[len(toks)-1].ID)
		}, []gatehouse.AuditEvent{{Event: gatehouse.AuditTokenRevoked, UserID: u.ID, Detail: map[string]string{"kind": "drf"}}}},
		{"token not found", func() error {
			if err := e.svc.DeleteToken(ctx, u.ID, 999); err == nil {
				return fmt.Errorf("deleted an unknown token")
			}
			return nil
		}, nil},
		{"log out everywhere", func() error { return e.svc.LogOutEverywhere(ctx, u.ID) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoggedOutEverywhere, UserID: u.ID}}},
		{"default key made again", func() error { _, err := e.svc.DefaultKey(ctx, u.ID); return err },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditTokenIssued, UserID: u.ID, Detail: map[string]string{"kind": "drf", "default": "true"}}}},
		{"default key read", func() error { _, err := e.svc.DefaultKey(ctx, u.ID); return err }, nil},
		{"password changed", func() error { return e.svc.ChangePassword(ctx, "alice", newPW) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditPasswordChanged, UserID: u.ID, Detail: map[string]string{"username": "alice"}}}},
		{"refused password change", func() error {
			if err := e.svc.ChangePassword(ctx, "alice", "1234"); err == nil {
				return fmt.Errorf("a refused password was set")
			}
			return nil
		}, nil},
		{"deactivated", func() error { return e.svc.SetActive(ctx, "alice", false) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditUserDeactivated, UserID: u.ID, Detail: map[string]string{"username": "alice"}}}},
		{"inactive login", func() error { return login(e, gatehouse.LoginDRFToken, "alice", newPW, false) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditLoginFailed, UserID: u.ID, Detail: map[string]string{"reason": "inactive"}}}},
		{"activated", func() error { return e.svc.SetActive(ctx, "alice", true) },
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditUserActivated, UserID: u.ID}}},
		{"user created", func() error {
			_, err := e.svc.Create(ctx, accounts.NewUser{Username: "bob", Email: "bob@example.com", Password: pw})
			return err
		},
			[]gatehouse.AuditEvent{{Event: gatehouse.AuditUserCreated, UserID: u.ID + 1, Detail: map[string]string{"username": "bob", "staff": "false", "superuser": "false"}}}},
	}
	for _, s := range steps {
		e.audited = nil
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if len(e.audited) != len(s.want) {
			t.Fatalf("%s: recorded %+v, want %+v", s.name, e.audited, s.want)
		}
		for i, w := range s.want {
			g := e.audited[i]
			if g.Event != w.Event || g.UserID != w.UserID || g.ActorID != 0 || g.ClientID != "" {
				t.Errorf("%s: recorded %+v, want %+v", s.name, g, w)
			}
			for k, v := range w.Detail {
				if g.Detail[k] != v {
					t.Errorf("%s: detail %s = %q, want %q (%v)", s.name, k, g.Detail[k], v, g.Detail)
				}
			}
			for v := range maps.Values(g.Detail) {
				if strings.Contains(v, pw) || strings.Contains(v, newPW) || strings.Contains(v, "xxxx") {
					t.Errorf("%s: a password in the detail %v", s.name, g.Detail)
				}
			}
		}
	}
}

func login(e *env, via gatehouse.LoginVia, username, pw string, want bool) error {
	_, ok, err := e.svc.CheckPassword(context.Background(), via, username, pw)
	if err != nil || ok != want {
		return fmt.Errorf("CheckPassword(%s, %s): %v, %v", username, via, ok, err)
	}
	return nil
}
