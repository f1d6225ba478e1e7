package site

import (
	"flag"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/server"
)

// FuzzSettings sets one GATEHOUSE_* variable to any value and reads the
// settings as serve does. Properties: a refusal names the variable; an
// accepted value reads back the same from its own spelling (so `gatehouse
// config` prints values that read as themselves); the OAuth scopes,
// memory limit, allowed hosts and trusted proxies either build or are
// refused with the variable's name, never half-read.
func FuzzSettings(f *testing.F) {
	names := (&Config{}).Settings()
	for i, s := range names {
		f.Add(uint8(i), s.Default)
	}
	for _, s := range []struct{ name, value string }{
		{"oauth-scopes", "read:Read scope,write:Write scope,groups:Access to your groups"},
		{"oauth-scopes", "read,,write:,  : x"},
		{"oauth-scopes", "re ad:x"},
		{"oauth-scopes", "read:a,b:c:d,read:again"},
		{"memory-limit", "512MiB"}, {"memory-limit", "99999999TiB"}, {"memory-limit", "+5MiB"}, {"memory-limit", "-0"},
		{"allowed-hosts", "gatehouse.example.com, .example.com,[::1],*"}, {"allowed-hosts", ", ,"},
		{"trusted-proxies", "10.0.0.0/8,::1,192.168.1.1/33"}, {"trusted-proxies", "fe80::1%eth0"},
		{"session-lifetime", "9223372036854775807"}, {"session-lifetime", "18446744074"}, {"oauth-code-lifetime", "11m"}, {"login-url", "/o/login/"},
		{"max-in-flight", "-1"}, {"cookie-secure", "yes"},
	} {
		for i, n := range names {
			if n.Name == s.name {
				f.Add(uint8(i), s.value)
			}
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		s := names[int(which)%len(names)]
		getenv := func(k string) string {
			if k == s.Env() {
				return value
			}
			return ""
		}
		var c Config
		fs := flag.NewFlagSet("gatehouse serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if err := c.Parse(fs, nil, getenv); err != nil {
			if !strings.Contains(err.Error(), s.Env()) {
				t.Fatalf("%s=%q refused without its name: %v", s.Env(), value, err)
			}
			return
		}
		readBack := c // its Settings() hold pointers into readBack, not c
		for _, x := range readBack.Settings() {
			if x.Name != s.Name {
				continue
			}
			// A whole number is seconds, exactly.
			if d, ok := x.Value.(*durationValue); ok {
				if n, err := strconv.ParseInt(value, 10, 64); err == nil && time.Duration(*d)/time.Second != time.Duration(n) {
					t.Fatalf("%s=%q reads as %v", s.Env(), value, time.Duration(*d))
				}
			}
			again := x.Value.String()
			if err := x.Value.Set(again); err != nil || x.Value.String() != again {
				t.Fatalf("%s=%q reads as %q, which reads as %q (%v)", s.Env(), value, again, x.Value.String(), err)
			}
		}
		e := &env{cfg: c}
		if o, err := e.oauthOptions(); err == nil {
			e.cfg.OAuthScopes = scopesSetting(o.Scopes)
			if o2, err := e.oauthOptions(); err != nil || !reflect.DeepEqual(o2.Scopes, o.Scopes) {
				t.Fatalf("scopes %q read as %v, written as %q, read again as %v (%v)", c.OAuthScopes, o.Scopes, e.cfg.OAuthScopes, o2.Scopes, err)
			}
		}
		p, err := oauth.New(oauth.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		scfg := server.DefaultConfig()
		scfg.AllowedHosts, scfg.TrustedProxies = SplitList(c.AllowedHosts), SplitList(c.TrustedProxies)
		if _, err := server.New(server.Deps{OAuth: p, Config: scfg}); err != nil && !strings.Contains(err.Error(), "GATEHOUSE_") {
			t.Fatalf("hosts %q proxies %q refused without a name: %v", c.AllowedHosts, c.TrustedProxies, err)
		}
	})
}
