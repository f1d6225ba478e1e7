package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
)

// checkPassword authenticates username and password as Django's
// ModelBackend does: an unknown user costs one hash like a wrong password,
// inactive users never authenticate, and a correct password stored with an
// older algorithm or weaker parameters is rehashed, unless other password
// hashes are queued for the CPUs: then the rehash is left to a later login
// (hashSlots.idle), so that a wave of first logins after a migration runs at
// the rate of one hash each.
func (s *Server) checkPassword(ctx context.Context, username, pw string) (gatehouse.User, bool, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return u, false, s.hashing.do(ctx, func() { s.hasher.Dummy(pw) })
	}
	if err != nil {
		return u, false, err
	}
	var ok, rehash bool
	s.hashing.need(password.Memory(u.Password))
	if err := s.hashing.do(ctx, func() { ok, rehash = s.hasher.Verify(pw, u.Password) }); err != nil {
		return u, false, err
	}
	if !ok || !u.IsActive {
		return u, false, nil
	}
	if rehash {
		var h string
		var err error
		if s.hashing.idle(func() { h, err = s.hasher.Hash(pw) }) && err == nil {
			if err := s.store.SetPasswordHash(ctx, u.ID, u.Password, h); err != nil {
				s.log.Warn("rehashing password", "user_id", u.ID, "err", err)
			} else {
				u.Password = h
			}
		}
	}
	return u, true, nil
}

// credentials reads username and password as DRF's AuthTokenSerializer
// and simplejwt's serializer do: the username is trimmed; the password is
// trimmed only when trimPassword.
func credentials(p *payload, trimPassword bool) (string, string, *apiError) {
	errs := &fieldErrors{}
	username, _ := charField(p, errs, "username", true, false, 0)
	var pw string
	if trimPassword {
		pw, _ = charField(p, errs, "password", true, false, 0)
	} else {
		v, st := p.str("password")
		switch st {
		case fieldMissing:
			errs.add("password", gatehouse.MsgRequired)
		case fieldNull:
			errs.add("password", gatehouse.MsgNull)
		case fieldInvalid:
			errs.add("password", "Not a valid string.")
		default:
			if v == "" {
				errs.add("password", gatehouse.MsgBlank)
			}
			pw = v
		}
	}
	if !errs.empty() {
		return "", "", badRequest(errs)
	}
	return username, pw, nil
}

// login reads username and password from the body and checks them; a
// failure answers refused(), the endpoint's own error.
func (s *Server) login(c *call, trimPassword bool, refused func() *apiError) (gatehouse.User, *apiError) {
	p, e := c.data()
	if e != nil {
		return gatehouse.User{}, e
	}
	username, pw, e := credentials(p, trimPassword)
	if e != nil {
		return gatehouse.User{}, e
	}
	u, ok, err := s.checkPassword(c.r.Context(), username, pw)
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
		renders: []string{"application/json"},
		parses:  []string{"application/x-www-form-urlencoded", "multipart/form-data", "application/json"},
		actions: tokenAuthActions,
		methods: map[string]handlerFunc{"POST": func(s *Server, c *call) *apiError { return s.obtainToken(c, custom) }},
	})
}

// obtainToken is DRF's obtain_auth_token: the user's one default key, the
// same on every login.
func (s *Server) obtainToken(c *call, custom bool) *apiError {
	u, e := s.login(c, false, func() *apiError { return nonField("Unable to log in with provided credentials.") })
	if e != nil {
		return e
	}
	ctx := c.r.Context()
	key, err := s.defaultKey(ctx, u.ID)
	if err != nil {
		return s.internal(c, err)
	}
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

// defaultKey returns the user's default DRF key, creating one when the user
// has none (after a logout-all or a password change), as get_or_create does.
func (s *Server) defaultKey(ctx context.Context, userID int64) (string, error) {
	for attempt := 0; attempt < 2; attempt++ {
		t, err := s.store.DefaultToken(ctx, userID)
		if err == nil && t.Sealed != nil {
			key, err := s.box.Open(t.Sealed)
			if err != nil {
				return "", err
			}
			return string(key), nil
		}
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return "", err
		}
		tok, key, err := s.newToken("", true, nil)
		if err != nil {
			return "", err
		}
		tok.UserID = userID
		err = s.store.CreateToken(ctx, &tok)
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, gatehouse.ErrConflict) {
			return "", err
		}
		// Another request created it first: read that one.
	}
	return "", errors.New("default token: lost the race twice")
}
