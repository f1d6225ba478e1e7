package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/gatehouse-auth/gatehouse/internal/proxytest"
)

// The forward-auth cases (issue 16): /auth/verify/ alone, asked as nginx
// asks it, for each token kind against limit /jwt; then an allowed JWT
// request through a real nginx with auth_request against the same nginx
// proxying the same upstream (limit /bare) without it, in alternating
// rounds, nginx running the configuration of docs/protect-your-api.md.
// The nginx cases are left out, with a line on standard error,
// where nginx is not installed.

// forwardPolicy is the policy file every benchmark server is started with.
const forwardPolicy = `# bench: the forward-auth cases
/api/orders/   authenticated
/bare          authenticated
`

// writeForwardPolicy writes forwardPolicy into work and returns its path.
func writeForwardPolicy(work string) (string, error) {
	p := filepath.Join(work, "forward-auth.policy")
	return p, os.WriteFile(p, []byte(forwardPolicy), 0o644)
}

// verifyKinds are the /auth/verify/ cases and their least ratio to limit
// /jwt: a JWT is verified without the database (0.8, as /api/me/'s), an
// opaque token is looked up (cached) (0.6).
var verifyKinds = []struct {
	name string
	auth func(creds) string
	min  float64
}{
	{"GET /auth/verify/ (JWT)", func(c creds) string { return c.jwt }, 0.8},
	{"GET /auth/verify/ (OAuth)", func(c creds) string { return c.oauth }, 0.6},
	{"GET /auth/verify/ (DRF Token)", func(c creds) string { return c.token }, 0.6},
}

// verify builds nginx's subrequest for GET /api/orders/42/.
func verify(base, auth string) request {
	return func(int) (*http.Request, error) {
		req, err := http.NewRequest("GET", base+"/auth/verify/", nil)
		if err == nil {
			req.Header.Set("Authorization", auth)
			req.Header.Set("X-Forwarded-Method", "GET")
			req.Header.Set("X-Forwarded-Uri", "/api/orders/42/?page=2")
			req.Header.Set("X-Forwarded-Host", "api.example.com")
		}
		return req, err
	}
}

const nginxAuthName = "GET /bare through nginx with auth_request (JWT)"

func (e *benchEnv) forwardAuth(work string, c creds) error {
	o, backend := e.o, e.backend
	jwtYard := get("http://"+e.limitAddr+"/jwt", "Bearer "+e.limitToken)
	for _, k := range verifyKinds {
		auth := k.auth(c)
		if auth == "" {
			continue
		}
		y, r := paired(o, backend, k.name, jwtYard, verify(e.base, auth))
		r.yardstick, r.yardName, r.min, r.spread = y.rps, "limit /jwt", k.min, true
		e.add(y, r)
	}
	if !o.want(nginxAuthName) || c.jwt == "" {
		return nil
	}
	if _, err := proxytest.Binary("nginx"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: the nginx case is not measured:", err)
		return nil
	}
	gatehouseAddr := e.base[len("http://"):]
	start := func(noAuth bool) (string, *proxytest.Proxy, error) {
		dir, err := os.MkdirTemp(work, "nginx")
		if err != nil {
			return "", nil, err
		}
		c := proxytest.Config{Dir: dir, Listen: freeAddr(), Gatehouse: gatehouseAddr, Upstream: e.limitAddr, NoAuth: noAuth, Workers: 2}
		if !noAuth {
			if c.Site, err = proxytest.Documented("docs/protect-your-api.md", "nginx", c); err != nil {
				return "", nil, err
			}
		}
		p, err := proxytest.StartNginx(context.Background(), c)
		return "http://" + c.Listen, p, err
	}
	plainBase, plain, err := start(true)
	if err != nil {
		return err
	}
	defer plain.Stop()
	authBase, withAuth, err := start(false)
	if err != nil {
		return err
	}
	defer withAuth.Stop()
	ys, gs := alternate(o, backend, o.rounds, get(plainBase+"/bare", c.jwt), contender{nginxAuthName, get(authBase+"/bare", c.jwt), nil})
	for i := range ys {
		ys[i].server, ys[i].name = "nginx", "GET /bare through nginx without auth_request (JWT sent, not checked)"
	}
	y := merge(ys)
	r := vsRounds(ys, gs[0])
	r.yardstick, r.yardName, r.min, r.spread = y.rps, "nginx without auth_request", 0.5, true
	e.add(y, r)
	return nil
}
