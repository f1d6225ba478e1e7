package guard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/guard"
	"github.com/gatehouse-auth/gatehouse/jwt"
)

// A service protects its routes with gatehouse's credentials. In
// production the Remote is built from gatehouse's address and the
// credentials of an application registered with --resource-server:
//
//	remote, err := guard.NewRemote(guard.Config{
//		BaseURL:      "https://auth.example.com",
//		ClientID:     os.Getenv("ORDERS_CLIENT_ID"),
//		ClientSecret: os.Getenv("ORDERS_CLIENT_SECRET"),
//	})
//
// Here it verifies the HS256 tokens of a gatehouse sharing its secret,
// with no network at all.
func Example() {
	secret := []byte("the-django-secret-key-gatehouse-signs-with")
	remote, err := guard.NewRemote(guard.Config{HMACKey: secret})
	if err != nil {
		panic(err)
	}
	g := guard.New(remote)

	mux := http.NewServeMux()
	mux.Handle("GET /health", g.Protect(guard.AllowAny, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	mux.Handle("/orders/", g.Protect(guard.IsAuthenticatedOrReadOnly, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := guard.PrincipalFrom(r.Context()); p != nil {
			fmt.Fprintf(w, "orders of user %d", p.UserID)
			return
		}
		io.WriteString(w, "public orders")
	})))
	// Staff only: a JWT does not say whether its user is staff; with
	// introspection configured the guard asks gatehouse, without it the
	// check fails closed (403).
	mux.Handle("/admin/", g.Protect(guard.IsAdminUser, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin")
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A token as gatehouse's POST /access-token/ returns it.
	codec, _ := jwt.New(jwt.Config{Signing: jwt.Key{Algorithm: jwt.HS256, Secret: secret}, AccessLifetime: 5 * time.Minute})
	access, _, _ := codec.Mint(jwt.Access, 42, time.Time{})

	for _, c := range []struct{ method, path, auth string }{
		{"GET", "/health", ""},
		{"GET", "/orders/", ""},
		{"POST", "/orders/", ""},
		{"POST", "/orders/", "Bearer " + access},
		{"POST", "/orders/", "Bearer not-a-token"},
		{"GET", "/admin/", "Bearer " + access},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Printf("%s %s %s: %d %s\n", c.method, c.path, strings.Fields(c.auth + " none")[0], res.StatusCode, body)
	}
	// Output:
	// GET /health none: 200 ok
	// GET /orders/ none: 200 public orders
	// POST /orders/ none: 401 {"detail":"Authentication credentials were not provided."}
	// POST /orders/ Bearer: 200 orders of user 42
	// POST /orders/ Bearer: 401 {"detail":"Given token not valid for any token type","code":"token_not_valid","messages":[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}
	// GET /admin/ Bearer: 403 {"detail":"You do not have permission to perform this action."}
}
