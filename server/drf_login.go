package server

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// credentials reads username and password as DRF's AuthTokenSerializer
// and simplejwt's serializer do: the username is trimmed; the password is
// trimmed only when trimPassword.
func credentials(p *payload, usernameField string, trimPassword bool) (string, string, *apiError) {
	errs := &fieldErrors{}
	username, _ := charField(p, errs, usernameField, true, false, 0)
	var pw string
	if trimPassword {
		pw, _ = charField(p, errs, "password", true, false, 0)
	} else {
		v, st := p.str("password")
		switch st {
		case fieldMissing:
			errs.add("password", msgRequired)
		case fieldNull:
			errs.add("password", msgNull)
		case fieldInvalid:
			errs.add("password", "Not a valid string.")
		default:
			if v == "" {
				errs.add("password", msgBlank)
			} else {
				charValidators(p, errs, "password", v)
			}
			pw = v
		}
	}
	if !errs.empty() {
		return "", "", badRequest(errs)
	}
	return username, pw, nil
}

// login reads the username (from the field usernameField) and password
// from the body and checks them (via names the endpoint in the audit log);
// a failure answers refused(), the endpoint's own error.
func (s *Server) login(c *call, via gatehouse.LoginVia, usernameField string, trimPassword bool, refused func() *apiError) (gatehouse.User, *apiError) {
	p, e := c.data()
	if e != nil {
		return gatehouse.User{}, e
	}
	username, pw, e := credentials(p, usernameField, trimPassword)
	if e != nil {
		return gatehouse.User{}, e
	}
	u, ok, err := s.accounts.CheckPassword(c.r.Context(), via, username, pw)
	if err != nil {
		return u, s.internal(c, err)
	}
	if !ok {
		return u, refused()
	}
	setLogUser(c.r, u.ID)
	return u, nil
}

var tokenAuthActions = fields(
	"username", fieldMeta{Type: "string", Required: true, Label: "Username"},
	"password", fieldMeta{Type: "string", Required: true, Label: "Password"},
	"token", fieldMeta{Type: "string", ReadOnly: true, Label: "Token"},
)

func (s *Server) obtainTokenView(custom bool) http.Handler {
	name := "Obtain Auth Token"
	if custom {
		name = "Custom Auth Token"
	}
	return s.view(&apiView{
		name:    name,
		perm:    permAny,
		scope:   throttle.ScopeLogin,
		renders: []string{"application/json"},
		parses:  []string{"application/x-www-form-urlencoded", "multipart/form-data", "application/json"},
		actions: tokenAuthActions,
		methods: map[string]handlerFunc{"POST": func(s *Server, c *call) *apiError { return s.obtainToken(c, custom) }},
	})
}

// obtainToken is DRF's obtain_auth_token: the user's one default key, the
// same on every login.
func (s *Server) obtainToken(c *call, custom bool) *apiError {
	u, e := s.login(c, gatehouse.LoginDRFToken, "username", false, func() *apiError { return nonField("Unable to log in with provided credentials.") })
	if e != nil {
		return e
	}
	ctx := c.r.Context()
	key, err := s.accounts.DefaultKey(ctx, u.ID)
	if err != nil {
		return s.internal(c, err)
	}
	c.noStore()
	if custom {
		c.respond(http.StatusOK, struct {
			Token    string `json:"token"`
			Username string `json:"username"`
			Email    string `json:"email"`
		}{key, u.Username, u.Email})
		return nil
	}
	c.respond(http.StatusOK, struct {
		Token string `json:"token"`
	}{key})
	return nil
}
