package site

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/admin"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"github.com/gatehouse-auth/gatehouse/internal/startwait"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/knox"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/oidc"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/policy"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/store"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Services are the store and the services built from one Config: what
// the CLI's commands call, and what a Site serves. Close releases them.
type Services struct {
	Store    *store.Store
	Box      *secret.Box
	JWT      *jwt.Codec
	Accounts *accounts.Service
	Authn    *authn.Authenticator
	Clients  *oauth.Clients
	OAuth    *oauth.Provider
	// OAuthConfig is the OAuth provider's configuration, checked.
	OAuthConfig oauth.Config
	// Secrets hashes OAuth client secrets under the server secret.
	Secrets *gatehouse.SecretHasher
	// Counters hold the throttles' and the guards' counts.
	Counters   gatehouse.ThrottleStore
	Limiter    *throttle.Limiter
	Audit      *audit.Recorder
	KnoxConfig knox.Config
	// Keys are the signing keys of id_tokens and JWT access tokens, in the
	// database; Open runs their rotation for the server's lifetime.
	Keys *keys.Manager
	// OIDC is the OpenID Connect provider, nil when it is off (no issuer,
	// or GATEHOUSE_OIDC_ENABLED=false).
	OIDC *oidc.Provider
	// Admin is the administration (users, groups, applications,
	// credentials) the admin API and the admin site serve.
	Admin *admin.Service
	// Cleaner removes what expired; Open runs it for the server's
	// lifetime, and the admin's status page shows its progress.
	Cleaner *oauth.Cleaner

	log *slog.Logger
}

func (e *env) open(ctx context.Context, migrate bool) (*Services, error) {
	// Every setting that can be checked without the database is, before
	// anything is created, opened or migrated: a refused start changes
	// nothing (and leaves an upgrade's migrations unapplied).
	if err := e.settle(); err != nil {
		return nil, err
	}
	if err := checkDatabaseURL(e.cfg.DatabaseURL, e.cfg.DatabaseCreateDirs); err != nil {
		return nil, err
	}
	key, err := e.secretKey()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(e.cfg.DatabaseWait)
	once := func() (*Services, error) {
		st, err := store.Open(ctx, e.cfg.DatabaseURL, store.WithLogger(e.log), store.WithConnectWait(max(time.Until(deadline), 0)))
		if err != nil {
			e.dropGeneratedSecret()
			return nil, err
		}
		a, err := e.wire(ctx, st, key, migrate)
		if err != nil {
			st.Close()
			return nil, err
		}
		if migrate {
			if err := probeWrite(ctx, st); err != nil {
				a.Close()
				return nil, err
			}
		}
		return a, nil
	}
	if !isPostgres(e.cfg.DatabaseURL) {
		return once()
	}
	return startAgain(ctx, deadline, e.log, once)
}

// startAgain runs open, and runs it again while it fails as a PostgreSQL
// server that is restarting, failing over or cutting sessions makes it fail
// after connecting (an error the store classifies as unavailable: a
// session ended by an administrator, a connection lost, too many
// connections), after pauses from a quarter of a second doubling to two
// seconds, until deadline (GATEHOUSE_DATABASE_WAIT from the start); each
// try is logged as a warning. open leaves nothing open when it fails.
// Other errors (a wrong secret, a refused setting, a failed migration
// that is not a lost session) end the start at once.
func startAgain(ctx context.Context, deadline time.Time, log *slog.Logger, open func() (*Services, error)) (*Services, error) {
	pauses := startwait.Until(deadline)
	for attempt := 1; ; attempt++ {
		a, err := open()
		if err == nil || gatehouse.ErrorCode(err) != gatehouse.EUNAVAILABLE || !pauses.Due() {
			return a, err
		}
		log.Warn("the database failed during the start; trying again", "attempt", attempt,
			"retry_in", pauses.Next().String(), "gives_up_at", deadline.Format(time.RFC3339), "error", err.Error())
		if !pauses.Wait(ctx) {
			return nil, err
		}
	}
}

// settled is what the settings give that needs no database, built and
// checked once before the start opens anything (settle) and taken on by
// wire and serverFor.
type settled struct {
	hasher     *password.Hasher
	passwords  password.Policy
	ocfg       oauth.Config
	kcfg       knox.Config
	sdeps      keys.Deps
	rates      throttle.Rates
	issuer     string // the public URL ("" off a loopback address without GATEHOUSE_ISSUER)
	oidcIssuer string
	server     server.Config
	fwd        *policy.Policy
}

// settle runs every check of the settings that needs no database (the
// server secret, the password hashers and validators, simplejwt's keys,
// the OAuth, knox, signing-key, issuer, throttle and HTTP server
// settings, the forward-auth policy) and keeps what they built in
// e.settled. A secret to be generated (or read from the SQLite database's
// secret file) is stood in for by one of a generated secret's length: the
// codec built with it is only checked, wire builds the one it uses.
func (e *env) settle() error {
	key := e.cfg.SecretKey
	if key == "" {
		key = strings.Repeat("s", 64)
	} else if err := checkSecretKey(key); err != nil {
		return err
	}
	var s settled
	var err error
	if s.hasher, err = e.hasher(); err != nil {
		return err
	}
	if s.passwords, err = e.policy(); err != nil {
		return err
	}
	if _, err := e.jwtCodec(key); err != nil {
		return err
	}
	if s.ocfg, err = e.oauthOptions(); err != nil {
		return err
	}
	s.ocfg.IntrospectPermissions = e.cfg.OAuthIntrospectPermissions
	s.ocfg.AdminClients = SplitList(e.cfg.AdminClients)
	if err := s.ocfg.WithDefaults().Check(); err != nil {
		return fmt.Errorf("oauth: %w", err)
	}
	if s.kcfg, err = e.knoxConfig(); err != nil {
		return err
	}
	if s.sdeps, err = e.signingKeyDeps(s.ocfg); err != nil {
		return err
	}
	if e.cfg.OIDCIDTokenLifetime <= 0 {
		return fmt.Errorf("GATEHOUSE_OIDC_ID_TOKEN_LIFETIME must be positive, not %v", e.cfg.OIDCIDTokenLifetime)
	}
	if s.issuer, err = e.issuer(); err != nil {
		return err
	}
	if s.oidcIssuer, err = e.oidcIssuer(s.issuer); err != nil {
		return err
	}
	if s.rates, err = e.throttleRates(); err != nil {
		return err
	}
	if s.server, err = e.serverConfig(s.issuer); err != nil {
		return err
	}
	if s.fwd, err = e.forwardAuthPolicy(); err != nil {
		return err
	}
	e.settled = &s
	return nil
}

// CheckSettings reports the first setting of cfg that gatehouse would
// refuse at a start, checking what needs no database (env.settle):
// `gatehouse config` runs it.
func CheckSettings(cfg Config) error {
	// The database URL too, creating nothing: a directory create-dirs
	// would make is no refusal.
	if err := checkDatabaseURL(cfg.DatabaseURL, false); err != nil {
		if _, missing := errors.AsType[noDirError](err); !missing || !cfg.DatabaseCreateDirs {
			return err
		}
	}
	return newEnv(cfg, Options{}).settle()
}

// wire builds the services on st.
func (e *env) wire(ctx context.Context, st *store.Store, key string, migrate bool) (*Services, error) {
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	set := e.settled // settle ran before the database opened
	codec, err := e.jwtCodec(key)
	if err != nil {
		return nil, err
	}
	hasher, ocfg, kcfg := set.hasher, set.ocfg, set.kcfg
	a := &Services{Store: st, Box: box, JWT: codec, OAuthConfig: ocfg, Secrets: gatehouse.NewSecretHasher(key), KnoxConfig: kcfg, log: e.log}
	e.throttles(a)
	guard := throttle.GuardConfig{FreeFailures: e.cfg.BackoffAfter, MaxDelay: e.cfg.BackoffMax,
		AccountFailures: e.cfg.LockoutFailures, Window: e.cfg.LockoutWindow}
	clientGuard := guard
	clientGuard.LocalHint = true
	acfg := audit.DefaultConfig()
	acfg.Retention = e.cfg.AuditRetention
	a.Audit = audit.New(audit.Deps{Store: st, Log: e.log, Config: acfg})
	a.Authn = authn.New(authn.Deps{Store: st, JWT: codec, Log: e.log, CacheTTL: e.cfg.AuthCacheTTL, TouchInterval: tokenTouchInterval,
		Knox: st, KnoxConfig: kcfg})
	audited := e.auditor(a) // the recorder, counted by the metrics when they are on
	loginGuard := throttle.NewGuard(a.Counters, guard, nil)
	a.Accounts = accounts.New(accounts.Deps{Store: st, Hasher: hasher, Policy: set.passwords, Box: box,
		Log: e.log, HashMemory: e.hashMemory, HashesRunning: e.hashesRunning, Forget: a.Authn.ForgetUser, Guard: loginGuard, Audit: audited, Permissions: st,
		NewUserKeys: e.cfg.NewUserKeys})
	a.Clients = oauth.NewClients(st, a.Secrets, ocfg, nil, nil, audited)
	closeAll := func() {
		a.Audit.Close()
		a.Authn.Close()
	}
	issuer := set.issuer
	// Last, once every setting is known to be valid: the first start
	// stores the secret's check value, every later one compares with it.
	if err := st.CheckSecret(ctx, secret.CheckValue(key)); err != nil {
		closeAll()
		return nil, e.secretMismatch(err)
	}
	if err := e.signingKeys(ctx, a, set.sdeps); err != nil {
		closeAll()
		return nil, err
	}
	var idTokens oauth.IDTokenIssuer
	if e.cfg.OIDCEnabled && issuer != "" {
		a.OIDC, err = oidc.New(oidc.Deps{Config: oidc.Config{Issuer: set.oidcIssuer, BaseURL: issuer, IDTokenLifetime: e.cfg.OIDCIDTokenLifetime,
			EmailVerified: e.cfg.OIDCEmailVerified}, Signer: a.Keys})
		if err != nil {
			closeAll()
			return nil, err
		}
		idTokens = a.OIDC
	}
	ocfg.Issuer, ocfg.JWTAudience = issuer, e.cfg.OAuthJWTAudience
	var atSigner oauth.Signer
	if issuer != "" {
		atSigner = a.Keys
	}
	// Client secrets Django OAuth Toolkit 2+ stored hashed verify with the
	// project's password hashers (oauth/djangosecret.go).
	djangoSecret := func(secret, encoded string) bool { ok, _ := hasher.Verify(secret, encoded); return ok }
	a.OAuth, err = oauth.New(oauth.Deps{Store: st, Accounts: a.Accounts, Secrets: a.Secrets, Selectors: secret.NewSelectors(key), DjangoSecrets: djangoSecret, Config: ocfg,
		CacheTTL: e.cfg.AuthCacheTTL, Log: e.log, Forget: a.Authn.ForgetAccess, Guard: throttle.NewGuard(a.Counters, clientGuard, nil), Audit: audited,
		Permissions: a.Accounts, Credentials: a.Authn, Lookup: a.Authn, IDTokens: idTokens, AccessTokens: atSigner})
	if err != nil {
		closeAll()
		return nil, err
	}
	a.Cleaner = oauth.NewCleaner(st, a.OAuthConfig, nil, e.log).Also("audit retention", a.Audit.Prune).
		Also("expired knox tokens", st.DeleteExpiredKnox)
	adeps := admin.Deps{Accounts: a.Accounts, Users: st, Permissions: st, Credentials: st, Applications: st,
		Clients: a.Clients, AuditLog: st, Audit: audited, Forget: a.Authn.ForgetUser, ForgetAccess: a.Authn.ForgetAccess,
		ForgetApplication: a.OAuth.ForgetApplication,
		Status:            admin.StatusDeps{Backend: st.Dialect(), Ready: st.Ready, Replicas: st, Cleanup: a.Cleaner, Throttle: loginGuard},
		Config:            admin.Config{AdminClients: ocfg.AdminClients}}
	if a.Keys != nil {
		adeps.Keys = a.Keys
	}
	a.Admin = admin.New(adeps)
	return a, nil
}

// knoxConfig is the django-rest-knox settings, checked.
func (e *env) knoxConfig() (knox.Config, error) {
	c := e.cfg
	k := knox.Config{Version: c.KnoxVersion, Hash: c.KnoxHash, Prefix: c.KnoxTokenPrefix, Length: c.KnoxTokenLength,
		AutoRefresh: c.KnoxAutoRefresh, TTL: c.KnoxTokenTTL, MaxTTL: c.KnoxAutoRefreshMaxTTL, MinRefreshInterval: c.KnoxMinRefreshInterval}
	if err := k.Validate(); err != nil {
		return knox.Config{}, fmt.Errorf("the GATEHOUSE_KNOX_* settings: %w", err)
	}
	return k, nil
}

// throttles picks where the counters live (the settings checked by
// settle).
func (e *env) throttles(a *Services) {
	switch where := e.cfg.ThrottleStore; {
	case where == "memory" || (where == "auto" && a.Store.Dialect() == "sqlite"):
		a.Counters = throttle.NewMemory()
	default: // "database" or "auto", checked by throttleRates
		a.Counters = a.Store
	}
	a.Limiter = throttle.NewLimiter(a.Counters, e.settled.rates, nil)
}

// throttleRates checks the throttle settings and returns the rates.
func (e *env) throttleRates() (throttle.Rates, error) {
	c := e.cfg
	rates, err := throttle.ParseRates(c.ThrottleRates, throttle.DefaultRates())
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_THROTTLE_RATES: %w", err)
	}
	// A scope gatehouse does not throttle (a typo: logn=5/min) would be
	// taken and never applied.
	known := slices.Sorted(maps.Keys(throttle.DefaultRates()))
	for scope := range rates {
		if !slices.Contains(known, scope) {
			return nil, fmt.Errorf("GATEHOUSE_THROTTLE_RATES: unknown scope %q (gatehouse's scopes: %s)", scope, strings.Join(known, ", "))
		}
	}
	for name, v := range map[string]int{"GATEHOUSE_BACKOFF_AFTER": c.BackoffAfter, "GATEHOUSE_LOCKOUT_FAILURES": c.LockoutFailures} {
		if v < 1 {
			return nil, fmt.Errorf("%s must be at least 1, not %d", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"GATEHOUSE_BACKOFF_MAX": c.BackoffMax, "GATEHOUSE_LOCKOUT_WINDOW": c.LockoutWindow} {
		if v < time.Second {
			return nil, fmt.Errorf("%s must be at least 1s, not %v", name, v)
		}
	}
	switch c.ThrottleStore {
	case "auto", "memory", "database":
	default:
		return nil, fmt.Errorf("GATEHOUSE_THROTTLE_STORE must be auto, memory or database, not %q", c.ThrottleStore)
	}
	return rates, nil
}

// tokenTouchInterval is how often the batched "last used" times of DRF
// tokens are written.
const tokenTouchInterval = 10 * time.Second

// serverConfig is the HTTP server's configuration from the settings,
// checked as far as it can be without the services.
func (e *env) serverConfig(issuer string) (server.Config, error) {
	scfg := server.DefaultConfig()
	scfg.AllowQueryToken = e.cfg.AllowQueryToken
	scfg.UserList = e.cfg.UserList
	scfg.RequestTimeout = e.cfg.RequestTimeout
	scfg.MaxInFlight = e.cfg.MaxInFlight
	scfg.AllowedHosts = SplitList(e.cfg.AllowedHosts)
	scfg.TrustedProxies = SplitList(e.cfg.TrustedProxies)
	scfg.CORSOrigins = SplitList(e.cfg.CORSOrigins)
	scfg.MountPrefix = e.cfg.MountPrefix
	scfg.TemplatesDir = e.cfg.TemplatesDir
	scfg.Issuer = issuer
	if err := permissionClaims(e.cfg.JWTGroupsClaim, e.cfg.JWTPermissionsClaim, e.cfg.JWTUserIDClaim, e.cfg.JWTTokenTypeClaim, e.cfg.JWTJTIClaim); err != nil {
		return scfg, err
	}
	if e.cfg.PageSize < 1 {
		return scfg, errors.New("GATEHOUSE_PAGE_SIZE must be at least 1")
	}
	scfg.PageSize = e.cfg.PageSize
	scfg.JWTHeaderTypes = SplitList(e.cfg.JWTHeaderTypes)
	scfg.JWTHeaderName = headerName(e.cfg.JWTHeaderName)
	scfg.UsernameField = e.cfg.UsernameField
	return scfg, server.CheckConfig(scfg)
}

// forwardAuthPolicy reads GATEHOUSE_FORWARD_AUTH_POLICY (nil: none).
func (e *env) forwardAuthPolicy() (*policy.Policy, error) {
	if e.cfg.ForwardAuthPolicy == "" {
		return nil, nil
	}
	b, err := smallfile.Read(e.cfg.ForwardAuthPolicy, smallfile.Text)
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_FORWARD_AUTH_POLICY: forward-auth policy: %w", err)
	}
	fwd, err := policy.Parse(e.cfg.ForwardAuthPolicy, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("GATEHOUSE_FORWARD_AUTH_POLICY: %w", err)
	}
	return fwd, nil
}

// serverFor builds the HTTP server on a's services (Open only: serve and
// embedding programs).
func (e *env) serverFor(a *Services) (*server.Server, error) {
	pairs := simplejwt.New(simplejwt.Deps{Store: a.Store, Codec: a.JWT, Users: a.Authn, Options: simplejwt.Options{
		RotateRefreshTokens: e.cfg.JWTRotateRefresh, BlacklistAfterRotation: e.cfg.JWTBlacklistAfter,
		UpdateLastLogin: e.cfg.JWTUpdateLastLogin, GroupsClaim: e.cfg.JWTGroupsClaim, PermissionsClaim: e.cfg.JWTPermissionsClaim},
		Audit: e.auditor(a), Permissions: a.Accounts})
	d := server.Deps{Store: a.Store, Accounts: a.Accounts, Authn: a.Authn, OAuth: a.OAuth, JWT: pairs, Box: a.Box,
		Limiter: a.Limiter, Log: e.log, Config: e.settled.server, ForwardAuth: e.settled.fwd, OIDC: a.OIDC, Admin: a.Admin}
	e.serverMetrics(&d)
	if e.tracer != nil {
		d.Tracer = e.tracer
	}
	return server.New(d)
}

// issuer is gatehouse's public URL: GATEHOUSE_ISSUER, else http://ADDR
// when listening on a loopback address, else none.
func (e *env) issuer() (string, error) {
	if err := checkAddr("GATEHOUSE_ADDR", e.cfg.Addr); err != nil {
		return "", err
	}
	if err := server.CheckMountPrefix(e.cfg.MountPrefix); err != nil {
		return "", fmt.Errorf("GATEHOUSE_MOUNT_PREFIX: %w", err)
	}
	iss := e.cfg.Issuer
	if iss == "" {
		iss = loopbackIssuer(e.cfg.Addr, e.cfg.MountPrefix)
		if iss != "" && e.cfg.TLSCertFile != "" { // serve speaks HTTPS itself (tls.go)
			iss = "https" + strings.TrimPrefix(iss, "http")
		}
	}
	if err := server.CheckIssuer(iss); err != nil {
		return "", fmt.Errorf("GATEHOUSE_ISSUER: %w", err)
	}
	return iss, nil
}

// oidcIssuer is the iss of id_tokens: GATEHOUSE_OIDC_ISSUER, which may be
// issuer or Django OAuth Toolkit's (issuer and /o), else issuer.
func (e *env) oidcIssuer(issuer string) (string, error) {
	if e.cfg.OIDCIssuer == "" {
		return issuer, nil
	}
	if issuer == "" {
		return "", errors.New("GATEHOUSE_OIDC_ISSUER needs GATEHOUSE_ISSUER (the public URL it is made from)")
	}
	if v := strings.TrimSuffix(e.cfg.OIDCIssuer, "/"); v == issuer || v == issuer+"/o" {
		return v, nil
	}
	return "", fmt.Errorf("GATEHOUSE_OIDC_ISSUER: %q is neither the issuer %q nor Django OAuth Toolkit's %q", e.cfg.OIDCIssuer, issuer, issuer+"/o")
}

// checkAddr refuses a listen address that is not HOST:PORT with a port
// from 0 to 65535 (or a service name), naming the setting: a start would
// otherwise fail at the listener, or blame the issuer made from it.
func checkAddr(setting, addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not HOST:PORT (127.0.0.1:8000, :8000, [::1]:8000)", setting, addr)
	}
	if n, err := strconv.Atoi(port); port == "" || (err == nil && (n < 0 || n > 65535)) {
		return fmt.Errorf("%s: the port of %q is not from 0 to 65535", setting, addr)
	}
	return nil
}

// permissionClaims checks the names of the groups and permissions claims.
// renamed are the configured names of the claims every token has.
func permissionClaims(groups, perms string, renamed ...string) error {
	for env, name := range map[string]string{"GATEHOUSE_JWT_GROUPS_CLAIM": groups, "GATEHOUSE_JWT_PERMISSIONS_CLAIM": perms} {
		if name == "" {
			continue
		}
		if err := jwt.CheckClaimName(name); err != nil {
			return fmt.Errorf("%s: %w", env, err)
		}
	}
	if groups != "" && groups == perms {
		return fmt.Errorf("GATEHOUSE_JWT_GROUPS_CLAIM and GATEHOUSE_JWT_PERMISSIONS_CLAIM are both %q; give them different names", groups)
	}
	for _, name := range renamed {
		if name != "" && (name == groups || name == perms) {
			return fmt.Errorf("the groups or permissions claim is named %q, as the token type, jti or user id claim (GATEHOUSE_JWT_*_CLAIM); give it another name", name)
		}
	}
	return nil
}

// Close stops the services' background work, the audit log's after every
// event was recorded (its queued rows are stored), then the store.
func (a *Services) Close() {
	a.Authn.Close()
	if err := a.Audit.Close(); err != nil {
		a.log.Error("closing the audit log", "err", err)
	}
	a.Store.Close()
}

// hasher builds the password hasher of the PASSWORD_HASHERS settings,
// naming the setting a refusal is about.
func (e *env) hasher() (*password.Hasher, error) {
	c := e.cfg
	// Checked before the conversions, which would cut a value past its
	// type's range down to a weaker one (threads 257 to 1).
	for _, r := range []struct {
		name string
		v    int
		max  int
	}{{"GATEHOUSE_ARGON2_MEMORY", c.Argon2Memory, math.MaxUint32}, {"GATEHOUSE_ARGON2_TIME", c.Argon2Time, math.MaxUint32},
		{"GATEHOUSE_ARGON2_THREADS", c.Argon2Threads, math.MaxUint8}} {
		if r.v < 1 || r.v > r.max {
			return nil, fmt.Errorf("%s: %d is outside 1 to %d", r.name, r.v, r.max)
		}
	}
	params := password.Params{Memory: uint32(c.Argon2Memory), Time: uint32(c.Argon2Time), Threads: uint8(c.Argon2Threads)}
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("GATEHOUSE_ARGON2_MEMORY, GATEHOUSE_ARGON2_TIME, GATEHOUSE_ARGON2_THREADS: %w", err)
	}
	for _, part := range []struct {
		name string
		cfg  password.Config
	}{
		{"GATEHOUSE_PBKDF2_ITERATIONS", password.Config{PBKDF2Iterations: c.PBKDF2Iterations}},
		{"GATEHOUSE_BCRYPT_ROUNDS", password.Config{BcryptRounds: c.BcryptRounds}},
		{"GATEHOUSE_PASSWORD_HASHERS", password.Config{Algorithms: SplitList(c.PasswordHashers)}},
	} {
		part.cfg.Argon2 = params
		if _, err := password.NewHasher(part.cfg, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", part.name, err)
		}
	}
	if len(SplitList(c.PasswordHashers)) == 0 {
		return nil, errors.New("GATEHOUSE_PASSWORD_HASHERS: at least one algorithm is required")
	}
	return password.NewHasher(password.Config{Algorithms: SplitList(c.PasswordHashers), Argon2: params,
		PBKDF2Iterations: c.PBKDF2Iterations, BcryptRounds: c.BcryptRounds}, nil)
}

// policy builds the password validators of the AUTH_PASSWORD_VALIDATORS
// settings.
func (e *env) policy() (password.Policy, error) {
	c := e.cfg
	if !c.PasswordValidation {
		return password.Policy{}, nil
	}
	var p password.Policy
	names := SplitList(c.PasswordValidators)
	switch {
	case len(names) == 1 && names[0] == "none":
		names = nil
	case len(names) == 0:
		// An empty list (--password-validators=, [] in the file) would turn
		// every validator off unseen: that takes the word none.
		return p, fmt.Errorf("GATEHOUSE_PASSWORD_VALIDATORS is empty: name the validators (some of %s), or none to turn every one off",
			strings.Join(password.Validators(), ", "))
	}
	for i, v := range names {
		if !slices.Contains(password.Validators(), v) || slices.Contains(names[:i], v) {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_VALIDATORS: %q is unknown or repeated (want some of %s, or none)", v, strings.Join(password.Validators(), ", "))
		}
		switch v {
		case password.ValidatorSimilarity:
			if c.PasswordMaxSimilarity < 0.1 || c.PasswordMaxSimilarity > 1 {
				return p, fmt.Errorf("GATEHOUSE_PASSWORD_MAX_SIMILARITY must be between 0.1 and 1, not %v", c.PasswordMaxSimilarity)
			}
			p.MaxSimilarity = c.PasswordMaxSimilarity
		case password.ValidatorLength:
			p.MinLength = c.PasswordMinLength
		case password.ValidatorCommon:
			p.Common = true
		case password.ValidatorNumeric:
			p.Numeric = true
		}
	}
	p.Order = names
	p.SimilarityAttrs = SplitList(c.PasswordSimilarAttrs)
	for i, a := range p.SimilarityAttrs {
		if !slices.Contains(password.SimilarityAttrs(), a) || slices.Contains(p.SimilarityAttrs[:i], a) {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES: %q is unknown or repeated (want some of %s)", a, strings.Join(password.SimilarityAttrs(), ", "))
		}
	}
	if c.PasswordCommonFile != "" {
		b, err := smallfile.Read(c.PasswordCommonFile, smallfile.List)
		if err != nil {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_COMMON_FILE: %w", err)
		}
		if p.CommonList, err = password.ReadCommonList(bytes.NewReader(b)); err != nil {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_COMMON_FILE: %s: %w", c.PasswordCommonFile, err)
		}
	}
	return p, nil
}

// headerName turns Django's request.META spelling of a header
// (HTTP_X_ACCESS_TOKEN) into the header's name (X-Access-Token); a header
// name is returned as it is.
func headerName(s string) string {
	if rest, ok := strings.CutPrefix(s, "HTTP_"); ok && rest != "" {
		return http.CanonicalHeaderKey(strings.ReplaceAll(rest, "_", "-"))
	}
	return s
}

// minHS256Key is the shortest HS256 key accepted, in bytes.
const minHS256Key = 32

func (e *env) jwtCodec(serverSecret string) (*jwt.Codec, error) {
	c := e.cfg
	if c.JWTLeeway < 0 || c.JWTLeeway > jwt.MaxLeeway {
		return nil, fmt.Errorf("GATEHOUSE_JWT_LEEWAY: %v is outside 0 to %v", c.JWTLeeway, jwt.MaxLeeway)
	}
	jc := jwt.Config{Issuer: c.JWTIssuer, Audience: c.JWTAudience, Leeway: c.JWTLeeway,
		AccessLifetime: c.JWTAccessLifetime, RefreshLifetime: c.JWTRefreshLifetime,
		Claims: jwt.ClaimNames{TokenType: c.JWTTokenTypeClaim, JTI: c.JWTJTIClaim, UserID: c.JWTUserIDClaim}, Subject: c.JWTSubjectClaim}
	if c.JWTSubjectClaim {
		for env, name := range map[string]string{"GATEHOUSE_JWT_USER_ID_CLAIM": c.JWTUserIDClaim, "GATEHOUSE_JWT_TOKEN_TYPE_CLAIM": c.JWTTokenTypeClaim,
			"GATEHOUSE_JWT_JTI_CLAIM": c.JWTJTIClaim, "GATEHOUSE_JWT_GROUPS_CLAIM": c.JWTGroupsClaim, "GATEHOUSE_JWT_PERMISSIONS_CLAIM": c.JWTPermissionsClaim} {
			if name == "sub" {
				return nil, fmt.Errorf("GATEHOUSE_JWT_SUBJECT_CLAIM writes a sub claim, and %s already names a claim sub: tokens would carry sub twice; turn one of them off or rename the claim", env)
			}
		}
	}
	switch c.JWTAlgorithm {
	case "HS256", "HS384", "HS512":
		k, from := c.JWTSigningKey, "GATEHOUSE_JWT_SIGNING_KEY"
		if k == "" {
			k, from = serverSecret, "GATEHOUSE_SECRET_KEY (the default HS256 key of simplejwt tokens)"
		}
		if len(k) < minHS256Key {
			// RFC 7518 3.2: an HMAC key at least as long as the hash. For
			// HS384 and HS512 too, 32 bytes are asked: a random key of that
			// length already resists guessing at 256 bits, and Django's
			// generated SECRET_KEY (50 characters) passes.
			return nil, fmt.Errorf("%s is %d bytes; an %s key needs at least %d: set GATEHOUSE_JWT_SIGNING_KEY to a longer secret (a Django project's SECRET_KEY keeps its tokens valid)", from, len(k), c.JWTAlgorithm, minHS256Key)
		}
		jc.Signing = jwt.Key{ID: c.JWTKeyID, Algorithm: c.JWTAlgorithm, Secret: []byte(k)}
	case "RS256", "ES256", "EdDSA":
		var priv crypto.Signer
		var err error
		switch {
		case c.JWTPrivateKeyFile != "" && c.JWTPrivateKey != "":
			return nil, errors.New("set GATEHOUSE_JWT_PRIVATE_KEY_FILE or GATEHOUSE_JWT_PRIVATE_KEY, not both")
		case c.JWTPrivateKey != "":
			if priv, err = parsePrivateKey([]byte(c.JWTPrivateKey)); err != nil {
				return nil, fmt.Errorf("GATEHOUSE_JWT_PRIVATE_KEY: %w", err)
			}
		case c.JWTPrivateKeyFile != "":
			b, err := smallfile.Read(c.JWTPrivateKeyFile, smallfile.Text)
			if err != nil {
				return nil, err
			}
			if priv, err = parsePrivateKey(b); err != nil {
				return nil, fmt.Errorf("%s: %w", c.JWTPrivateKeyFile, err)
			}
		default:
			return nil, fmt.Errorf("GATEHOUSE_JWT_PRIVATE_KEY_FILE is required for %s", c.JWTAlgorithm)
		}
		kid := c.JWTKeyID
		if kid == "" {
			return nil, errors.New("GATEHOUSE_JWT_KEY_ID is required with an asymmetric algorithm")
		}
		jc.Signing = jwt.Key{ID: kid, Algorithm: c.JWTAlgorithm, Private: priv, Public: priv.Public()}
		for _, item := range strings.Split(c.JWTVerifyKeyFiles, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			kid, path, ok := strings.Cut(item, "=")
			if !ok {
				return nil, fmt.Errorf("GATEHOUSE_JWT_VERIFY_KEY_FILES: want kid=path, got %q", item)
			}
			pub, err := readPublicKey(path)
			if err != nil {
				return nil, err
			}
			jc.Verification = append(jc.Verification, jwt.Key{ID: kid, Algorithm: c.JWTAlgorithm, Public: pub})
		}
	default:
		return nil, fmt.Errorf("GATEHOUSE_JWT_ALGORITHM: unsupported JWT algorithm %q", c.JWTAlgorithm)
	}
	codec, err := jwt.New(jc)
	if err != nil && strings.Contains(err.Error(), "claim name") {
		return nil, fmt.Errorf("GATEHOUSE_JWT_USER_ID_CLAIM, GATEHOUSE_JWT_TOKEN_TYPE_CLAIM, GATEHOUSE_JWT_JTI_CLAIM: %w", err)
	}
	return codec, err
}

func readPEM(path string) ([]byte, error) {
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return blk.Bytes, nil
}

// parsePrivateKey reads the first PEM block of b as a PKCS#8, PKCS#1 or
// EC private key.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	der := blk.Bytes
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or EC private key")
}

func readPublicKey(path string) (any, error) {
	der, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return pub, nil
	}
	return nil, fmt.Errorf("%s: unsupported public key type", path)
}

// loopbackIssuer is the issuer of a server listening on a loopback address
// (a developer's machine): http://ADDR and the mount prefix; "" for any
// other address, whose public URL only the operator knows.
func loopbackIssuer(addr, prefix string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" { // port 0: the kernel picks one, unknown here
		return ""
	}
	if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
		return ""
	}
	return "http://" + addr + prefix
}
