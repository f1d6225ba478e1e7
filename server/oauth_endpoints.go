package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// revokeEndpoint is POST /o/revoke_token/ (RFC 7009; oauth.Provider.Revoke).
// Success is 200 with an empty JSON object: DOT's empty text/html body is
// rejected by clients that parse the answer (simple-oauth2's revokeAll);
// see compat/deviations.txt.
func (s *Server) revokeEndpoint(w http.ResponseWriter, r *http.Request) {
	form, ok := readPostOnlyForm(w, r)
	if !ok {
		return
	}
	err := s.oauth.Revoke(r.Context(), oauth.RevokeRequest{Token: form.Get("token"), Hint: form.Get("token_type_hint"),
		Client: clientCredentials(r, form)})
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	writeDOTJSON(w, http.StatusOK)
}

// introspectEndpoint is /o/introspect/ (RFC 7662), GET ?token= or POST
// (oauth.Provider.Introspect). Its answers are never cached: they say
// whose a token is and for how long it works (DOT sets no header).
func (s *Server) introspectEndpoint(w http.ResponseWriter, r *http.Request) {
	form, ok := readOAuthForm(w, r)
	if !ok {
		return
	}
	// DOT reads request.POST (or GET) "token": the last value.
	req := oauth.IntrospectRequest{Token: lastValue(form, "token"), Client: clientCredentials(r, form)}
	if r.Method == http.MethodGet || r.Method == http.MethodHead { // HEAD: GET without the body
		req.Token = lastValue(queryOf(r), "token")
	}
	if f := strings.Fields(authorizationHeader(r)); len(f) == 2 && strings.EqualFold(f[0], "bearer") {
		req.Bearer = f[1]
	}
	res, err := s.oauth.Introspect(r.Context(), req)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if !res.Active {
		writeDOTJSON(w, http.StatusOK, kv{"active", false})
		return
	}
	writeDOTJSON(w, http.StatusOK, introspectionBody(res, s.cfg.Issuer)...)
}

// introspectionBody is an active introspection answer: DOT's fields
// (active, scope, exp, client_id, username), the RFC 7662 fields standard
// clients read (token_type, iat, iss when an issuer is configured, sub:
// the user id as a decimal string, as the OpenID provider's sub, absent
// for a client's own token; aud for a JWT access token, not known for an
// opaque one), and for a resource server gatehouse's extension
// (docs/protect-your-api.md): the credential's kind and its user, with
// the user's Django key when it was imported with one (User.DjangoKey).
func introspectionBody(res *oauth.Introspection, issuer string) []kv {
	oauthToken := res.Scheme == gatehouse.SchemeOAuth || !res.Resource
	body := []kv{{"active", true}}
	if oauthToken {
		body = append(body, kv{"scope", res.Scope})
	}
	if res.Expires != 0 {
		body = append(body, kv{"exp", res.Expires})
	}
	if oauthToken {
		body = append(body, kv{"client_id", res.ClientID})
	}
	if res.Username != "" {
		body = append(body, kv{"username", res.Username})
	}
	tokenType := "Bearer"
	if res.Scheme == gatehouse.SchemeToken || res.Scheme == gatehouse.SchemeKnox {
		tokenType = "Token"
	}
	body = append(body, kv{"token_type", tokenType})
	if res.Resource {
		body = append(body, kv{"token_kind", res.Scheme})
	}
	if !res.Issued.IsZero() {
		body = append(body, kv{"iat", res.Issued.Unix()})
	}
	if issuer != "" {
		body = append(body, kv{"iss", issuer})
	}
	if res.Audience != "" {
		body = append(body, kv{"aud", res.Audience})
	}
	if u := res.User; u != nil {
		body = append(body, kv{"sub", u.Subject()})
		if res.Resource {
			body = append(body, kv{"user_id", u.ID})
			if u.DjangoKey != "" {
				// The key the Django project's own rows name the
				// user by, when it is no integer (a UUID).
				body = append(body, kv{"django_pk", u.DjangoKey})
			}
			body = append(body, kv{"email", u.Email}, kv{"is_staff", u.IsStaff}, kv{"is_superuser", u.IsSuperuser})
		}
	}
	if p := res.Permissions; p != nil {
		// gatehouse's extension (oauth-introspect-permissions, or a
		// resource server), not DOT's.
		body = append(body, kv{"groups", stringList(p.Groups)}, kv{"permissions", stringList(p.Permissions)})
	}
	return body
}

// tokenEndpoint is POST /o/token/ (oauth.Provider.Token).
func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	form, ok := readPostOnlyForm(w, r)
	if !ok {
		return
	}
	if form.Get("grant_type") == "password" {
		if err := s.throttleScope(r, throttle.ScopeLogin); err != nil {
			s.oauthFail(w, r, err)
			return
		}
	}
	res, err := s.oauth.Token(r.Context(), oauth.TokenRequest{Params: form, Client: clientCredentials(r, form)})
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if res.UserID != 0 {
		setLogUser(r, res.UserID)
	}
	body := []kv{{"access_token", res.AccessToken}, {"expires_in", int64(res.ExpiresIn / time.Second)},
		{"token_type", "Bearer"}, {"scope", res.Scope}}
	if res.RefreshToken != "" {
		body = append(body, kv{"refresh_token", res.RefreshToken})
	}
	if res.IDToken != "" {
		body = append(body, kv{"id_token", res.IDToken}) // after DOT's members, as oauthlib's OpenID Connect adds it
	}
	writeDOTJSON(w, http.StatusOK, body...)
}

// stringList is s, or an empty list for nil, which encoding/json would write as null.
func stringList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
