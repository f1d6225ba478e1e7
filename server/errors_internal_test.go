package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
)

// fail maps each kind of error to the exact response of each wire shape,
// logs internal errors (never showing them) and logs a replay.
func TestFail(t *testing.T) {
	internalErr := errors.New("db: connection reset (secret detail)")
	reused := &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: simplejwt.ReasonBlacklisted, Err: gatehouse.ErrTokenReused}
	fields := gatehouse.Invalid(gatehouse.FieldError{Field: "username", Code: gatehouse.FieldUnique},
		gatehouse.FieldError{Field: "password", Code: gatehouse.FieldPassword, Message: "This password is too common."})
	authz := &oauth.AuthorizeRequest{RedirectURI: "https://client.example/cb", State: "s1"}
	cases := []struct {
		name   string
		f      failure
		err    error
		status int
		body   string
		header string // a header that must be set, "Name: value"
		logged string // a log message that must appear
	}{
		{"DRF internal", failure{shape: shapeDRF}, internalErr, 500, `{"detail":"A server error occurred."}`, "", "internal error"},
		{"DRF fields", failure{shape: shapeDRF}, fields, 400,
			`{"username":["A user with that username already exists."],"password":["This password is too common."]}`, "", ""},
		{"DRF not found", failure{shape: shapeDRF}, gatehouse.ErrNotFound, 404, `{"detail":"Not found."}`, "", ""},
		{"DRF conflict", failure{shape: shapeDRF}, gatehouse.Errorf(gatehouse.ECONFLICT, "client id \"x\" is taken"), 409,
			`{"detail":"client id \"x\" is taken"}`, "", ""},
		{"DRF forbidden", failure{shape: shapeDRF}, gatehouse.Errorf(gatehouse.EFORBIDDEN, "no"), 403,
			`{"detail":"You do not have permission to perform this action."}`, "", ""},
		{"DRF throttled", failure{shape: shapeDRF}, gatehouse.Throttled(gatehouse.ReasonRate, 2500*time.Millisecond), 429,
			`{"detail":"Request was throttled. Expected available in 3 seconds."}`, "Retry-After: 3", ""},
		{"DRF throttled under a second", failure{shape: shapeDRF}, gatehouse.Throttled(gatehouse.ReasonLocked, time.Millisecond), 429,
			`{"detail":"Request was throttled. Expected available in 1 second."}`, "Retry-After: 1", ""},
		{"simplejwt throttled", failure{shape: shapeJWT}, gatehouse.Throttled(gatehouse.ReasonRate, 59*time.Second), 429,
			`{"detail":"Request was throttled. Expected available in 59 seconds."}`, "Retry-After: 59", ""},
		{"OAuth throttled", failure{shape: shapeOAuth}, gatehouse.Throttled(gatehouse.ReasonLocked, time.Hour), 429,
			`{"error": "temporarily_unavailable", "error_description": "Request was throttled. Expected available in 3600 seconds."}`, "Retry-After: 3600", ""},
		{"page throttled", failure{shape: shapeHTML}, gatehouse.Throttled(gatehouse.ReasonRate, 4*time.Second), 429,
			"Too many attempts. Try again in 4 seconds.", "Retry-After: 4", ""},
		{"DRF token refused", failure{shape: shapeDRF, scheme: gatehouse.SchemeToken}, gatehouse.Unauthorized(gatehouse.ReasonUserInactive),
			401, `{"detail":"User inactive or deleted."}`, "", ""},
		{"DRF JWT bad header", failure{shape: shapeDRF, scheme: gatehouse.SchemeJWT}, gatehouse.Unauthorized(gatehouse.ReasonBadHeader),
			401, `{"detail":"Authorization header must contain two space-delimited values","code":"bad_authorization_header"}`, "", ""},
		{"DRF CSRF", failure{shape: shapeDRF, scheme: gatehouse.SchemeSession},
			&gatehouse.Error{Code: gatehouse.EFORBIDDEN, Reason: gatehouse.ReasonCSRF}, 403,
			`{"detail":"CSRF Failed: CSRF token missing or incorrect."}`, "", ""},
		{"simplejwt blacklisted", failure{shape: shapeJWT}, gatehouse.Unauthorized(simplejwt.ReasonBlacklisted), 401,
			`{"detail":"Token is blacklisted","code":"token_not_valid"}`, `Www-Authenticate: Bearer realm="api"`, ""},
		{"simplejwt reuse is logged", failure{shape: shapeJWT}, reused, 401,
			`{"detail":"Token is blacklisted","code":"token_not_valid"}`, "", "replayed"},
		{"simplejwt internal", failure{shape: shapeJWT}, internalErr, 500, `{"detail":"A server error occurred."}`, "", "internal error"},
		{"OAuth error", failure{shape: shapeOAuth}, oauth.ErrInvalidClient, 401, `{"error": "invalid_client"}`,
			`Www-Authenticate: Bearer error="invalid_client"`, ""},
		{"OAuth replay", failure{shape: shapeOAuth}, &oauth.Error{Code: "invalid_grant", Status: 400, Cause: gatehouse.ErrTokenReused}, 400,
			`{"error": "invalid_grant"}`, "Cache-Control: no-store", "replayed"},
		{"OAuth forbidden introspection", failure{shape: shapeOAuth}, oauth.ErrIntrospectionForbidden, 403, "", "", ""},
		{"OAuth internal", failure{shape: shapeOAuth}, internalErr, 500, `{"error": "server_error"}`, "", "internal error"},
		{"authorize before redirect", failure{shape: shapeAuthorize}, oauth.ErrInvalidRequest("Missing redirect URI."), 400,
			"Missing redirect URI.", "", ""},
		{"authorize after redirect", failure{shape: shapeAuthorize, authorize: authz}, oauth.ErrUnsupportedResponseType, 302, "",
			"Location: https://client.example/cb?error=unsupported_response_type&state=s1", ""},
		{"authorize internal", failure{shape: shapeAuthorize, authorize: authz}, internalErr, 500, "Server Error (500)", "", "internal error"},
		{"HTML internal", failure{shape: shapeHTML}, internalErr, 500, "Server Error (500)", "", "internal error"},
		{"document internal", failure{shape: shapeDocument}, internalErr, 500, `{"detail":"A server error occurred."}`, "", "internal error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/x", nil)
			status, body := 0, ""
			if e := s.fail(w, r, c.f, c.err); e != nil {
				b, _ := marshal(e.body)
				status, body = e.status, string(b)
			} else {
				status, body = w.Code, w.Body.String()
			}
			if status != c.status || (c.body != "" && !strings.Contains(body, c.body)) || (c.body == "" && body != "") {
				t.Fatalf("got %d %q, want %d %q", status, body, c.status, c.body)
			}
			if strings.Contains(body, "secret detail") || strings.Contains(body, "connection reset") {
				t.Fatalf("an internal error reached the body: %s", body)
			}
			if c.header != "" {
				name, value, _ := strings.Cut(c.header, ": ")
				if got := w.Header().Get(name); got != value {
					t.Fatalf("%s = %q, want %q", name, got, value)
				}
			}
			if c.logged != "" && !strings.Contains(logs.String(), c.logged) {
				t.Fatalf("log %q lacks %q", logs.String(), c.logged)
			}
			if c.logged == "" && logs.Len() > 0 {
				t.Fatalf("an expected refusal was logged: %s", logs.String())
			}
		})
	}
}

// A request whose client went away is logged at debug level as 499 and
// answered with nothing, on every shape.
func TestFailClientGone(t *testing.T) {
	for _, shape := range []wireShape{shapeDRF, shapeJWT, shapeOAuth, shapeAuthorize, shapeHTML, shapeDocument} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			var logs bytes.Buffer
			s := &Server{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
			w := httptest.NewRecorder()
			status := 0
			if e := s.fail(w, r, failure{shape: shape, authorize: &oauth.AuthorizeRequest{RedirectURI: "https://c.example/"}}, fmt.Errorf("query: %w", context.Canceled)); e != nil {
				status = e.status
			} else {
				status = w.Code
			}
			if status != statusClientClosed || !strings.Contains(logs.String(), "level=DEBUG") || strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("status %d, logs %s", status, logs.String())
			}
		})
	}
}
