package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/internal/jsonstr"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// wireID is a user's id as DRF's views show it: the Django key the user
// was imported with when that is no integer (User.WireKey: a UUID, as the
// project's own views showed it), else the integer id.
type wireID struct {
	id  int64
	key string
}

func wireIDOf(u *gatehouse.User) wireID { return wireID{u.ID, u.WireKey()} }

func (w wireID) appendJSON(b []byte) []byte {
	if w.key != "" {
		return jsonstr.Append(b, w.key)
	}
	return strconv.AppendInt(b, w.id, 10)
}

func (w wireID) MarshalJSON() ([]byte, error) { return w.appendJSON(nil), nil }

// meOut is the user as /api/me/ shows it (that key order).
type meOut struct {
	ID        wireID `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
	Username  string `json:"username"`
}

func (m meOut) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = m.ID.appendJSON(b)
	b = append(b, `,"first_name":`...)
	b = jsonstr.Append(b, m.FirstName)
	b = append(b, `,"last_name":`...)
	b = jsonstr.Append(b, m.LastName)
	b = append(b, `,"email":`...)
	b = jsonstr.Append(b, m.Email)
	b = append(b, `,"username":`...)
	b = jsonstr.Append(b, m.Username)
	return append(b, '}')
}

// userOut is the user as /api/users/ shows it (that key order).
type userOut struct {
	ID        wireID `json:"id"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func toUserOut(u gatehouse.User) userOut {
	return userOut{ID: wireIDOf(&u), Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
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
		scope:   throttle.ScopeSignUp,
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
	// DRF's metadata calls a model's key by its serializer field: an
	// IntegerField's "integer", a UUIDField's "string". Under
	// new-user-key uuid the project's users are keyed by UUIDs.
	idType := "integer"
	if s.accounts != nil && s.accounts.NewUsersKeyed() {
		idType = "string"
	}
	return s.view(&apiView{
		name:        "User List Create",
		description: "create:\n    add users\nget:\n    Search or get users\n    You can search using:\n        :param email\n        :param username",
		perm:        permAuthenticated,
		methods:     map[string]handlerFunc{"GET": (*Server).listUsers, "POST": (*Server).createUserView},
		actions: fields(
			"id", fieldMeta{Type: idType, ReadOnly: true, Label: "ID"},
			"username", metaUsername,
			"email", fieldMeta{Type: "email", Label: "Email address", MaxLength: gatehouse.MaxEmail},
			"first_name", fieldMeta{Type: "string", Label: "First name", MaxLength: gatehouse.MaxName},
			"last_name", fieldMeta{Type: "string", Label: "Last name", MaxLength: gatehouse.MaxName},
			"password", metaPassword,
		),
	})
}

func (s *Server) me(c *call) *apiError {
	u := c.user.User
	c.respond(http.StatusOK, meOut{ID: wireIDOf(&u), FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Username: u.Username})
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
			errs.add(name, msgRequired)
			return "", false
		}
		return "", true
	case fieldNull:
		errs.add(name, msgNull)
		return "", false
	case fieldInvalid:
		if name == accounts.FieldEmail {
			errs.add(name, msgInvalidEmail) // DRF's EmailField words its "invalid" so
		} else {
			errs.add(name, "Not a valid string.")
		}
		return "", false
	}
	// Django decodes form bodies with replacement characters; JSON bodies
	// are valid UTF-8 already.
	v = strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))
	if v == "" {
		if !allowBlank {
			errs.add(name, msgBlank)
			return "", false
		}
		return "", true
	}
	ok := true
	if max > 0 && gatehouse.Length(v) > max {
		errs.add(name, msgMaxLength(max))
		ok = false
	}
	return v, charValidators(p, errs, name, v) && ok
}

// charValidators runs the validators every DRF CharField has, after its
// own: no NUL character, no lone UTF-16 surrogate (a JSON body's \uD800).
func charValidators(p *payload, errs *fieldErrors, name, v string) bool {
	ok := true
	if strings.ContainsRune(v, 0) {
		errs.add(name, msgNullCharacters) // DRF's ProhibitNullCharactersValidator
		ok = false
	}
	if r, bad := p.surrogate(name); bad {
		errs.add(name, fmt.Sprintf("Surrogate characters are not allowed: U+%X.", r)) // ProhibitSurrogateCharactersValidator
		ok = false
	}
	return ok
}

// createFromRequest validates a sign-up or user-creation body and creates
// the user with a default DRF token. full also reads email and names. The
// wire rules of DRF's CharField (type, blank, length) are checked here; the
// rules of a user (accounts.Validate) for the fields that passed them, so
// that one response lists every problem in field order, as DRF's does.
func (s *Server) createFromRequest(c *call, full bool) (gatehouse.User, *apiError) {
	p, e := c.data()
	if e != nil {
		return gatehouse.User{}, e
	}
	ctx := c.r.Context()
	parse := &fieldErrors{}
	var n accounts.NewUser
	var bad []string
	read := func(name string, required, allowBlank bool, max int) string {
		v, ok := charField(p, parse, name, required, allowBlank, max)
		if !ok {
			bad = append(bad, name)
		}
		return v
	}
	n.Username = read(accounts.FieldUsername, true, false, gatehouse.MaxUsername)
	order := []string{accounts.FieldUsername}
	if full {
		n.Email = read(accounts.FieldEmail, false, true, gatehouse.MaxEmail)
		n.FirstName = read(accounts.FieldFirstName, false, true, gatehouse.MaxName)
		n.LastName = read(accounts.FieldLastName, false, true, gatehouse.MaxName)
		order = append(order, accounts.FieldEmail, accounts.FieldFirstName, accounts.FieldLastName)
	}
	n.Password = read(accounts.FieldPassword, true, false, gatehouse.MaxPassword)
	order = append(order, accounts.FieldPassword)
	if len(bad) > 0 {
		more, err := s.accounts.Validate(ctx, n, bad...)
		if err != nil {
			return gatehouse.User{}, s.internal(c, err)
		}
		return gatehouse.User{}, badRequest(mergeFieldErrors(order, parse, more))
	}
	u, err := s.accounts.Create(ctx, n)
	if err != nil {
		return gatehouse.User{}, s.internal(c, err)
	}
	return u, nil
}
