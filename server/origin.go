package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The origin of a request: the scheme and host a client used, which links
// (pagination) and cookies (Secure) follow. Behind a proxy the connection
// says neither, so X-Forwarded-Proto and X-Forwarded-Host are read, but
// only from a peer in Config.TrustedProxies: from anyone else they would
// let a client choose the links gatehouse writes. The host must be one of
// Config.AllowedHosts (Django's ALLOWED_HOSTS), else the request is
// answered 400 before any route runs.

// origin is what the middleware found of a request's origin.
type origin struct {
	scheme, host string
	clientIP     netip.Addr // the peer, or the client a trusted proxy names
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

// originOf works out r's origin.
func (s *Server) originOf(r *http.Request) origin {
	o := origin{scheme: "http", host: r.Host}
	if r.TLS != nil {
		o.scheme = "https"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, _ := netip.ParseAddr(host)
	o.clientIP = peer.Unmap()
	if !o.clientIP.IsValid() || !s.trusted(o.clientIP) {
		return o
	}
	if p := lastField(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		o.scheme = p
	}
	if h := lastField(r.Header.Get("X-Forwarded-Host")); h != "" {
		o.host = h
	}
	// The client is the last address before the trusted proxies.
	fields := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(fields) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(fields[i]))
		if err != nil {
			break
		}
		o.clientIP = a.Unmap()
		if !s.trusted(o.clientIP) {
			break
		}
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

// hostAllowed is Django's validate_host: an exact name, ".example.com" for
// it and its subdomains, or "*"; the port is ignored.
func (s *Server) hostAllowed(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	for _, pat := range s.cfg.AllowedHosts {
		pat = strings.ToLower(strings.Trim(pat, "[]"))
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
