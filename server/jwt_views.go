package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
)

// simplejwt's views: no authentication classes, AllowAny, and every 401
// carries `WWW-Authenticate: Bearer realm="api"`.

func (s *Server) jwtRoutes(mux *http.ServeMux) {
	if s.jwt == nil {
		return
	}
	mux.Handle("/access-token/{$}", s.view(&apiView{
		name:        "Token Obtain Pair",
		description: "Takes a set of user credentials and returns an access and refresh JSON web\ntoken pair to prove the authentication of those credentials.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtObtain},
		actions: fields(
			"username", fieldMeta{Type: "string", Required: true, Label: "Username"},
			"password", fieldMeta{Type: "string", Required: true, Label: "Password"},
		),
	}))
	mux.Handle("/access-token/refresh/{$}", s.view(&apiView{
		name:        "Token Refresh",
		description: "Takes a refresh type JSON web token and returns an access type JSON web\ntoken if the refresh token is valid.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtRefresh},
		actions: fields(
			"refresh", fieldMeta{Type: "string", Required: true, Label: "Refresh"},
			"access", fieldMeta{Type: "string", ReadOnly: true, Label: "Access"},
		),
	}))
	mux.Handle("/access-token/verify/{$}", s.view(&apiView{
		name:        "Token Verify",
		description: "Takes a token and indicates if it is valid.  This view provides no\ninformation about a token's fitness for a particular use.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtVerify},
		actions:     fields("token", fieldMeta{Type: "string", Required: true, Label: "Token"}),
	}))
	mux.Handle("/access-token/blacklist/{$}", s.view(&apiView{
		name:        "Token Blacklist",
		description: "Takes a token and blacklists it. Must be used with the\n`rest_framework_simplejwt.token_blacklist` app installed.",
		noAuth:      true,
		methods:     map[string]handlerFunc{"POST": (*Server).jwtBlacklist},
		actions:     fields("refresh", fieldMeta{Type: "string", Required: true, Label: "Refresh"}),
	}))
	mux.HandleFunc("/.well-known/jwks.json", s.jwks)
}

// jwtFail is simplejwt's 401 for a token it refuses.
func (c *call) jwtFail(detail string) *apiError {
	c.w.Header().Set("WWW-Authenticate", bearerRealm)
	return &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: detail, Code: "token_not_valid"}}
}

func (s *Server) jwtObtain(c *call) *apiError {
	u, e := s.login(c, true, func() *apiError {
		c.w.Header().Set("WWW-Authenticate", bearerRealm)
		return unauthorized("No active account found with the given credentials")
	})
	if e != nil {
		return e
	}
	ctx := c.r.Context()
	refresh, access, err := s.pairFor(ctx, u.ID)
	if err != nil {
		return s.internal(c, err)
	}
	if s.cfg.JWT.UpdateLastLogin {
		if err := s.store.TouchLogin(ctx, u.ID, s.now()); err != nil {
			return s.internal(c, err)
		}
	}
	c.respond(http.StatusOK, struct {
		Refresh string `json:"refresh"`
		Access  string `json:"access"`
	}{refresh, access})
	return nil
}

// TokenPairFor mints a refresh/access pair for a user, as simplejwt's
// RefreshToken.for_user does, and records the refresh token so that it can
// be blacklisted and rotated. The user must exist and be active.
func (s *Server) TokenPairFor(ctx context.Context, userID int64) (refresh, access string, err error) {
	if s.jwt == nil {
		return "", "", errors.New("simplejwt tokens are not configured")
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return "", "", err
	}
	if !u.IsActive {
		return "", "", errors.New("user is inactive")
	}
	return s.pairFor(ctx, u.ID)
}

func (s *Server) pairFor(ctx context.Context, userID int64) (refresh, access string, err error) {
	refresh, access, rc, _, err := s.jwt.Pair(userID)
	if err != nil {
		return "", "", err
	}
	err = s.store.RecordRefresh(ctx, gatehouse.RefreshRecord{JTI: rc.JTI, UserID: userID, Family: rc.JTI,
		Created: time.Unix(rc.Iat, 0), Expires: time.Unix(rc.Exp, 0)})
	return refresh, access, err
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

// parseRefresh checks a refresh token's signature, expiry, type, blacklist
// and that its user may still use it. With rotation, a blacklisted token is
// left to RotateRefresh, which tells reuse of a rotated token (and revokes
// its family) from a plain blacklisting.
func (s *Server) parseRefresh(c *call, raw string, rotating bool) (jwt.Claims, *apiError) {
	claims, err := s.jwt.Parse(raw)
	if err != nil {
		return claims, c.jwtFail(msgTokenInvalid)
	}
	if claims.TokenType != jwt.Refresh {
		return claims, c.jwtFail(msgTokenWrongType)
	}
	ctx := c.r.Context()
	black, err := s.store.RefreshBlacklisted(ctx, claims.JTI)
	if err != nil {
		return claims, s.internal(c, err)
	}
	if black && !rotating {
		return claims, c.jwtFail("Token is blacklisted")
	}
	if claims.HasUserID {
		err := s.authn.CheckJWTUser(ctx, claims)
		switch {
		case err == nil:
		case errors.Is(err, gatehouse.ErrNotFound), gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED:
			return claims, c.jwtFail(msgTokenInvalid)
		default:
			return claims, s.internal(c, err)
		}
	}
	return claims, nil
}

func (s *Server) jwtRefresh(c *call) *apiError {
	p, e := c.data()
	if e != nil {
		return e
	}
	raw, e := tokenField(p, "refresh")
	if e != nil {
		return e
	}
	rotating := s.cfg.JWT.RotateRefreshTokens && s.cfg.JWT.BlacklistAfterRotation
	claims, e := s.parseRefresh(c, raw, rotating)
	if e != nil {
		return e
	}
	// The new access token keeps the refresh token's iat, as simplejwt does.
	access, _, err := s.jwt.Mint(jwt.Access, claims.UserID, iatOf(claims))
	if err != nil {
		return s.internal(c, err)
	}
	if !s.cfg.JWT.RotateRefreshTokens {
		c.respond(http.StatusOK, struct {
			Access string `json:"access"`
		}{access})
		return nil
	}
	now := s.now()
	refresh, nc, err := s.jwt.Mint(jwt.Refresh, claims.UserID, now)
	if err != nil {
		return s.internal(c, err)
	}
	old := gatehouse.RefreshRecord{JTI: claims.JTI, UserID: claims.UserID, Created: claims.IssuedAt(), Expires: time.Unix(claims.Exp, 0)}
	next := gatehouse.RefreshRecord{JTI: nc.JTI, UserID: claims.UserID, Created: now, Expires: time.Unix(nc.Exp, 0)}
	if s.cfg.JWT.BlacklistAfterRotation {
		outcome, err := s.store.RotateRefresh(c.r.Context(), old, next, now)
		if err != nil {
			return s.internal(c, err)
		}
		if outcome != gatehouse.Rotated {
			if outcome == gatehouse.Reused {
				s.log.WarnContext(c.r.Context(), "refresh token reused: its family is revoked", "user_id", claims.UserID, "request_id", requestID(c.r))
			}
			return c.jwtFail("Token is blacklisted")
		}
	} else if err := s.store.RecordRefresh(c.r.Context(), next); err != nil {
		return s.internal(c, err)
	}
	c.respond(http.StatusOK, struct {
		Access  string `json:"access"`
		Refresh string `json:"refresh"`
	}{access, refresh})
	return nil
}

func (s *Server) jwtVerify(c *call) *apiError {
	p, e := c.data()
	if e != nil {
		return e
	}
	raw, e := tokenField(p, "token")
	if e != nil {
		return e
	}
	claims, err := s.jwt.Parse(raw)
	if err != nil {
		return c.jwtFail(msgTokenInvalid)
	}
	ctx := c.r.Context()
	if claims.TokenType == jwt.Refresh {
		black, err := s.store.RefreshBlacklisted(ctx, claims.JTI)
		if err != nil {
			return s.internal(c, err)
		}
		if black {
			return c.jwtFail("Token is blacklisted")
		}
	}
	// simplejwt's verify does not require the user to exist; a token
	// issued before its user's password change or deactivation is invalid.
	if claims.HasUserID {
		err := s.authn.CheckJWTUser(ctx, claims)
		switch {
		case err == nil, errors.Is(err, gatehouse.ErrNotFound):
		case gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED:
			return c.jwtFail(msgTokenInvalid)
		default:
			return s.internal(c, err)
		}
	}
	c.respond(http.StatusOK, struct{}{})
	return nil
}

func (s *Server) jwtBlacklist(c *call) *apiError {
	p, e := c.data()
	if e != nil {
		return e
	}
	raw, e := tokenField(p, "refresh")
	if e != nil {
		return e
	}
	claims, e := s.parseRefresh(c, raw, false)
	if e != nil {
		return e
	}
	rec := gatehouse.RefreshRecord{JTI: claims.JTI, UserID: claims.UserID, Created: claims.IssuedAt(), Expires: time.Unix(claims.Exp, 0)}
	if _, err := s.store.BlacklistRefresh(c.r.Context(), rec, s.now()); err != nil {
		return s.internal(c, err)
	}
	c.respond(http.StatusOK, struct{}{})
	return nil
}

// jwks publishes the public verification keys (none for HS256).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, detailOnly{Detail: `Method "` + r.Method + `" not allowed.`})
		return
	}
	b, err := s.jwt.JWKS()
	if err != nil {
		s.log.Error("jwks", "err", err)
		writeJSON(w, http.StatusInternalServerError, detailOnly{Detail: "A server error occurred."})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// iatOf is the issue time to copy from a token, as precisely as the token
// tells it (so the copy obeys the same auth epoch); a token without iat
// (possible from other issuers) gets the current time.
func iatOf(c jwt.Claims) time.Time {
	if c.Iat == 0 {
		return time.Time{} // Mint treats the zero time as now
	}
	return c.IssuedAt()
}
