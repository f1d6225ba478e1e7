package server

import (
	"errors"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Beyond DRF: several named tokens per user (one per device), each with an
// optional expiry, listed without their keys and revocable one by one.

type tokenOut struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Prefix   string     `json:"prefix"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
	Expires  *time.Time `json:"expires"`
	Current  bool       `json:"current"`
}

type tokenCreated struct {
	ID      int64      `json:"id"`
	Name    string     `json:"name"`
	Key     string     `json:"key"`
	Prefix  string     `json:"prefix"`
	Created time.Time  `json:"created"`
	Expires *time.Time `json:"expires"`
}

// maxTokenName bounds a token's name.
const maxTokenName = accounts.MaxTokenName

// tokenListView is /api/tokens/{$}.
func (s *Server) tokenListView() http.Handler {
	return s.view(&apiView{
		name:    "Token List Create",
		perm:    permAuthenticated,
		methods: map[string]handlerFunc{"GET": (*Server).listTokens, "POST": (*Server).createToken},
		actions: fields(
			"name", fieldMeta{Type: "string", Required: true, Label: "Name", MaxLength: maxTokenName},
			"expires_in", fieldMeta{Type: "integer", Label: "Expires in (seconds)"},
		),
	})
}

// tokenDetailView is /api/tokens/{id}/{$}.
func (s *Server) tokenDetailView() http.Handler {
	return s.view(&apiView{
		name:    "Token Detail",
		perm:    permAuthenticated,
		methods: map[string]handlerFunc{"DELETE": (*Server).deleteToken},
	})
}

// logoutView is /api/tokens/logout/{$}.
func (s *Server) logoutView() http.Handler {
	return s.view(&apiView{
		name:    "Logout",
		perm:    permAuthenticated,
		methods: map[string]handlerFunc{"POST": (*Server).logout},
	})
}

// logoutAllView is /api/tokens/logoutall/{$}.
func (s *Server) logoutAllView() http.Handler {
	return s.view(&apiView{
		name:    "Logout All",
		perm:    permAuthenticated,
		methods: map[string]handlerFunc{"POST": (*Server).logoutAll},
	})
}

func (s *Server) listTokens(c *call) *apiError {
	toks, err := s.accounts.Tokens(c.r.Context(), c.user.User.ID)
	if err != nil {
		return s.internal(c, err)
	}
	out := make([]tokenOut, 0, len(toks))
	for _, t := range toks {
		out = append(out, tokenOut{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: t.Created, LastUsed: t.LastUsed,
			Expires: t.Expires, Current: c.user.Scheme == gatehouse.SchemeToken && c.user.TokenID == t.ID})
	}
	c.respond(http.StatusOK, out)
	return nil
}

func (s *Server) createToken(c *call) *apiError {
	p, e := c.data()
	if e != nil {
		return e
	}
	errs := &fieldErrors{}
	name, _ := charField(p, errs, "name", true, false, maxTokenName)
	var lifetime time.Duration
	if v, st := p.str("expires_in"); st == fieldString && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 10*366*24*3600 {
			errs.add("expires_in", "Ensure this value is a whole number of seconds between 1 and 316224000.")
		} else {
			lifetime = time.Duration(n) * time.Second
		}
	} else if st == fieldInvalid {
		errs.add("expires_in", "A valid integer is required.")
	}
	if !errs.empty() {
		return badRequest(errs)
	}
	// Made only while the credential of the request stands as stored now:
	// another replica may have ended it within this one's cache window.
	from := gatehouse.TokenOrigin{Issued: c.user.Issued}
	if c.user.Scheme == gatehouse.SchemeToken {
		from.DRFTokenID = c.user.TokenID
	}
	key, tok, err := s.accounts.CreateToken(c.r.Context(), c.user.User.ID, name, lifetime, &from)
	if err != nil {
		// A credential ended meanwhile is refused in its scheme's words.
		return s.fail(c.w, c.r, failure{shape: shapeDRF, scheme: c.user.Scheme}, err)
	}
	c.noStore()
	c.respond(http.StatusCreated, tokenCreated{ID: tok.ID, Name: tok.Name, Key: key, Prefix: tok.Prefix, Created: tok.Created, Expires: tok.Expires})
	return nil
}

func noContent(c *call) *apiError {
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteToken(c *call) *apiError {
	id, err := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	if err != nil {
		return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Not found."}}
	}
	if err := s.accounts.DeleteToken(c.r.Context(), c.user.User.ID, id); err != nil {
		return s.internal(c, err)
	}
	return noContent(c)
}

// logout revokes the DRF token the request was made with.
func (s *Server) logout(c *call) *apiError {
	if c.user.Scheme != gatehouse.SchemeToken {
		return &apiError{status: http.StatusBadRequest, body: detailOnly{Detail: "This request was not made with a DRF token."}}
	}
	err := s.accounts.DeleteToken(c.r.Context(), c.user.User.ID, c.user.TokenID)
	if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
		return s.internal(c, err)
	}
	return noContent(c)
}

// logoutAll ends every credential of the caller (accounts.LogOutEverywhere).
func (s *Server) logoutAll(c *call) *apiError {
	if err := s.accounts.LogOutEverywhere(c.r.Context(), c.user.User.ID); err != nil {
		return s.internal(c, err)
	}
	return noContent(c)
}
