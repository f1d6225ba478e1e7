package server

import (
	"net/http/httptest"
	"testing"
)

// The client's address is the peer's unless the peer is a trusted proxy;
// then it is the nearest X-Forwarded-For entry no trusted proxy wrote, so
// a client cannot choose the address it is throttled and audited under.
func TestClientAddr(t *testing.T) {
	proxies, err := parseProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	withProxies := &Server{proxies: proxies}
	without := &Server{}
	for _, c := range []struct {
		s      *Server
		peer   string
		xff    []string
		want   string
		reason string
	}{
		{without, "198.51.100.9:4000", []string{"203.0.113.5"}, "198.51.100.9", "no trusted proxies: the header is not read"},
		{withProxies, "198.51.100.9:4000", []string{"203.0.113.5"}, "198.51.100.9", "an untrusted peer's header is not read"},
		{withProxies, "10.1.2.3:4000", nil, "10.1.2.3", "a trusted peer without the header"},
		{withProxies, "10.1.2.3:4000", []string{"203.0.113.5"}, "203.0.113.5", "one proxy"},
		{withProxies, "10.1.2.3:4000", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5", "the client's own entry on the left is ignored"},
		{withProxies, "10.1.2.3:4000", []string{"6.6.6.6, 203.0.113.5, 192.0.2.7"}, "203.0.113.5", "two proxies"},
		{withProxies, "10.1.2.3:4000", []string{"6.6.6.6", "203.0.113.5, 10.9.9.9"}, "203.0.113.5", "the header split over two lines"},
		{withProxies, "10.1.2.3:4000", []string{"203.0.113.5, bogus"}, "10.1.2.3", "garbage is blamed on the hop that passed it"},
		{withProxies, "10.1.2.3:4000", []string{"10.7.7.7"}, "10.7.7.7", "only proxies: the farthest one"},
		{withProxies, "[::ffff:10.1.2.3]:4000", []string{"[2001:db8::1]"}, "10.1.2.3", "a bracketed entry does not parse"},
		{withProxies, "[::ffff:10.1.2.3]:4000", []string{"2001:db8::1"}, "2001:db8::1", "IPv6 and mapped IPv4"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.s.clientAddr(r).String(); got != c.want {
			t.Errorf("%s: peer %s, X-Forwarded-For %q: got %s, want %s", c.reason, c.peer, c.xff, got, c.want)
		}
	}
}
