package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
)

// OpenID Connect's endpoints beside DOT's: the discovery document, the
// JWKS, userinfo. The authorization endpoint's OpenID Connect parameters
// are handled in html_authorize.go, RP-initiated logout in html_logout.go.

// jwksPath is where the public keys are published under the issuer (also
// under /o/, DOT's path).
const jwksPath = "/.well-known/jwks.json"

// getOnly answers 405 with Allow to a method other than GET and HEAD, in
// the JSON documents' shape; it reports whether the request may go on.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeJSON(w, http.StatusMethodNotAllowed, detailOnly{Detail: `Method "` + r.Method + `" not allowed.`})
	return false
}

// discovery serves the OpenID Provider metadata at
// /.well-known/openid-configuration (and DOT's /o/ path): the RFC 8414
// document with OpenID Connect's additions. The signing algorithms follow
// the keys, so it is built per request (it is not on a hot path).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	body, err := marshal(s.oidc.Discovery(s.oauth.Metadata(s.cfg.Issuer, s.cfg.Issuer+jwksPath)))
	if err != nil {
		s.documentFail(w, r, err)
		return
	}
	h := w.Header()
	h["Content-Type"] = hvJSON
	h.Set("Cache-Control", "public, max-age=300")
	w.Write(body)
}

// jwks publishes the public keys: OpenID Connect's signing keys and the
// simplejwt verification keys when those are asymmetric (none for
// HS256), as one set. It may be cached as long as the keys' schedule
// allows: a new key is published that long before it signs.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	var oidcDoc, pairsDoc []byte
	maxAge := 300 * time.Second
	if s.oidc != nil {
		doc, age, err := s.oidc.JWKS(r.Context())
		if err != nil {
			s.documentFail(w, r, err)
			return
		}
		oidcDoc, maxAge = doc, min(maxAge, age)
	}
	if s.pairs != nil {
		doc, err := s.pairs.JWKS()
		if err != nil {
			s.documentFail(w, r, err)
			return
		}
		pairsDoc = doc
	}
	d := s.jwksDoc.Load()
	if d == nil || !bytes.Equal(d.oidc, oidcDoc) || !bytes.Equal(d.pairs, pairsDoc) || d.maxAge != maxAge {
		body, err := mergeJWKS(oidcDoc, pairsDoc)
		if err != nil {
			s.documentFail(w, r, err)
			return
		}
		d = &jwksDoc{oidc: oidcDoc, pairs: pairsDoc, maxAge: maxAge, body: body,
			cacheControl: "public, max-age=" + strconv.Itoa(int(maxAge/time.Second))}
		s.jwksDoc.Store(d)
	}
	h := w.Header()
	h["Content-Type"] = hvJSON
	h.Set("Cache-Control", d.cacheControl)
	w.Write(d.body)
}

// jwksDoc is the JWKS document served, merged from the OpenID signing
// keys' and simplejwt's documents, kept while both stay the same: every
// relying party fetches it, and merged at each request (parsed and written
// again) it was served at 0.58 of limit /bare, reused at 0.92 (go run
// ./bench -cases jwks, SQLite, one run each).
type jwksDoc struct {
	oidc, pairs  []byte
	maxAge       time.Duration
	body         []byte
	cacheControl string
}

// mergeJWKS merges key sets {"keys":[...]} (nil: none) into one.
func mergeJWKS(docs ...[]byte) ([]byte, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	set.Keys = []json.RawMessage{}
	for _, doc := range docs {
		if doc == nil {
			continue
		}
		var part struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(doc, &part); err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, part.Keys...)
	}
	return marshal(set)
}

// errNoBearer is a userinfo request without an access token.
var errNoBearer = &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Message: "An access token is required."}

// badBearer is a userinfo request that is not one token by one method.
func badBearer(why string) error { return &gatehouse.Error{Code: gatehouse.EINVALID, Message: why} }

// userinfo is OpenID Connect's UserInfo endpoint (Core 5.3): GET or POST
// with an OAuth access token issued for the openid scope, in the
// Authorization header (RFC 6750 2.1) or, on POST, as the access_token
// form parameter (2.2). It answers the user's claims that the token's
// scopes release. Nothing but an OAuth access token is accepted: an
// id_token, a simplejwt token or a DRF key is refused.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if !getHeadPost(w, r) {
		return
	}
	// One token, by one method (RFC 6750 2): the Authorization header or,
	// on POST, the form's access_token; a malformed header, a repeated
	// parameter, two methods or the URL query is a bad request (3.1).
	token := ""
	var buf [3]string
	if f := splitFields(authorizationHeader(r), &buf); len(f) > 0 && strings.EqualFold(f[0], "bearer") {
		if len(f) != 2 {
			s.bearerFail(w, r, badBearer("The Authorization header must be Bearer and one access token."))
			return
		}
		token = f[1]
	}
	if _, inQuery := queryOf(r)["access_token"]; inQuery {
		s.bearerFail(w, r, badBearer("The access token may not be sent in the URL query."))
		return
	}
	if r.Method == http.MethodPost {
		read := readPostOnlyForm
		if token != "" {
			read = readOAuthForm // the form is only checked for a second token
		}
		form, ok := read(w, r)
		if !ok {
			return
		}
		switch v := form["access_token"]; {
		case len(v) > 1:
			s.bearerFail(w, r, badBearer("The access_token parameter is repeated."))
			return
		case len(v) == 1 && token != "":
			s.bearerFail(w, r, badBearer("The access token may be sent by one method only."))
			return
		case len(v) == 1:
			token = v[0]
		}
	}
	if token == "" {
		s.bearerFail(w, r, errNoBearer)
		return
	}
	p, err := s.authn.Authenticate(r.Context(), authn.Credential{Scheme: gatehouse.SchemeOAuth, Value: token})
	if err != nil {
		s.bearerFail(w, r, err)
		return
	}
	setRequestClient(r, p.ClientID) // a browser may read the answer on an origin this client lists
	if p.HasUser() {
		setLogUser(r, p.User.ID)
	}
	info, err := s.oidc.UserInfo(p)
	if err != nil {
		s.bearerFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
