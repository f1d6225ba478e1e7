package server

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// The origin of a request: the scheme and host a client used, which links
// (pagination) and cookies (Secure) follow. Behind a proxy the connection
// says neither, so X-Forwarded-Proto and X-Forwarded-Host are read, but
// only from a peer in Config.TrustedProxies: from anyone else they would
// let a client choose the links gatehouse writes. The client's address
// (throttling, the audit log) is the connection's peer, or from a trusted
// peer the nearest X-Forwarded-For entry that is not itself a trusted
// proxy. The host must be one of
// Config.AllowedHosts (Django's ALLOWED_HOSTS), else the request is
// answered 400 before any route runs.

// origin is what the middleware found of a request's origin.
type origin struct {
	scheme, host string
}

// parseProxies reads the trusted proxies: IP addresses or CIDR prefixes.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range list {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the connection's remote address; invalid if unparsable
// (a test's or a unix socket's).
func peerAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// clientAddr is the address of the client r came from. Entries of
// X-Forwarded-For are read from the right, each appended by the hop
// before; the first one that is not a trusted proxy is the client. An
// entry that does not parse was written by the client itself, so the hop
// that passed it on is taken. A client cannot choose its address this
// way: the nearest untrusted entry is one a trusted proxy wrote.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	if len(s.proxies) == 0 || !peer.IsValid() || !s.trusted(peer) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			field := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				field, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(field))
			if err != nil {
				return client
			}
			client = a.Unmap()
			if !s.trusted(client) {
				return client
			}
		}
	}
	return client
}

// originOf works out r's origin. Without trusted proxies (the default)
// it only reads the connection: no header, no address parsing.
func (s *Server) originOf(r *http.Request) origin {
	o := origin{scheme: "http", host: r.Host}
	if r.TLS != nil {
		o.scheme = "https"
	}
	if len(s.proxies) == 0 {
		return o
	}
	if peer := peerAddr(r); !peer.IsValid() || !s.trusted(peer) {
		return o
	}
	if p := lastField(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		o.scheme = p
	}
	if h := lastField(r.Header.Get("X-Forwarded-Host")); h != "" {
		o.host = h
	}
	return o
}

// lastField is the value the nearest proxy appended to a comma-separated header.
func lastField(v string) string {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// stripPort drops the port of a Host value ("name:8000", "[::1]:8000").
// It runs on every request: unlike net.SplitHostPort it allocates nothing
// when there is no port.
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			return host[:i+1]
		}
		return host
	}
	if i := strings.IndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		return host[:i]
	}
	return host
}

// normalHosts writes the allowed-host patterns as hostAllowed compares
// them, once at start: lower case, IPv6 literals without brackets.
func normalHosts(patterns []string) []string {
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if p = strings.ToLower(strings.Trim(strings.TrimSpace(p), "[]")); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// hostAllowed is Django's validate_host: an exact name, ".example.com" for
// it and its subdomains, or "*"; the port is ignored. A host of another
// shape than Django's (validHost) is refused whatever the patterns: only
// the suffix would be compared, and "evil.test/.example.com" would pass
// into the links gatehouse writes.
func (s *Server) hostAllowed(host string) bool {
	if !validHost(host) {
		return false
	}
	host = stripPort(host)
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	for _, pat := range s.hosts {
		switch {
		case pat == "*":
			return true
		case strings.HasPrefix(pat, "."):
			if host == pat[1:] || strings.HasSuffix(host, pat) {
				return true
			}
		case host == pat:
			return true
		}
	}
	return false
}

// validHost reports whether host has the shape of Django's
// host_validation_re, in ASCII and either case: a name of letters,
// digits, dots and hyphens, or an IPv6 literal in brackets (hex digits, a
// colon, then hex digits, dots and colons), then optionally ":" and
// digits. It allocates nothing: it runs on every request.
func validHost(host string) bool {
	i := 0
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		lit := host[1:end]
		colon := strings.IndexByte(lit, ':')
		if colon < 0 || colon == len(lit)-1 {
			return false
		}
		for j := 0; j < len(lit); j++ {
			if c := lit[j]; !isHex(c) && c != ':' && (c != '.' || j < colon) {
				return false
			}
		}
		i = end + 1
	} else {
		for i < len(host) && (isHex(host[i]) || host[i] >= 'g' && host[i] <= 'z' || host[i] >= 'G' && host[i] <= 'Z' ||
			host[i] == '.' || host[i] == '-') {
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(host) {
		return true
	}
	if host[i] != ':' || i+1 == len(host) {
		return false
	}
	for j := i + 1; j < len(host); j++ {
		if host[j] < '0' || host[j] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// crossOrigin reports whether a browser says r, an unsafe request of a
// session, came from a page of another origin, and which (the Origin
// header, "null" without one). A browser that sends Sec-Fetch-Site is
// taken at its word: cross-site and same-site (a sibling host) are
// refused, same-origin and none (the user's own navigation) pass. A
// browser too old for it is judged by its Origin, which must be r's own
// origin (originOf: behind a trusted proxy the forwarded scheme and
// host). A request with neither header, a program's or an old browser's
// same-origin form, is left to the CSRF token. The token is the defence,
// as in Django; this check is a second one, as Django 4's Origin check and
// Go's http.CrossOriginProtection are, for a token that leaked.
func (s *Server) crossOrigin(r *http.Request) (string, bool) {
	got := r.Header.Get("Origin")
	shown := got
	if shown == "" {
		shown = "null"
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return "", false
	case "":
	default:
		return shown, true
	}
	if got == "" {
		return "", false
	}
	// Both as origins are compared (gatehouse.ParseOrigin: lower case,
	// no default port); an Origin that is none ("null") is another's.
	o := s.originOf(r)
	own, err := gatehouse.ParseOrigin(o.scheme+"://"+o.host, true)
	from, err2 := gatehouse.ParseOrigin(got, true)
	if err != nil || err2 != nil || from != own {
		return shown, true
	}
	return "", false
}
