package guard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// principals are one of each kind of caller DRF and DOT tell apart. Each
// call returns fresh values, as each request has its own.
func principals() map[string]*Principal {
	return map[string]*Principal{
		"anonymous":         nil,
		"client-only OAuth": {Kind: KindOAuth, Scopes: []string{"read", "write"}, ClientID: "app", Known: FieldsAll},
		"DRF token user":    {UserID: 1, Username: "u", Kind: KindToken, Known: FieldsAll},
		"knox user":         {UserID: 1, Username: "u", Kind: KindKnox, Known: FieldsAll},
		"JWT user":          {UserID: 1, Kind: KindJWT},
		// Scopes on another kind than OAuth count for nothing.
		"JWT user with scopes": {UserID: 1, Kind: KindJWT, Scopes: []string{"read", "write"}},
		"OAuth user read":      {UserID: 1, Username: "u", Kind: KindOAuth, Scopes: []string{"read"}, ClientID: "app", Known: FieldsAll},
		"OAuth user rw":        {UserID: 1, Username: "u", Kind: KindOAuth, Scopes: []string{"read", "write"}, ClientID: "app", Known: FieldsAll},
		"staff":                {UserID: 2, Username: "s", IsStaff: true, Kind: KindToken, Known: FieldsAll},
		"superuser":            {UserID: 3, Username: "root", IsSuperuser: true, Kind: KindToken, Known: FieldsAll},
		"holder":               {UserID: 4, Username: "h", Kind: KindKnox, Known: FieldsAll, Permissions: []string{"orders.change_order"}},
	}
}

// Each helper against DRF's and DOT's semantics: the status Check gives
// for GET and for POST ("401/401" and so on).
func TestPermissionHelpers(t *testing.T) {
	perms := map[string]Permission{
		"AllowAny":                  AllowAny,
		"IsAuthenticated":           IsAuthenticated,
		"IsAdminUser":               IsAdminUser,
		"IsAuthenticatedOrReadOnly": IsAuthenticatedOrReadOnly,
		"TokenHasScope(read)":       TokenHasScope("read"),
		"TokenHasScope(read write)": TokenHasScope("read write"),
		"TokenHasReadWriteScope":    TokenHasReadWriteScope(),
		"IsAuthOrTokenHasScope":     IsAuthenticatedOrTokenHasScope("read"),
		"HasPermission":             HasPermission("orders.change_order"),
	}
	want := map[string]map[string]string{
		"anonymous": {"AllowAny": "200/200", "IsAuthenticated": "401/401", "IsAdminUser": "401/401",
			"IsAuthenticatedOrReadOnly": "200/401", "TokenHasScope(read)": "401/401", "TokenHasScope(read write)": "401/401",
			"TokenHasReadWriteScope": "401/401", "IsAuthOrTokenHasScope": "401/401", "HasPermission": "401/401"},
		// A client's own token: no user (403 where one is needed), but its
		// scopes count for DOT's permissions.
		"client-only OAuth": {"AllowAny": "200/200", "IsAuthenticated": "403/403", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/403", "TokenHasScope(read)": "200/200", "TokenHasScope(read write)": "200/200",
			"TokenHasReadWriteScope": "200/200", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		// Not OAuth: DOT's scope checks do not pass, IsAuthenticatedOrTokenHasScope does.
		"DRF token user": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		"knox user": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		// Staff flag and permissions unknown and nothing to fetch them: 403.
		"JWT user": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		"JWT user with scopes": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		"OAuth user read": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "200/200", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "200/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		"OAuth user rw": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "200/200", "TokenHasScope(read write)": "200/200",
			"TokenHasReadWriteScope": "200/200", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		"staff": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "200/200",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "403/403"},
		// DRF's IsAdminUser reads is_staff alone; a superuser holds every permission.
		"superuser": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "200/200"},
		"holder": {"AllowAny": "200/200", "IsAuthenticated": "200/200", "IsAdminUser": "403/403",
			"IsAuthenticatedOrReadOnly": "200/200", "TokenHasScope(read)": "403/403", "TokenHasScope(read write)": "403/403",
			"TokenHasReadWriteScope": "403/403", "IsAuthOrTokenHasScope": "200/200", "HasPermission": "200/200"},
	}
	for who, row := range want {
		for name, perm := range perms {
			t.Run(who+"/"+name, func(t *testing.T) {
				var got []string
				for _, method := range []string{"GET", "POST"} {
					p := principals()[who]
					status, err := Check(httptest.NewRequest(method, "/", nil), p, perm)
					if err != nil {
						t.Fatalf("%s: %v", method, err)
					}
					got = append(got, itoa(status))
				}
				if g := strings.Join(got, "/"); g != row[name] {
					t.Fatalf("GET/POST %s, want %s", g, row[name])
				}
			})
		}
	}
	// HEAD and OPTIONS are safe methods too; PUT, PATCH and DELETE are not.
	for method, want := range map[string]int{"HEAD": 200, "OPTIONS": 200, "PUT": 401, "PATCH": 401, "DELETE": 401} {
		if s, _ := Check(httptest.NewRequest(method, "/", nil), nil, IsAuthenticatedOrReadOnly); s != want {
			t.Errorf("IsAuthenticatedOrReadOnly %s anonymous: %d, want %d", method, s, want)
		}
	}
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

var errBoom = errors.New("boom")

// And/Or/Not: an undecidable check (ErrUnknown) never turns into a pass,
// and an internal error is returned as is.
func TestCombinators(t *testing.T) {
	failing := PermissionFunc(func(*http.Request, *Principal) (bool, error) { return false, errBoom })
	cases := []struct {
		name   string
		who    string
		perm   Permission
		status int
		err    error
	}{
		{"And: all pass", "staff", And(IsAuthenticated, IsAdminUser), 200, nil},
		{"And: one fails", "DRF token user", And(IsAuthenticated, IsAdminUser), 403, nil},
		{"And: unknown denies", "JWT user", And(IsAuthenticated, IsAdminUser), 403, nil},
		{"And: anonymous", "anonymous", And(IsAuthenticated, IsAdminUser), 401, nil},
		{"And: stops at the first failure", "DRF token user", And(IsAdminUser, failing), 403, nil},
		{"And: internal error", "staff", And(IsAdminUser, failing), 0, errBoom},
		{"Or: unknown skipped, next passes", "JWT user", Or(IsAdminUser, IsAuthenticated), 200, nil},
		{"Or: unknown alone denies", "JWT user", Or(IsAdminUser), 403, nil},
		{"Or: none passes", "DRF token user", Or(IsAdminUser, TokenHasScope("read")), 403, nil},
		{"Or: first passes, second not called", "staff", Or(IsAdminUser, failing), 200, nil},
		{"Or: internal error", "DRF token user", Or(IsAdminUser, failing), 0, errBoom},
		{"Not: passes when perm does not", "DRF token user", Not(IsAdminUser), 200, nil},
		{"Not: denies when perm passes", "staff", Not(IsAdminUser), 403, nil},
		{"Not: unknown stays a denial", "JWT user", Not(IsAdminUser), 403, nil},
		{"Not: anonymous", "anonymous", Not(IsAuthenticated), 200, nil},
		{"Not of Or of unknown", "JWT user", Not(Or(IsAdminUser, HasPermission("a.b"))), 403, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, err := Check(httptest.NewRequest("GET", "/", nil), principals()[c.who], c.perm)
			if status != c.status || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("Check: %d %v, want %d %v", status, err, c.status, c.err)
			}
		})
	}
}

// Identity and permissions missing from the credential are fetched at
// most once per principal, however many checks need them.
func TestLazyLoading(t *testing.T) {
	var idCalls, permCalls atomic.Int64
	p := &Principal{UserID: 9, Kind: KindJWT,
		LoadIdentity: func(context.Context) (*Principal, error) {
			idCalls.Add(1)
			return &Principal{UserID: 9, Username: "nine", IsStaff: true, Known: FieldUsername | FieldEmail | FieldStaff}, nil
		},
		LoadPermissions: func(context.Context) ([]string, []string, error) {
			permCalls.Add(1)
			return []string{"g"}, []string{"a.b"}, nil
		},
	}
	perm := And(IsAdminUser, HasPermission("a.b"), IsAdminUser, HasPermission("a.b"), Or(Not(IsAdminUser), HasPermission("a.b")))
	for range 3 {
		if s, err := Check(httptest.NewRequest("GET", "/", nil), p, perm); s != 200 || err != nil {
			t.Fatalf("Check: %d %v", s, err)
		}
	}
	if idCalls.Load() != 1 || permCalls.Load() != 1 {
		t.Fatalf("LoadIdentity called %d times, LoadPermissions %d, want 1 and 1", idCalls.Load(), permCalls.Load())
	}
	if p.Username != "nine" || strings.Join(p.Groups, ",") != "g" {
		t.Fatalf("principal not filled in: %+v", p)
	}

	// A failing load is not retried within the request, and is an
	// internal error (503), not a denial.
	idCalls.Store(0)
	q := &Principal{UserID: 9, Kind: KindJWT, LoadIdentity: func(context.Context) (*Principal, error) {
		idCalls.Add(1)
		return nil, errBoom
	}}
	for range 2 {
		if _, err := Check(httptest.NewRequest("GET", "/", nil), q, IsAdminUser); !errors.Is(err, errBoom) {
			t.Fatalf("Check: %v, want errBoom", err)
		}
	}
	if idCalls.Load() != 1 {
		t.Fatalf("a failing LoadIdentity was called %d times", idCalls.Load())
	}
	// Identity that also tells the permissions serves HasPermission.
	idCalls.Store(0)
	r := &Principal{UserID: 9, Kind: KindJWT, LoadIdentity: func(context.Context) (*Principal, error) {
		idCalls.Add(1)
		return &Principal{UserID: 9, Known: FieldsAll, Permissions: []string{"a.b"}}, nil
	}}
	if s, _ := Check(httptest.NewRequest("GET", "/", nil), r, And(HasPermission("a.b"), Not(IsAdminUser))); s != 200 || idCalls.Load() != 1 {
		t.Fatalf("status %d, %d loads", s, idCalls.Load())
	}
}

// The middleware: the principal reaches the handler; refusals, denials and
// internal errors are answered in gatehouse's shapes, the latter logged.
func TestProtect(t *testing.T) {
	user := &Principal{UserID: 5, Username: "five", Kind: KindToken, Known: FieldsAll}
	cases := []struct {
		name       string
		auth       Authenticator
		perm       Permission
		status     int
		www, body  string
		logged     bool
		handlerRan bool
	}{
		{"user passes", authFunc(func() (*Principal, error) { return user, nil }), IsAuthenticated, 200, "", "ok", false, true},
		{"anonymous denied", authFunc(func() (*Principal, error) { return nil, nil }), IsAuthenticated, 401, Challenge, bodyNotProvided, false, false},
		{"anonymous allowed", authFunc(func() (*Principal, error) { return nil, nil }), AllowAny, 200, "", "ok", false, true},
		{"user denied", authFunc(func() (*Principal, error) { return user, nil }), IsAdminUser, 403, "", bodyDenied, false, false},
		{"refused under AllowAny", authFunc(func() (*Principal, error) { return nil, &Refusal{Keyword: "Token", Reason: "credential_invalid"} }),
			AllowAny, 401, Challenge, bodyTokenBad, false, false},
		{"inactive user's DRF key", authFunc(func() (*Principal, error) { return nil, &Refusal{Keyword: "token", Reason: "user_inactive"} }),
			IsAuthenticated, 401, Challenge, `{"detail":"User inactive or deleted."}`, false, false},
		{"bearer refused", authFunc(func() (*Principal, error) { return nil, &Refusal{Keyword: "Bearer", Reason: "credential_invalid"} }),
			IsAuthenticated, 401, ChallengeInvalid, bodyJWTInvalid, false, false},
		{"DOT's bearer refusal, anonymous denied", authFunc(func() (*Principal, error) {
			return nil, &Refusal{Keyword: "bearer", Reason: ReasonBearerRejected}
		}), IsAuthenticated, 401, ChallengeInvalid, bodyNotProvided, false, false},
		{"internal error", authFunc(func() (*Principal, error) { return nil, errBoom }), AllowAny, 503, "", bodyUnavailable, true, false},
		{"permission's internal error", authFunc(func() (*Principal, error) { return user, nil }),
			PermissionFunc(func(*http.Request, *Principal) (bool, error) { return false, errBoom }), 503, "", bodyUnavailable, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			ran := false
			h := New(c.auth, WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))).Require(c.perm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				if p := PrincipalFrom(r.Context()); p != nil && p != user {
					t.Errorf("handler saw %+v", p)
				}
				w.Write([]byte("ok"))
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			got := result{status: rec.Code, www: rec.Header().Get("WWW-Authenticate"), body: rec.Body.String()}
			expectResult(t, got, c.status, c.www, c.body)
			if ran != c.handlerRan {
				t.Fatalf("handler ran: %v", ran)
			}
			if c.status >= 400 && (rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store") {
				t.Fatalf("headers %v", rec.Header())
			}
			if c.status == 503 && rec.Header().Get("Retry-After") != "1" {
				t.Fatalf("503 without Retry-After")
			}
			if logged := strings.Contains(logs.String(), "boom"); logged != c.logged {
				t.Fatalf("logged %v: %s", logged, logs.String())
			}
		})
	}
}

type authFunc func() (*Principal, error)

func (f authFunc) Authenticate(*http.Request) (*Principal, error) { return f() }
