// Package server is gatehouse's HTTP layer: it decodes requests, calls the
// services (accounts, authn, oauth, simplejwt), and encodes responses in the
// shapes Django REST Framework, simplejwt and Django OAuth Toolkit clients
// expect (the reference's CONTRACT.md).
//
// Files are grouped by wire format: drf_*.go (DRF views and the
// authentication chain), jwt_*.go (simplejwt views), oauth_*.go (DOT's
// endpoints), html_*.go (the login, consent and account pages). routes.go
// lists every route; errors.go is the one place errors become responses.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/branding"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/policy"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Config holds the HTTP-level settings; the zero value is not useful, start
// from DefaultConfig.
type Config struct {
	// PageSize is the number of users on one page of /api/users/.
	PageSize int
	// UserList is who sees whom on GET /api/users/: every user to any
	// authenticated caller (gatehouse.UserListAll, the reference's and the
	// default), to staff only, or each caller their own record.
	UserList gatehouse.UserListAccess
	// AllowQueryToken accepts OAuth access tokens in the ?access_token=
	// query parameter, as DOT does. Off by default: URLs leak into logs.
	AllowQueryToken bool
	// RequestTimeout bounds the work of one request, every database call
	// and the wait for a password-hash slot included; past it the request
	// is answered 503 with Retry-After. 0 means no bound.
	RequestTimeout time.Duration
	// AllowedHosts are the host names requests may name (Django's
	// ALLOWED_HOSTS): exact names, ".example.com" for a domain and its
	// subdomains, or "*". Any other Host is answered 400.
	AllowedHosts []string
	// TrustedProxies are the peers (IP addresses or CIDR prefixes) whose
	// X-Forwarded-Proto, -Host and -For headers are believed.
	TrustedProxies []string
	// CORSOrigins are the browser origins allowed to call the DRF and
	// simplejwt views and to read the public OAuth documents (cors.go),
	// beside those OAuth applications list.
	CORSOrigins []string
	// MaxInFlight bounds the requests served at once; beyond it a request
	// is answered 503 with Retry-After at once, so that memory and file
	// descriptors stay flat through a database outage. 0 means no bound.
	MaxInFlight int
	// JWTHeaderTypes are the keywords the simplejwt scheme takes before a
	// token, compared exactly (simplejwt's AUTH_HEADER_TYPES); nil means
	// Bearer.
	JWTHeaderTypes []string
	// UsernameField is the field simplejwt's obtain view reads the login
	// name from: its serializer names it after the user model's
	// USERNAME_FIELD ("email" for a custom user model that logs in by
	// e-mail). DRF's obtain_auth_token and DOT's password grant always
	// read username. "" means username.
	UsernameField string
	// JWTHeaderName is the request header the simplejwt scheme reads
	// (AUTH_HEADER_NAME, HTTP_AUTHORIZATION, as a header name); "" means
	// Authorization. The other schemes always read Authorization.
	JWTHeaderName string
	// MountPrefix is the path gatehouse's routes are served under when a
	// program mounts the handler with http.StripPrefix (or a proxy strips
	// it): "/auth" for /auth/api/me/. Every URL gatehouse writes carries
	// it: redirects, the login page's next, form actions and links, the
	// paths of its cookies, pagination links. "" (the default) serves at
	// the root. It is configuration only: no request header sets it.
	MountPrefix string
	// Issuer is gatehouse's public URL (scheme, host and the mount prefix,
	// no trailing slash), the issuer of the RFC 8414 metadata at
	// /.well-known/oauth-authorization-server; "" serves no metadata. It
	// comes from configuration, never from a request.
	Issuer string
	// MetricsPath serves Deps.Metrics on the main handler at this path
	// (GET and HEAD), such as /metrics; "" (the default) does not. It must
	// not be a path gatehouse serves.
	MetricsPath string
	// TemplatesDir is a directory of templates replacing the end-user
	// pages' built-in ones (login, consent, error, ...) and of the static
	// files they link to, served under /static/branding/ (package
	// branding; docs/branding.md). It is read and checked by New: a
	// template that does not parse or names a field its page lacks
	// refuses the start. "" (the default): the built-in pages.
	TemplatesDir string
}

// DefaultConfig returns the defaults documented in docs/configuration.md.
func DefaultConfig() Config {
	return Config{
		PageSize:       20,
		UserList:       gatehouse.UserListAll,
		RequestTimeout: 5 * time.Second,
		MaxInFlight:    1024,
		AllowedHosts:   []string{"localhost", "127.0.0.1", "::1"},
	}
}

// Store is the storage the HTTP layer reaches directly: only the
// readiness check. Everything else goes through the services.
type Store interface {
	// Ready is nil when the store can serve reads and writes.
	Ready(ctx context.Context) error
}

// Deps are what the server is built from: the services it calls and the
// storage it reads directly.
type Deps struct {
	Store    Store
	Accounts *accounts.Service
	Authn    *authn.Authenticator
	OAuth    *oauth.Provider
	Box      *secret.Box
	JWT      *simplejwt.Service // nil disables the simplejwt endpoints and scheme
	// Limiter applies the throttle rates per scope (nil: none).
	Limiter *throttle.Limiter
	Log     *slog.Logger
	Now     func() time.Time // nil means time.Now
	Random  io.Reader        // nil means crypto/rand
	Config  Config

	// ForwardAuth is the policy of the forward-auth endpoint /auth/verify/
	// (nil: the endpoint is not served).
	ForwardAuth *policy.Policy
	// OIDC makes gatehouse an OpenID Connect provider: discovery, the
	// JWKS, userinfo, RP-initiated logout, and prompt, max_age and the
	// hints on /o/authorize/ (nil: none, as DOT without OIDC_ENABLED). It
	// needs the issuer, and OAuth built with it as its IDTokens.
	OIDC *oidc.Provider

	// Observer is told of every request served (nil: none): the metrics.
	Observer RequestObserver
	// Metrics is the handler of Config.MetricsPath (nil: the path is not
	// served).
	Metrics http.Handler
	// Tracer starts a trace span for each request (nil: none, and the
	// middleware does nothing more): the tracing.
	Tracer RequestTracer
	// Admin is the administration behind the admin API /api/admin/
	// (admin_api_*.go); nil: the API is not served.
	Admin *admin.Service
}

// RequestObserver is told of each request once it is answered: route is
// the pattern of routes.go that served it ("" when none did: an unknown
// path, a slash redirect, a refused host, a shed request), never the request's own path, so
// that its values are few; status is the status sent (200 when the handler
// wrote nothing); elapsed runs from the middleware's start. It runs on
// every request, after the response: it must be quick and safe for
// concurrent use.
type RequestObserver interface {
	ObserveRequest(route string, status int, elapsed time.Duration)
}

// RequestTracer starts a span for each request. StartRequest is called as
// the request arrives, before any handler, with its method and headers
// (for an incoming traceparent); the handlers run with the context it
// returns. end is called once the response is sent with what a
// RequestObserver is told (route and status) and the user and OAuth client
// the request authenticated as (0 and "" when none). Neither ever sees the
// request's path, query or credentials. It must be safe for concurrent use.
type RequestTracer interface {
	StartRequest(ctx context.Context, method string, header http.Header) (_ context.Context, end func(route string, status int, userID int64, clientID string))
}

// Server is the gatehouse HTTP handler.
type Server struct {
	store       Store
	accounts    *accounts.Service
	authn       *authn.Authenticator
	oauth       *oauth.Provider
	box         *secret.Box
	pairs       *simplejwt.Service
	limiter     *throttle.Limiter
	fwd         *policy.Policy
	oidc        *oidc.Provider
	log         *slog.Logger
	now         func() time.Time
	random      io.Reader
	cfg         Config
	ocfg        oauth.Config // the provider's: scopes, the login page, sessions
	logoutURL   string       // the logout page's path, beside the login page
	handler     http.Handler
	inflight    chan struct{} // one token per request being served; nil: unbounded
	proxies     []netip.Prefix
	hosts       []string         // AllowedHosts as hostAllowed compares them
	corsOrigins []string         // CORSOrigins, normalised (gatehouse.ParseOrigin)
	metadata    http.HandlerFunc // the RFC 8414 document; nil without an issuer
	observer    RequestObserver  // nil: none
	tracer      RequestTracer    // nil: none
	metrics     http.Handler     // served at cfg.MetricsPath; nil: not served
	routeErr    error            // a route routes could not add (the metrics path)
	docs        *apiDocs         // the OpenAPI document and its page, built at first use (apiDocs, api_schema.go)
	docsOnce    sync.Once
	docsErr     error
	jwksDoc     atomic.Pointer[jwksDoc] // the last JWKS document served (oauth_oidc.go)
	admin       *admin.Service          // nil: no admin API

	// The templates directory (html_pages.go).
	brand       *branding.Set // its pages; nil: the built-in ones
	brandStatic string        // the URL path of its static files; "": none
}

// New builds the server. It starts no background work: the services in d
// are the caller's to run and close. It fails on a trusted proxy that is
// not an IP address or prefix.
func New(d Deps) (*Server, error) {
	s := &Server{store: d.Store, accounts: d.Accounts, authn: d.Authn, oauth: d.OAuth, box: d.Box, pairs: d.JWT, limiter: d.Limiter, fwd: d.ForwardAuth, oidc: d.OIDC, log: d.Log, now: d.Now,
		random: d.Random, cfg: d.Config, observer: d.Observer, tracer: d.Tracer, metrics: d.Metrics, admin: d.Admin}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.PageSize <= 0 {
		s.cfg.PageSize = 20
	}
	s.ocfg = d.OAuth.Config()
	s.logoutURL = logoutURLFor(s.ocfg.LoginURL)
	if s.cfg.MaxInFlight > 0 {
		s.inflight = make(chan struct{}, s.cfg.MaxInFlight)
	}
	if err := s.checkConfig(); err != nil {
		return nil, err
	}
	if s.oidc != nil && (s.oidc.Config().BaseURL != s.cfg.Issuer || (s.oidc.Config().Issuer != s.cfg.Issuer && s.oidc.Config().Issuer != s.cfg.Issuer+"/o")) {
		return nil, fmt.Errorf("OpenID Connect's issuer %q is neither the server's %q nor Django OAuth Toolkit's %q", s.oidc.Config().Issuer, s.cfg.Issuer, s.cfg.Issuer+"/o")
	}
	if s.cfg.Issuer != "" {
		var err error
		if s.metadata, err = s.metadataHandler(); err != nil {
			return nil, fmt.Errorf("the OAuth metadata: %w", err)
		}
	}
	s.handler = s.middleware(s.routes())
	if s.routeErr != nil {
		return nil, s.routeErr
	}
	return s, nil
}

// CheckConfig runs the checks New makes of c alone, without services: the
// settings serve would refuse, for `gatehouse config` to report and for a
// start to refuse before it opens (and migrates) the database.
func CheckConfig(c Config) error {
	s := &Server{cfg: c, log: slog.New(slog.DiscardHandler)}
	return s.checkConfig()
}

// checkConfig checks s.cfg and keeps what it parsed (the proxies, the
// origins, the hosts, the branded pages).
func (s *Server) checkConfig() error {
	proxies, err := parseProxies(s.cfg.TrustedProxies)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_TRUSTED_PROXIES: want IP addresses or CIDR prefixes: %w", err)
	}
	s.proxies = proxies
	for _, o := range s.cfg.CORSOrigins {
		n, err := gatehouse.ParseOrigin(o, true)
		if err != nil {
			return fmt.Errorf("GATEHOUSE_CORS_ALLOWED_ORIGINS: %w", err)
		}
		s.corsOrigins = append(s.corsOrigins, n)
	}
	if s.cfg.UserList, err = gatehouse.ParseUserListAccess(string(s.cfg.UserList)); err != nil {
		return fmt.Errorf("GATEHOUSE_USER_LIST: %w", err)
	}
	if err := s.checkJWTHeader(); err != nil {
		return err
	}
	if err := CheckMountPrefix(s.cfg.MountPrefix); err != nil {
		return fmt.Errorf("GATEHOUSE_MOUNT_PREFIX: %w", err)
	}
	if err := CheckIssuer(s.cfg.Issuer); err != nil {
		return fmt.Errorf("GATEHOUSE_ISSUER: %w", err)
	}
	if s.hosts = normalHosts(s.cfg.AllowedHosts); len(s.hosts) == 0 {
		return errors.New("GATEHOUSE_ALLOWED_HOSTS is empty: every request would be refused (set the public host name, or * for any)")
	}
	if s.cfg.MetricsPath != "" {
		if err := CheckMountPrefix(s.cfg.MetricsPath); err != nil {
			return fmt.Errorf("GATEHOUSE_METRICS_PATH_ON_MAIN: %w", err)
		}
	}
	if err := s.loadBranding(); err != nil {
		return fmt.Errorf("GATEHOUSE_TEMPLATES_DIR: %w", err)
	}
	return nil
}

// CheckMountPrefix refuses a mount prefix that is not "" or a clean path
// starting with "/" and not ending with one, of letters, digits and
// "-._~/" (so that it is written into URLs and cookie paths as it is).
func CheckMountPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || path.Clean(p) != p {
		return fmt.Errorf("want a path such as /auth (a leading slash, no trailing slash, no dot segments), got %q", p)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0) {
			return fmt.Errorf("%q has %q: want letters, digits and -._~/ only", p, c)
		}
	}
	return nil
}

// CheckIssuer refuses an issuer that is not "" or an https URL without
// query, fragment, user information or trailing slash (RFC 8414 2); http
// is accepted for a loopback host only, for development.
func CheckIssuer(issuer string) error {
	if issuer == "" {
		return nil
	}
	u, err := url.Parse(issuer)
	want := "want the public URL gatehouse is reached at, such as https://auth.example.com (no query, fragment or trailing slash)"
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		strings.HasSuffix(issuer, "/") || u.String() != issuer {
		return fmt.Errorf("%s, got %q", want, issuer)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	default:
		return fmt.Errorf("%q: an issuer must be https (http only for localhost, 127.0.0.1 or ::1)", issuer)
	}
	return CheckMountPrefix(u.Path)
}

// loopbackHost reports whether h names this machine's loopback interface.
func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}

// url is the path p of a route as the client sees it: under the mount
// prefix.
func (s *Server) url(p string) string { return s.cfg.MountPrefix + p }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
