package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/oauth"
)

// deviceAuthorizationEndpoint is POST /o/device-authorization/, DOT's path
// of the device authorization endpoint (RFC 8628 3.1 and 3.2;
// oauth.Provider.AuthorizeDevice). Its errors have the token endpoint's
// shape.
func (s *Server) deviceAuthorizationEndpoint(w http.ResponseWriter, r *http.Request) {
	form, ok := readPostOnlyForm(w, r)
	if !ok {
		return
	}
	res, err := s.oauth.AuthorizeDevice(r.Context(), oauth.DeviceRequest{Params: form, Client: clientCredentials(r, form)})
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	uri := s.verificationURI(r)
	writeDOTJSON(w, http.StatusOK, kv{"device_code", res.DeviceCode}, kv{"user_code", res.UserCode},
		kv{"verification_uri", uri}, kv{"verification_uri_complete", uri + "?user_code=" + url.QueryEscape(res.UserCode)},
		kv{"expires_in", int64(res.ExpiresIn / time.Second)}, kv{"interval", int64(res.Interval / time.Second)})
}

// verificationURI is the absolute URL of the verification page
// (html_device.go): under the configured issuer, else the request's
// origin (its Host is one of AllowedHosts, or the request was refused).
func (s *Server) verificationURI(r *http.Request) string {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer + "/o/device/"
	}
	o := s.originOf(r)
	return o.scheme + "://" + o.host + s.url("/o/device/")
}
