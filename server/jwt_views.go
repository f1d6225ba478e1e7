package server

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// simplejwt's views: no authentication classes, AllowAny, and every 401
// carries `WWW-Authenticate: Bearer realm="api"`.

// jwtObtainView is /access-token/{$}.
func (s *Server) jwtObtainView() http.Handler {
	return s.view(&apiView{
		name:        "Token Obtain Pair",
		description: "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
		noAuth:      true,
		scope:       throttle.ScopeLogin,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtObtain},
		actions: fields(
			s.cfg.UsernameField, fieldMeta{Type: "string", Required: true, Label: fieldLabel(s.cfg.UsernameField)},
			"password", fieldMeta{Type: "string", Required: true, Label: "Password"},
		),
	})
}

// fieldLabel is a field's label as DRF derives one from a model field's
// name: underscores as spaces, the first letter capitalised.
func fieldLabel(name string) string {
	l := strings.ReplaceAll(name, "_", " ")
	if l == "" {
		return l
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// jwtRefreshView is /access-token/refresh/{$}.
func (s *Server) jwtRefreshView() http.Handler {
	return s.view(&apiView{
		name:        "Token Refresh",
		description: "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtRefresh},
		actions: fields(
			"refresh", fieldMeta{Type: "string", Required: true, Label: "Refresh"},
			"access", fieldMeta{Type: "string", ReadOnly: true, Label: "Access"},
		),
	})
}

// jwtVerifyView is /access-token/verify/{$}.
func (s *Server) jwtVerifyView() http.Handler {
	return s.view(&apiView{
		name:        "Token Verify",
		description: "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtVerify},
		actions:     fields("token", fieldMeta{Type: "string", Required: true, Label: "Token"}),
	})
}

// jwtBlacklistView is /access-token/blacklist/{$}.
func (s *Server) jwtBlacklistView() http.Handler {
	return s.view(&apiView{
		name:        "Token Blacklist",
		description: "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtBlacklist},
		actions:     fields("refresh", fieldMeta{Type: "string", Required: true, Label: "Refresh"}),
	})
}

func (s *Server) jwtObtain(c *call) *apiError {
	u, e := s.login(c, gatehouse.LoginSimpleJWT, s.cfg.UsernameField, true, func() *apiError {
		c.w.Header().Set("WWW-Authenticate", bearerRealm)
		return unauthorized("No active account found with the given credentials")
	})
	if e != nil {
		return e
	}
	refresh, access, err := s.pairs.Obtain(c.r.Context(), &u)
	if err != nil {
		return s.internal(c, err)
	}
	c.noStore()
	c.respond(http.StatusOK, struct {
		Refresh string `json:"refresh"`
		Access  string `json:"access"`
	}{refresh, access})
	return nil
}

// tokenField reads a required, non-blank token field (not trimmed).
func tokenField(p *payload, name string) (string, *apiError) {
	errs := &fieldErrors{}
	v, _ := charField(p, errs, name, true, false, 0)
	if !errs.empty() {
		return "", badRequest(errs)
	}
	return v, nil
}

// jwtInput reads the one token field of a simplejwt view's body.
func jwtInput(c *call, name string) (string, *apiError) {
	p, e := c.data()
	if e != nil {
		return "", e
	}
	return tokenField(p, name)
}

func (s *Server) jwtRefresh(c *call) *apiError {
	raw, e := jwtInput(c, "refresh")
	if e != nil {
		return e
	}
	access, refresh, err := s.pairs.Refresh(c.r.Context(), raw)
	if err != nil {
		return s.jwtFail(c, err)
	}
	c.noStore()
	if refresh == "" {
		c.respond(http.StatusOK, struct {
			Access string `json:"access"`
		}{access})
		return nil
	}
	c.respond(http.StatusOK, struct {
		Access  string `json:"access"`
		Refresh string `json:"refresh"`
	}{access, refresh})
	return nil
}

func (s *Server) jwtVerify(c *call) *apiError {
	raw, e := jwtInput(c, "token")
	if e != nil {
		return e
	}
	if err := s.pairs.Verify(c.r.Context(), raw); err != nil {
		return s.jwtFail(c, err)
	}
	c.respond(http.StatusOK, struct{}{})
	return nil
}

func (s *Server) jwtBlacklist(c *call) *apiError {
	raw, e := jwtInput(c, "refresh")
	if e != nil {
		return e
	}
	if err := s.pairs.Blacklist(c.r.Context(), raw); err != nil {
		return s.jwtFail(c, err)
	}
	c.respond(http.StatusOK, struct{}{})
	return nil
}
