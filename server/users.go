package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// userOut is the user as /api/me/ shows it (that key order).
type meOut struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Username  string `json:"username"`
}

func (m meOut) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, `,"first_name":`...)
	b = appendString(b, m.FirstName)
	b = append(b, `,"last_name":`...)
	b = appendString(b, m.LastName)
	b = append(b, `,"email":`...)
	b = appendString(b, m.Email)
	b = append(b, `,"username":`...)
	b = appendString(b, m.Username)
	return append(b, '}')
}

// userOut is the user as /api/users/ shows it (that key order).
type userOut struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func toUserOut(u gatehouse.User) userOut {
	return userOut{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
}

var (
	metaUsername = fieldMeta{Type: "string", Required: true, Label: "Username", MaxLength: gatehouse.MaxUsername,
		HelpText: "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."}
	metaPassword = fieldMeta{Type: "string", Required: true, Label: "Password", MaxLength: gatehouse.MaxPassword}
)

func (s *Server) signUpView() http.Handler {
	return s.view(&apiView{
		name:    "Sign Up",
		perm:    permAuthenticatedOrCreate,
		methods: map[string]handlerFunc{"POST": (*Server).signUp},
		actions: fields("username", metaUsername, "password", metaPassword),
	})
}

func (s *Server) meView() http.Handler {
	return s.view(&apiView{
		name:        "User Detail",
		description: "Use this endpoint to retrieve user.",
		perm:        permAuthenticated,
		methods:     map[string]handlerFunc{"GET": (*Server).me},
	})
}

func (s *Server) usersView() http.Handler {
	return s.view(&apiView{
		name:        "User List Create",
		description: "create:\n    add users\nget:\n    Search or get users\n    You can search using:\n        :param email\n        :param username",
		perm:        permAuthenticated,
		methods:     map[string]handlerFunc{"GET": (*Server).listUsers, "POST": (*Server).createUserView},
		actions: fields(
			"id", fieldMeta{Type: "integer", ReadOnly: true, Label: "ID"},
			"username", metaUsername,
			"email", fieldMeta{Type: "email", Label: "Email address", MaxLength: gatehouse.MaxEmail},
			"first_name", fieldMeta{Type: "string", Label: "First name", MaxLength: gatehouse.MaxName},
			"last_name", fieldMeta{Type: "string", Label: "Last name", MaxLength: gatehouse.MaxName},
			"password", metaPassword,
		),
	})
}

func (s *Server) me(c *call) *apiError {
	u := c.user.user
	c.respond(http.StatusOK, meOut{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Username: u.Username})
	return nil
}

func (s *Server) signUp(c *call) *apiError {
	u, e := s.createFromRequest(c, false)
	if e != nil {
		return e
	}
	c.respond(http.StatusCreated, struct {
		Username string `json:"username"`
	}{u.Username})
	return nil
}

func (s *Server) createUserView(c *call) *apiError {
	u, e := s.createFromRequest(c, true)
	if e != nil {
		return e
	}
	c.respond(http.StatusCreated, toUserOut(u))
	return nil
}

// charField applies DRF's CharField rules (trimmed, required, not null, not
// blank unless allowBlank, at most max characters) and records errors.
func charField(p *payload, errs *fieldErrors, name string, required, allowBlank bool, max int) (string, bool) {
	v, st := p.str(name)
	switch st {
	case fieldMissing:
		if required {
			errs.add(name, gatehouse.MsgRequired)
			return "", false
		}
		return "", true
	case fieldNull:
		errs.add(name, gatehouse.MsgNull)
		return "", false
	case fieldInvalid:
		errs.add(name, "Not a valid string.")
		return "", false
	}
	v = strings.TrimSpace(v)
	if v == "" {
		if !allowBlank {
			errs.add(name, gatehouse.MsgBlank)
			return "", false
		}
		return "", true
	}
	if max > 0 && gatehouse.Length(v) > max {
		errs.add(name, gatehouse.MsgMaxLength(max))
		return v, false
	}
	return v, true
}

// createFromRequest validates a sign-up or user-creation body and creates
// the user with a default DRF token. full also reads email and names.
func (s *Server) createFromRequest(c *call, full bool) (gatehouse.User, *apiError) {
	p, e := c.data()
	if e != nil {
		return gatehouse.User{}, e
	}
	ctx := c.r.Context()
	errs := &fieldErrors{}
	username, okU := charField(p, errs, "username", true, false, gatehouse.MaxUsername)
	if okU {
		if !gatehouse.ValidUsername(username) {
			errs.add("username", gatehouse.MsgInvalidUsername)
		} else if _, err := s.store.UserByUsername(ctx, username); err == nil {
			errs.add("username", gatehouse.MsgUsernameTaken)
		} else if !errors.Is(err, gatehouse.ErrNotFound) {
			return gatehouse.User{}, s.internal(c, err)
		}
	}
	u := gatehouse.User{Username: username, IsActive: true}
	if full {
		if email, ok := charField(p, errs, "email", false, true, gatehouse.MaxEmail); ok && email != "" && !gatehouse.ValidEmail(email) {
			errs.add("email", gatehouse.MsgInvalidEmail)
		} else {
			u.Email = email
		}
		u.FirstName, _ = charField(p, errs, "first_name", false, true, gatehouse.MaxName)
		u.LastName, _ = charField(p, errs, "last_name", false, true, gatehouse.MaxName)
	}
	pw, okP := charField(p, errs, "password", true, false, gatehouse.MaxPassword)
	if okP && errs.empty() {
		for _, msg := range s.cfg.PasswordPolicy.Validate(pw, password.Attrs{Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}) {
			errs.add("password", msg)
		}
	}
	if !errs.empty() {
		return gatehouse.User{}, badRequest(errs)
	}
	var hash string
	var err error
	if werr := s.hashing.do(ctx, func() { hash, err = s.hasher.Hash(pw) }); werr != nil {
		err = werr
	}
	if err != nil {
		return gatehouse.User{}, s.internal(c, err)
	}
	u.Password = hash
	u.DateJoined = s.now()
	if err := s.CreateUser(ctx, &u); err != nil {
		if errors.Is(err, gatehouse.ErrConflict) {
			errs.add("username", gatehouse.MsgUsernameTaken)
			return gatehouse.User{}, badRequest(errs)
		}
		return gatehouse.User{}, s.internal(c, err)
	}
	return u, nil
}

// CreateUser stores a new user together with its default DRF token, as
// DRF's post_save signal does. u.Password must already be a hash.
func (s *Server) CreateUser(ctx context.Context, u *gatehouse.User) error {
	tok, _, err := s.newToken("", true, nil)
	if err != nil {
		return err
	}
	return s.store.CreateUser(ctx, u, &tok)
}

// newToken makes a DRF key and its stored form. The default token's key is
// also sealed so that logins can return it again.
func (s *Server) newToken(name string, isDefault bool, expires *time.Time) (gatehouse.Token, string, error) {
	key, err := secret.Hex(s.random, 20)
	if err != nil {
		return gatehouse.Token{}, "", err
	}
	t := gatehouse.Token{Hash: secret.Hash(key), Prefix: fixture.Prefix(key), Name: name, IsDefault: isDefault, Created: s.now()}
	if expires != nil {
		e := *expires
		t.Expires = &e
	}
	if isDefault {
		if t.Sealed, err = s.box.Seal([]byte(key)); err != nil {
			return gatehouse.Token{}, "", err
		}
	}
	return t, key, nil
}
