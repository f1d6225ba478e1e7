// Package server is gatehouse's HTTP layer: it decodes requests, calls the
// domain and the store, and encodes responses in the shapes Django REST
// Framework, simplejwt and Django OAuth Toolkit clients expect
// (shared/reference/CONTRACT.md).
package server

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// Config holds the HTTP-level settings; the zero value is not useful, start
// from DefaultConfig.
type Config struct {
	// PageSize is the number of users on one page of /api/users/.
	PageSize int
	// AllowQueryToken accepts OAuth access tokens in the ?access_token=
	// query parameter, as DOT does. Off by default: URLs leak into logs.
	AllowQueryToken bool
	// AuthCacheTTL bounds how long a replica may keep answering from its
	// cache of OAuth applications after another replica changed them.
	AuthCacheTTL time.Duration
	// JWT holds the simplejwt options.
	JWT JWTOptions
	// OAuth holds the OAuth2 provider's options (oauth_config.go).
	OAuth oauth.Config
}

// JWTOptions are simplejwt's settings of the same names.
type JWTOptions struct {
	RotateRefreshTokens    bool
	BlacklistAfterRotation bool
	UpdateLastLogin        bool
}

// DefaultConfig returns the defaults documented in docs/configuration.md.
func DefaultConfig() Config {
	return Config{
		PageSize:     20,
		AuthCacheTTL: 5 * time.Second,
		JWT:          JWTOptions{BlacklistAfterRotation: true},
		OAuth:        oauth.DefaultConfig(),
	}
}

// Deps are what the server is built from: the services it calls and the
// storage interfaces its OAuth endpoints still reach directly.
type Deps struct {
	Store    gatehouse.Store
	Accounts *accounts.Service
	Authn    *authn.Authenticator
	Box      *secret.Box
	JWT      *jwt.Codec // nil disables the simplejwt endpoints and scheme
	Log      *slog.Logger
	Now      func() time.Time // nil means time.Now
	Random   io.Reader        // nil means crypto/rand
	Config   Config

	// ClientSecrets hashes OAuth client secrets; nil means a key random to
	// this process (tests), so stored secrets would not verify after a restart.
	ClientSecrets *gatehouse.SecretHasher
}

// Server is the gatehouse HTTP handler.
type Server struct {
	store    gatehouse.Store
	accounts *accounts.Service
	authn    *authn.Authenticator
	box      *secret.Box
	jwt      *jwt.Codec
	log      *slog.Logger
	now      func() time.Time
	random   io.Reader
	cfg      Config
	handler  http.Handler

	apps    *appCache
	secrets *gatehouse.SecretHasher
}

// New builds the server. It starts no background work: the services in d
// are the caller's to run and close. It fails only when the random source
// does.
func New(d Deps) (*Server, error) {
	s := &Server{store: d.Store, accounts: d.Accounts, authn: d.Authn, box: d.Box, jwt: d.JWT, log: d.Log, now: d.Now,
		random: d.Random, cfg: d.Config}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.PageSize <= 0 {
		s.cfg.PageSize = 20
	}
	s.apps = newAppCache(s.cfg.AuthCacheTTL, s.now)
	if err := s.initOAuth(d.ClientSecrets); err != nil {
		return nil, err
	}
	s.handler = s.middleware(s.routes())
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
