package server

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/guard"
)

// authOutcome is the result of the authentication chain. fail is set when
// an authenticator refused the credential outright (DRF "raises"); neither
// fail nor p means anonymous. bearerRejected records that the OAuth
// authenticator saw a bearer token and found it invalid, which adds the
// invalid_token attributes to WWW-Authenticate.
type authOutcome struct {
	p              *gatehouse.Principal
	fail           *apiError
	bearerRejected bool
	queryRefused   bool
	// refusal is fail's credential, for Authenticate (nil for the
	// session's CSRF refusal); bearerKeyword is the keyword of a rejected
	// bearer token.
	refusal       *guard.Refusal
	bearerKeyword string
}

// Authenticate runs the authentication chain of gatehouse's DRF views on
// r's Authorization header (authenticateHeader: OAuth2 bearer, simplejwt,
// DRF or knox token, in DRF's order), with the same caches and revocation
// rules, as a guard.Authenticator: a program embedding gatehouse protects
// its own routes with it. The browser session and ?access_token= are left
// out: the cookie belongs to gatehouse's own paths, and tokens in URLs
// leak. It returns the principal (GuardPrincipal), a *guard.Refusal for a
// credential the chain refused outright, or nil, nil for a request without
// a credential. A bearer token only the OAuth2 scheme read and refused is
// guard.ReasonBearerRejected: DOT's OAuth2Authentication leaves such a
// request anonymous. Any other error is internal.
func (s *Server) Authenticate(r *http.Request) (*guard.Principal, error) {
	out, err := s.authenticateHeader(r)
	switch {
	case err != nil:
		return nil, err
	case out.refusal != nil:
		return nil, out.refusal
	case out.p == nil && out.bearerRejected:
		return nil, &guard.Refusal{Keyword: out.bearerKeyword, Reason: guard.ReasonBearerRejected}
	case out.p == nil:
		return nil, nil
	}
	return s.GuardPrincipal(out.p), nil
}

// GuardPrincipal is p as package guard's permissions see it: the user's
// identity, an OAuth token's scopes and client_id; the groups and
// permissions are read on the first check that needs them.
func (s *Server) GuardPrincipal(p *gatehouse.Principal) *guard.Principal {
	g := &guard.Principal{UserID: p.User.ID, DjangoPK: p.User.DjangoKey, Username: p.User.Username, Email: p.User.Email,
		IsStaff: p.User.IsStaff, IsSuperuser: p.User.IsSuperuser, Kind: guard.Kind(p.Scheme),
		Known: guard.FieldUsername | guard.FieldEmail | guard.FieldStaff}
	if p.Scheme == gatehouse.SchemeOAuth {
		g.Scopes, g.ClientID = strings.Fields(p.Scope), p.ClientID
	}
	if !p.HasUser() {
		g.Known |= guard.FieldPermissions // a client alone holds none
		return g
	}
	g.LoadPermissions = func(ctx context.Context) ([]string, []string, error) {
		held, err := s.accounts.Permissions(ctx, p.User)
		return held.Groups, held.Permissions, err
	}
	return g
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
// simplejwt bearer, DRF token, then the session. The first that succeeds
// wins; the first that refuses its credential ends the chain.
func (s *Server) authenticate(r *http.Request) (authOutcome, error) {
	return s.authenticateChain(r, true)
}

// authenticateHeader is authenticate without what only a browser's own
// request carries: the session cookie and ?access_token= in the URL. The
// forward-auth endpoint reads only the Authorization header a proxy passes
// on: a cookie sent to the protected API was set for another purpose, and
// the original URL is not the request's own.
func (s *Server) authenticateHeader(r *http.Request) (authOutcome, error) {
	return s.authenticateChain(r, false)
}

// authorizationHeader is r's Authorization header as a WSGI server hands
// it to Django: several are joined with ",", which no scheme then parses,
// so that a request carrying two is refused, not judged by the first
// while a proxy or upstream reads another.
func authorizationHeader(r *http.Request) string {
	switch v := r.Header["Authorization"]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		return strings.Join(v, ",")
	}
}

func (s *Server) authenticateChain(r *http.Request, browser bool) (authOutcome, error) {
	var out authOutcome
	ctx := r.Context()
	var buf [3]string
	fields := splitFields(authorizationHeader(r), &buf)

	// 1. OAuth2 (DOT): "Bearer <token>" with any keyword case.
	bearer := ""
	if len(fields) == 2 && strings.EqualFold(fields[0], "bearer") {
		bearer = fields[1]
	} else if browser && r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "access_token") {
		if q := queryOf(r).Get("access_token"); q != "" {
			if s.cfg.AllowQueryToken {
				bearer = q
			} else {
				out.queryRefused = true
			}
		}
	}
	if bearer != "" {
		p, err := s.authn.Authenticate(ctx, authn.Credential{Scheme: gatehouse.SchemeOAuth, Value: bearer})
		if err == nil {
			out.p = p
			return out, nil
		}
		if gatehouse.ErrorCode(err) != gatehouse.EUNAUTHORIZED {
			return out, err
		}
		out.bearerRejected, out.bearerKeyword = true, "Bearer"
		if len(fields) == 2 {
			out.bearerKeyword = fields[0] // as the client wrote it
		}
	}

	// 2. simplejwt: the keyword is exactly one of AUTH_HEADER_TYPES
	// ("Bearer"), in AUTH_HEADER_NAME (Authorization).
	jfields := fields
	var jbuf [3]string
	if s.cfg.JWTHeaderName != "Authorization" {
		jfields = splitFields(r.Header.Get(s.cfg.JWTHeaderName), &jbuf)
	}
	if len(jfields) > 0 && slices.Contains(s.cfg.JWTHeaderTypes, jfields[0]) && s.pairs != nil {
		if len(jfields) != 2 {
			out.fail = s.fail(nil, r, failure{shape: shapeDRF, scheme: gatehouse.SchemeJWT}, gatehouse.Unauthorized(gatehouse.ReasonBadHeader))
			out.refusal = &guard.Refusal{Keyword: jfields[0], Reason: gatehouse.ReasonBadHeader}
			return out, nil
		}
		return out, s.tryScheme(r, &out, jfields[0], authn.Credential{Scheme: gatehouse.SchemeJWT, Value: jfields[1]})
	}

	// 3. DRF TokenAuthentication: "Token <key>", keyword in any case.
	if len(fields) > 0 && strings.EqualFold(fields[0], "token") {
		switch {
		case len(fields) == 1:
			out.fail = unauthorized("Invalid token header. No credentials provided.")
			out.refusal = &guard.Refusal{Keyword: fields[0], Reason: guard.ReasonTokenHeaderEmpty}
		case len(fields) > 2:
			out.fail = unauthorized("Invalid token header. Token string should not contain spaces.")
			out.refusal = &guard.Refusal{Keyword: fields[0], Reason: guard.ReasonTokenHeaderSpaces}
		case !utf8.ValidString(fields[1]):
			// DRF decodes the key as UTF-8 (UnicodeError).
			out.fail = unauthorized("Invalid token header. Token string should not contain invalid characters.")
			out.refusal = &guard.Refusal{Keyword: fields[0], Reason: guard.ReasonTokenHeaderChars}
		default:
			if err := s.tryScheme(r, &out, fields[0], authn.Credential{Scheme: gatehouse.SchemeToken, Value: fields[1]}); err != nil {
				return out, err
			}
		}
	}

	// 4. DRF SessionAuthentication: the browser login (oauth_session.go).
	if browser && out.p == nil && out.fail == nil {
		p, fail, err := s.authenticateSession(r)
		if err != nil {
			return out, err
		}
		out.p, out.fail = p, fail
	}
	return out, nil
}

// tryScheme authenticates c, sent with keyword, into out: its principal,
// or the wire failure of its refusal. Only an internal error is returned.
func (s *Server) tryScheme(r *http.Request, out *authOutcome, keyword string, c authn.Credential) error {
	p, err := s.authn.Authenticate(r.Context(), c)
	switch {
	case err == nil:
		out.p = p
	case gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED:
		out.fail = s.fail(nil, r, failure{shape: shapeDRF, scheme: c.Scheme}, err)
		out.refusal = &guard.Refusal{Keyword: keyword, Reason: gatehouse.ErrorReason(err)}
	default:
		return err
	}
	return nil
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

// isSpace reports whether c is one of the ASCII spaces Python's split()
// splits on. The first comparison settles the bytes of a token, which is
// all but one or two of a header's (splitFields runs on every request).
func isSpace(c byte) bool {
	return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
}

// usernameFieldName is what a USERNAME_FIELD can be: a Python identifier
// in ASCII, as a Django model field's name is.
var usernameFieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// checkJWTHeader fills in and checks the simplejwt header settings, and
// the login field of simplejwt's obtain view.
func (s *Server) checkJWTHeader() error {
	if s.cfg.UsernameField == "" {
		s.cfg.UsernameField = "username"
	}
	if !usernameFieldName.MatchString(s.cfg.UsernameField) || s.cfg.UsernameField == "password" {
		return fmt.Errorf("GATEHOUSE_USERNAME_FIELD: %q is not a field name other than password (a Python identifier, as USERNAME_FIELD is)", s.cfg.UsernameField)
	}
	if s.cfg.JWTHeaderName == "" {
		s.cfg.JWTHeaderName = "Authorization"
	}
	if !validHeaderName(s.cfg.JWTHeaderName) {
		return fmt.Errorf("GATEHOUSE_JWT_AUTH_HEADER_NAME: %q is not an HTTP header name", s.cfg.JWTHeaderName)
	}
	s.cfg.JWTHeaderName = http.CanonicalHeaderKey(s.cfg.JWTHeaderName)
	if len(s.cfg.JWTHeaderTypes) == 0 {
		s.cfg.JWTHeaderTypes = []string{"Bearer"}
	}
	for _, t := range s.cfg.JWTHeaderTypes {
		if t == "" || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			return fmt.Errorf("GATEHOUSE_JWT_AUTH_HEADER_TYPES: %q is not a keyword (printable ASCII without spaces)", t)
		}
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 field name (a token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
