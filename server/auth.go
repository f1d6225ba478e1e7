package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// principal is who a request is authenticated as, and by what.
type principal struct {
	user    gatehouse.User
	kind    string // "token", "jwt" or "oauth"
	tokenID int64  // DRF token or OAuth access token id
	scope   string // OAuth scopes, space-separated
	appID   int64  // OAuth application
}

// authOutcome is the result of the authentication chain. fail is set when
// an authenticator refused the credential outright (DRF "raises"); neither
// fail nor p means anonymous. bearerRejected records that the OAuth
// authenticator saw a bearer token and found it invalid, which adds the
// invalid_token attributes to WWW-Authenticate.
type authOutcome struct {
	p              *principal
	fail           *apiError
	bearerRejected bool
	queryRefused   bool
}

const bearerRealm = `Bearer realm="api"`

// wwwAuthenticate is the challenge sent with every 401 of the DRF views.
func (o authOutcome) wwwAuthenticate() string {
	switch {
	case o.queryRefused:
		return bearerRealm + `,error="invalid_request",error_description="Access tokens in the URL are not accepted."`
	case o.bearerRejected:
		return bearerRealm + `,error="invalid_token",error_description="The access token is invalid."`
	}
	return bearerRealm
}

// authenticate runs the schemes in DRF's configured order: OAuth2 bearer,
// simplejwt bearer, DRF token. The first that succeeds wins; the first that
// refuses its credential ends the chain.
func (s *Server) authenticate(r *http.Request) (authOutcome, error) {
	var out authOutcome
	ctx := r.Context()
	var buf [3]string
	fields := splitFields(r.Header.Get("Authorization"), &buf)

	// 1. OAuth2 (DOT): "Bearer <token>" with any keyword case.
	bearer := ""
	if len(fields) == 2 && strings.EqualFold(fields[0], "bearer") {
		bearer = fields[1]
	} else if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "access_token") {
		if q := r.URL.Query().Get("access_token"); q != "" {
			if s.cfg.AllowQueryToken {
				bearer = q
			} else {
				out.queryRefused = true
			}
		}
	}
	if bearer != "" {
		p, err := s.verifyOAuth(ctx, bearer)
		if err != nil {
			return out, err
		}
		if p != nil {
			out.p = p
			return out, nil
		}
		out.bearerRejected = true
	}

	// 2. simplejwt: the keyword is exactly "Bearer".
	if len(fields) > 0 && fields[0] == "Bearer" && s.jwt != nil {
		if len(fields) != 2 {
			out.fail = &apiError{status: http.StatusUnauthorized, body: detailCode{
				Detail: "Authorization header must contain two space-delimited values", Code: "bad_authorization_header"}}
			return out, nil
		}
		p, fail, err := s.authenticateJWT(ctx, fields[1])
		if err != nil {
			return out, err
		}
		out.p, out.fail = p, fail
		return out, nil
	}

	// 3. DRF TokenAuthentication: "Token <key>", keyword in any case.
	if len(fields) > 0 && strings.EqualFold(fields[0], "token") {
		switch {
		case len(fields) == 1:
			out.fail = unauthorized("Invalid token header. No credentials provided.")
		case len(fields) > 2:
			out.fail = unauthorized("Invalid token header. Token string should not contain spaces.")
		default:
			p, fail, err := s.authenticateToken(ctx, fields[1])
			if err != nil {
				return out, err
			}
			out.p, out.fail = p, fail
		}
	}

	// 4. DRF SessionAuthentication: the browser login (oauth_session.go).
	if out.p == nil && out.fail == nil {
		p, fail, err := s.authenticateSession(r)
		if err != nil {
			return out, err
		}
		out.p, out.fail = p, fail
	}
	return out, nil
}

func unauthorized(detail string) *apiError {
	return &apiError{status: http.StatusUnauthorized, body: detailOnly{Detail: detail}}
}

// authenticateToken checks a DRF key.
func (s *Server) authenticateToken(ctx context.Context, key string) (*principal, *apiError, error) {
	hash := secret.Hash(key)
	ck := "t:" + string(hash)
	e, ok := s.cache.get(ck)
	if !ok {
		tok, u, err := s.store.TokenByHash(ctx, hash)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, unauthorized("Invalid token."), nil
		}
		if err != nil {
			return nil, nil, err
		}
		e = cacheEntry{user: u, tokenID: tok.ID, tokExp: tok.Expires}
		s.cache.put(ck, e)
	}
	now := s.now()
	if e.tokExp != nil && !now.Before(*e.tokExp) {
		return nil, unauthorized("Invalid token."), nil
	}
	if !e.user.IsActive {
		return nil, unauthorized("User inactive or deleted."), nil
	}
	s.touches.add(e.tokenID, now)
	return &principal{user: e.user, kind: "token", tokenID: e.tokenID}, nil, nil
}

// userByID returns a user through the cache.
func (s *Server) userByID(ctx context.Context, id int64) (gatehouse.User, error) {
	ck := "u:" + itoa64(id)
	if e, ok := s.cache.get(ck); ok {
		return e.user, nil
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return u, err
	}
	s.cache.put(ck, cacheEntry{user: u})
	return u, nil
}

// forgetUser drops cached lookups of a user after this replica changed it.
func (s *Server) forgetUser(id int64) { s.cache.dropUser(id) }

func itoa64(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [21]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// splitFields splits h on ASCII white space like Python's bytes.split(),
// which DRF and simplejwt use, without allocating. It keeps at most three
// fields: the callers only ask whether there are one, two or more than two.
func splitFields(h string, buf *[3]string) []string {
	n := 0
	for i := 0; i < len(h); {
		for i < len(h) && isSpace(h[i]) {
			i++
		}
		if i >= len(h) {
			break
		}
		j := i
		for j < len(h) && !isSpace(h[j]) {
			j++
		}
		if n == len(buf) {
			break
		}
		buf[n] = h[i:j]
		n++
		i = j
	}
	return buf[:n]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
