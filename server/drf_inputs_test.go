package server_test

import (
	"bytes"
	mime "mime/multipart"
	"testing"
	"unicode/utf16"
)

// Bodies and fields DRF's parsers and CharFields refuse or read in their
// own way, with the answers the Django reference gives (checked against
// it): a body without Content-Type, a byte order mark, invalid UTF-8,
// NaN, a UTF-16 charset, NUL and lone surrogates in fields, multipart
// file fields and garbage, an email of the wrong type, NUL in the user
// list's filters, and the email domain create_user lowers.
func TestDRFBodiesAsDjango(t *testing.T) {
	each(t, nil, func(t *testing.T, e *env) {
		e.user("alice", "alicepass")
		key := e.tokenOf("alice", "alicepass")
		const login = `{"username":"alice","password":"alicepass"}`
		post := func(path, body string, headers ...string) resp {
			t.Helper()
			return e.do("POST", path, body, headers...)
		}
		expect(t, post("/api-token-auth/", login), 415, `{"detail":"Unsupported media type \"\" in request."}`)
		expect(t, post("/api-token-auth/", "", "Content-Type", ""), 400,
			`{"username":["This field is required."],"password":["This field is required."]}`)
		expect(t, post("/api-token-auth/", "\xef\xbb\xbf"+login, "Content-Type", "application/json"), 400,
			`{"detail":"JSON parse error - Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"}`)
		for _, path := range []string{"/api-token-auth/", "/access-token/"} {
			expect(t, post(path, "{\"username\": \"\xff\xfe\", \"password\":\"x\"}", "Content-Type", "application/json"), 400,
				`{"detail":"JSON parse error - 'utf-8' codec can't decode byte 0xff in position 14: invalid start byte"}`)
		}
		expect(t, post("/api-token-auth/", "{\"username\": \"\xe2\x82(\"}", "Content-Type", "application/json"), 400,
			`{"detail":"JSON parse error - 'utf-8' codec can't decode bytes in position 14-15: invalid continuation byte"}`)
		// A sequence cut off by the end is held back by DRF's stream reader.
		expect(t, post("/api-token-auth/", login+"\xe2", "Content-Type", "application/json"), 200, "")
		expect(t, post("/api-token-auth/", `{"username": "alice", "password": NaN}`, "Content-Type", "application/json"), 400,
			`{"detail":"JSON parse error - Out of range float values are not JSON compliant: 'NaN'"}`)
		expect(t, post("/api-token-auth/", `[-Infinity}`, "Content-Type", "application/json"), 400,
			`{"detail":"JSON parse error - Out of range float values are not JSON compliant: '-Infinity'"}`)
		utf16le := func(s string) string {
			var b []byte
			b = append(b, 0xFF, 0xFE)
			for _, u := range utf16.Encode([]rune(s)) {
				b = append(b, byte(u), byte(u>>8))
			}
			return string(b)
		}
		r := post("/api-token-auth/", utf16le(login), "Content-Type", "application/json; charset=utf-16")
		expect(t, r, 200, `{"token":"`+key+`"}`)

		expect(t, post("/api-token-auth/", `{"username":"alice","password":"alice\u0000pass"}`, "Content-Type", "application/json"), 400,
			`{"password":["Null characters are not allowed."]}`)
		expect(t, post("/api-token-auth/", `{"username":"alice","password":"\ud800"}`, "Content-Type", "application/json"), 400,
			`{"password":["Surrogate characters are not allowed: U+D800."]}`)
		expect(t, post("/api-token-auth/", `{"username":"\udc00x","password":"alicepass"}`, "Content-Type", "application/json"), 400,
			`{"username":["Surrogate characters are not allowed: U+DC00."]}`)

		var mp bytes.Buffer
		w := mime.NewWriter(&mp)
		fw, _ := w.CreateFormFile("username", "f.txt")
		fw.Write([]byte("hi\n"))
		w.WriteField("password", "x")
		w.Close()
		expect(t, post("/api-token-auth/", mp.String(), "Content-Type", w.FormDataContentType()), 400, `{"username":["Not a valid string."]}`)
		expect(t, post("/api-token-auth/", "garbage", "Content-Type", "multipart/form-data; boundary=abc"), 400,
			`{"username":["This field is required."],"password":["This field is required."]}`)

		auth := []string{"Content-Type", "application/json", "Authorization", "Token " + key}
		expect(t, post("/api/users/", `{"username":"zed2","password":"a long enough passphrase","first_name":"\ud800"}`, auth...), 400,
			`{"first_name":["Surrogate characters are not allowed: U+D800."]}`)
		expect(t, post("/api/users/", `{"username":"zed3","password":"a long enough passphrase","email":true}`, auth...), 400,
			`{"email":["Enter a valid email address."]}`)
		for _, name := range []string{"zed2", "zed3"} {
			if _, err := e.store.UserByUsername(t.Context(), name); err == nil {
				t.Fatalf("%s was created by a refused request", name)
			}
		}
		r = post("/api/users/", `{"username":"zed4","password":"a long enough passphrase","first_name":"\ud83d\ude00 ok","email":"Zed.One@EXAMPLE.Com"}`, auth...)
		if m := r.json(t); r.status != 201 || m["first_name"] != "😀 ok" || m["email"] != "Zed.One@example.com" {
			t.Fatalf("a pair of surrogates and a mixed-case domain: %d %s", r.status, r.body)
		}
		expect(t, e.do("GET", "/api/users/?username=a%00b&email=%00", nil, "Authorization", "Token "+key), 400,
			`{"email":["Null characters are not allowed."],"username":["Null characters are not allowed."]}`)
	})
}
