package site

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The redirect goes to the issuer's host when it is an https URL (the
// public name and port), else to the request's host with the HTTPS port.
func TestTLSRedirect(t *testing.T) {
	for _, tc := range []struct{ issuer, httpsAddr, host, want string }{
		{"", "0.0.0.0:8443", "auth.example.com:8080", "https://auth.example.com:8443/o/token/?a=b"},
		{"", "[::]:443", "auth.example.com", "https://auth.example.com/o/token/?a=b"},
		{"", ":443", "[::1]:80", "https://[::1]/o/token/?a=b"},
		{"https://auth.example.com", "0.0.0.0:8443", "evil.test", "https://auth.example.com/o/token/?a=b"},
		{"https://auth.example.com:4443/auth", "0.0.0.0:8443", "x", "https://auth.example.com:4443/o/token/?a=b"},
	} {
		tl := &TLS{issuer: tc.issuer}
		r := httptest.NewRequest("POST", "http://"+tc.host+"/o/token/?a=b", nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		tl.Redirect(tc.httpsAddr).ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != tc.want {
			t.Errorf("%+v: %d %q", tc, w.Code, w.Header().Get("Location"))
		}
	}
}

// HSTS goes only on responses over TLS.
func TestTLSHandlerHSTS(t *testing.T) {
	h := (&TLS{hsts: "max-age=60"}).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/healthz", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if v := w.Header().Get("Strict-Transport-Security"); v != "" {
		t.Errorf("plain HTTP got HSTS %q", v)
	}
	r.TLS = &tls.ConnectionState{}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if v := w.Header().Get("Strict-Transport-Security"); v != "max-age=60" {
		t.Errorf("TLS got HSTS %q", v)
	}
	if got, _ := NewTLS(DefaultConfig(), nil); got != nil {
		t.Error("TLS without its settings")
	}
}
