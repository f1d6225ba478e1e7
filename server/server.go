// Package server is gatehouse's HTTP layer: it decodes requests, calls the
// domain and the store, and encodes responses in the shapes Django REST
// Framework, simplejwt and Django OAuth Toolkit clients expect
// (shared/reference/CONTRACT.md).
package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/store"
)

// Config holds the HTTP-level settings; the zero value is not useful, start
// from DefaultConfig.
type Config struct {
	// PageSize is the number of users on one page of /api/users/.
	PageSize int
	// AllowQueryToken accepts OAuth access tokens in the ?access_token=
	// query parameter, as DOT does. Off by default: URLs leak into logs.
	AllowQueryToken bool
	// PasswordPolicy is applied on every path that sets a password.
	PasswordPolicy password.Policy
	// TokenTouchInterval is how often batched "last used" times of DRF
	// tokens are written.
	TokenTouchInterval time.Duration
	// AuthCacheTTL bounds how long a replica may keep answering from its
	// cache of token and user lookups after another replica revoked them.
	// Revocations made through this replica take effect at once.
	AuthCacheTTL time.Duration
	// JWT holds the simplejwt options.
	JWT JWTOptions
	// OAuth holds the OAuth2 provider's options (oauth_config.go).
	OAuth OAuthOptions
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
		PageSize:           20,
		PasswordPolicy:     password.DefaultPolicy,
		TokenTouchInterval: 10 * time.Second,
		AuthCacheTTL:       5 * time.Second,
		JWT:                JWTOptions{BlacklistAfterRotation: true},
		OAuth:              DefaultOAuthOptions(),
	}
}

// Deps are what the server is built from.
type Deps struct {
	Store  *store.Store
	Hasher *password.Hasher
	Box    *secret.Box
	JWT    *jwt.Codec // nil disables the simplejwt endpoints and scheme
	Log    *slog.Logger
	Now    func() time.Time // nil means time.Now
	Random io.Reader        // nil means crypto/rand
	Config Config

	// ClientSecrets hashes OAuth client secrets; nil means a key random to
	// this process (tests), so stored secrets would not verify after a restart.
	ClientSecrets *gatehouse.SecretHasher

	// HashMemory, when set, is called with the memory one password hash
	// needs each time a stored hash needs more than any before it (a
	// Django argon2 hash at 100 MiB, say), before that hash runs.
	HashMemory func(bytes int64)
}

// Server is the gatehouse HTTP handler.
type Server struct {
	store   *store.Store
	hasher  *password.Hasher
	box     *secret.Box
	jwt     *jwt.Codec
	log     *slog.Logger
	now     func() time.Time
	random  io.Reader
	cfg     Config
	handler http.Handler

	cache   *authCache
	apps    *appCache
	hashing *hashSlots
	touches *touchBatch
	secrets *gatehouse.SecretHasher

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New builds the server and starts its background work (batched token
// touches); Close stops it.
func New(d Deps) *Server {
	s := &Server{store: d.Store, hasher: d.Hasher, box: d.Box, jwt: d.JWT, log: d.Log, now: d.Now,
		random: d.Random, cfg: d.Config, stop: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.PageSize <= 0 {
		s.cfg.PageSize = 20
	}
	s.cache = newAuthCache(s.cfg.AuthCacheTTL, s.now)
	s.apps = newAppCache(s.cfg.AuthCacheTTL, s.now)
	s.hashing = newHashSlots(d.HashMemory)
	s.initOAuth(d.ClientSecrets)
	s.touches = newTouchBatch()
	s.handler = s.middleware(s.routes())
	if s.cfg.TokenTouchInterval > 0 {
		s.wg.Add(1)
		go s.touchLoop()
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops background work and writes pending token touches.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.flushTouches(context.Background())
}

func (s *Server) touchLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TokenTouchInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.flushTouches(context.Background())
		}
	}
}

func (s *Server) flushTouches(ctx context.Context) {
	if used := s.touches.take(); len(used) > 0 {
		if err := s.store.TouchTokens(ctx, used); err != nil {
			s.log.Error("recording token use", "err", err)
		}
	}
}

// touchBatch collects "last used" times of DRF tokens between writes.
type touchBatch struct {
	mu   sync.Mutex
	used map[int64]time.Time
}

func newTouchBatch() *touchBatch { return &touchBatch{used: map[int64]time.Time{}} }

func (b *touchBatch) add(id int64, at time.Time) {
	b.mu.Lock()
	b.used[id] = at
	b.mu.Unlock()
}

func (b *touchBatch) take() map[int64]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.used) == 0 {
		return nil
	}
	out := b.used
	b.used = map[int64]time.Time{}
	return out
}
