package server

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// basicCredentials decodes "Authorization: Basic base64(id:secret)" as DOT
// does (the scheme word is case-sensitive; id and secret are
// form-urlencoded). present reports a Basic header at all, even a
// malformed one.
func basicCredentials(r *http.Request) (id, secret string, ok, present bool) {
	scheme, rest, found := strings.Cut(authorizationHeader(r), " ")
	if !found || scheme != "Basic" {
		return "", "", false, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false, true
	}
	i, sec, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false, true
	}
	id, err1 := url.QueryUnescape(i)
	secret, err2 := url.QueryUnescape(sec)
	if err1 != nil || err2 != nil {
		return "", "", false, true
	}
	return id, secret, true, true
}

// clientCredentials collects what a request says of its client: the Basic
// header and the client_id and client_secret parameters of form.
func clientCredentials(r *http.Request, form url.Values) oauth.ClientCredentials {
	c := oauth.ClientCredentials{ClientID: form.Get("client_id")}
	c.BasicID, c.BasicSecret, c.BasicOK, c.BasicPresent = basicCredentials(r)
	if sec, sent := form["client_secret"]; sent {
		c.SecretSent, c.ClientSecret = true, sec[len(sec)-1]
	}
	return c
}
