package server

import (
	"bytes"
	"encoding/base64"
	"mime"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/querystr"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// FuzzBasicCredentials checks the client's Basic header (RFC 6749 2.3.1):
// any client id and secret, form-encoded then base64-encoded as a client
// sends them, decode to exactly themselves; and an arbitrary header is
// "present" exactly when its scheme word is Basic, "ok" only then.
func FuzzBasicCredentials(f *testing.F) {
	for _, s := range [][3]string{
		{"code-client", "code-secret", "Basic Y29kZS1jbGllbnQ6Y29kZS1zZWNyZXQ="},
		{"pub-client", "", "Basic cHViLWNsaWVudDo="},
		{"a:b", "c:d%", "basic Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ="},
		{"é\x00", "\xff", "Basic  Y29uZi1jbGllbnQ6Y29uZi1zZWNyZXQ= "},
		{"", "", "Basic !!!"},
		{"x y", "+", "Basic Y29uZi1jbGllbnQ"},
		{"", "", "Basic bm9jb2xvbg=="},
		{"", "", "Basic JXp6OnM="},
		{"", "", "Bearer abc"},
		{"", "", "Basic"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, id, sec, header string) {
		r := httptest.NewRequest("POST", "/o/token/", nil)
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec))))
		if gotID, gotSec, ok, present := basicCredentials(r); gotID != id || gotSec != sec || !ok || !present {
			t.Fatalf("%q %q decode as %q %q ok %v present %v", id, sec, gotID, gotSec, ok, present)
		}

		r.Header["Authorization"] = []string{header}
		_, _, ok, present := basicCredentials(r)
		if present != strings.HasPrefix(header, "Basic ") || ok && !present {
			t.Fatalf("%q: ok %v present %v", header, ok, present)
		}
	})
}

// FuzzSession checks the browser session cookie and the CSRF check: a
// Cookie header yields a session only when it carries one this server
// sealed and that has not expired (never a forged, truncated or expired
// one), and a CSRF token passes only when it is the session's own.
func FuzzSession(f *testing.F) {
	box, err := secret.NewBox("test-server-secret-0123456789")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1800000000, 0)
	s := &Server{box: box, now: func() time.Time { return now }}
	seal := func(ss session) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		if err := s.writeSession(w, r, &ss); err != nil {
			f.Fatal(err)
		}
		return w.Result().Cookies()[0].Value
	}
	valid := session{ID: "sid0123456789abcdefghij", UserID: 2, Issued: now.UnixMicro(), Expires: now.Unix() + 3600, CSRF: "csrf0123456789abcdefghijklmnopqr"}
	good := seal(valid)
	expired := seal(session{ID: "sid1", UserID: 2, Issued: now.UnixMicro(), Expires: now.Unix(), CSRF: "c"})
	noCSRF := seal(session{ID: "sid2", UserID: 2, Issued: now.UnixMicro(), Expires: now.Unix() + 3600})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "sessionid="+good)
	if ss := s.readSession(r); ss == nil || *ss != valid {
		f.Fatalf("the valid session reads as %+v", ss)
	}
	for _, c := range []string{"sessionid=" + good, "sessionid=" + expired, "sessionid=" + noCSRF, "sessionid=" + good[:len(good)-1],
		"sessionid=" + good + "A", "csrftoken=x; sessionid=" + good, "sessionid=\"" + good + "\"", "sessionid=" + strings.ToUpper(good),
		"sessionid=" + strings.Repeat("A", 2000), "sessionid=", "sessionid=%00", "sessionid=a;sessionid=" + good, ""} {
		f.Add(c, valid.CSRF)
	}
	f.Add("sessionid="+good, "")
	f.Add("sessionid="+good, valid.CSRF+"\x00")
	f.Fuzz(func(t *testing.T, cookie, csrf string) {
		r := httptest.NewRequest("GET", "/api/me/", nil)
		r.Header.Set("Cookie", cookie)
		ss := s.readSession(r)
		if ss == nil {
			if csrfOK(ss, csrf) {
				t.Fatal("CSRF passed without a session")
			}
			return
		}
		if *ss != valid {
			t.Fatalf("%q: session %+v, the only valid one sealed is %+v", cookie, *ss, valid)
		}
		if csrfOK(ss, csrf) != (csrf == valid.CSRF) {
			t.Fatalf("csrfOK(%q) = %v", csrf, csrfOK(ss, csrf))
		}
	})
}

// FuzzOAuthForm feeds bodies to the DOT endpoints' form reader: it never
// fails on a body under the size limit; a urlencoded body gives what
// Django's QueryDict reads (internal/querystr: a ';' or a bad escape is
// part of a value), a multipart one the values of its parts, anything
// else no parameters.
func FuzzOAuthForm(f *testing.F) {
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.SetBoundary("xyz")
	mw.WriteField("grant_type", "password")
	mw.WriteField("username", "alice")
	mw.Close()
	for _, s := range [][2]string{
		{"application/x-www-form-urlencoded", "grant_type=password&username=alice&password=alicepass&client_id=pub-client"},
		{"application/x-www-form-urlencoded; charset=utf-8", "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcb"},
		{"application/x-www-form-urlencoded", "a=1;b=2&%zz=1&c=%00&d=\xff&e"},
		{"multipart/form-data; boundary=xyz", mp.String()},
		{"multipart/form-data", mp.String()},
		{"multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\ndata\r\n--xyz--\r\n"},
		{"multipart/form-data; boundary=xyz", "--xyz"},
		{"application/json", `{"grant_type": "password"}`},
		{"", "grant_type=password"},
		{"text/plain", "grant_type=password"},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r := httptest.NewRequest("POST", "/o/token/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		form, err := oauthForm(httptest.NewRecorder(), r)
		if err != nil {
			t.Fatalf("%q %q: %v", ct, body, err)
		}
		if r.MultipartForm != nil {
			r.MultipartForm.RemoveAll()
		}
		switch mt, params, _ := mime.ParseMediaType(ct); {
		case mt == "application/x-www-form-urlencoded":
			if want := querystr.Parse(string(body)); !reflect.DeepEqual(form, want) {
				t.Fatalf("%q: form %v, want %v", body, form, want)
			}
		case mt == "multipart/form-data" && params["boundary"] != "":
		case len(form) != 0:
			t.Fatalf("%q %q: parameters %v from a body DOT does not read", ct, body, form)
		}
	})
}
