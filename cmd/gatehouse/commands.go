package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/knox"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/policy"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/store"
	"github.com/gatehouse-auth/gatehouse/throttle"

	"golang.org/x/term"
)

// cmdFlags are the flags of the user and token commands.
type cmdFlags struct {
	username, email, firstName, lastName string
	passwordStdin                        bool
	name                                 string
	expires                              time.Duration
	app                                  appFlags    // createapplication (oauth_commands.go)
	audit                                auditFlags  // audit (audit_command.go)
	django                               djangoFlags // django-settings (django_settings.go)
	imp                                  importFlags // import (import_command.go)
}

func registerCommandFlags(cmd string, fs *flag.FlagSet) *cmdFlags {
	f := &cmdFlags{}
	switch cmd {
	case "createsuperuser", "createuser":
		fs.StringVar(&f.username, "username", "", "username (required)")
		fs.StringVar(&f.email, "email", "", "email address")
		fs.StringVar(&f.firstName, "first-name", "", "first name")
		fs.StringVar(&f.lastName, "last-name", "", "last name")
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "changepassword":
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "createtoken":
		fs.StringVar(&f.name, "name", "cli", "token name")
		fs.DurationVar(&f.expires, "expires", 0, "lifetime such as 720h (0: never expires)")
	case "createapplication":
		f.app.register(fs)
	case "audit":
		f.audit.register(fs)
	case "django-settings":
		f.django.register(fs)
	case "import":
		f.imp.register(fs)
	}
	return f
}

// app holds the services a command works with. Only serve builds the HTTP
// server on top of them (serverFor); the other commands call the services.
type app struct {
	store    *store.Store
	box      *secret.Box
	jwt      *jwt.Codec
	accounts *accounts.Service
	authn    *authn.Authenticator
	clients  *oauth.Clients
	oauth    *oauth.Provider
	oauthCfg oauth.Config
	// secrets hashes OAuth client secrets under the server secret.
	secrets *gatehouse.SecretHasher
	// counters hold the throttles' and the guards' counts.
	counters gatehouse.ThrottleStore
	limiter  *throttle.Limiter
	audit    *audit.Recorder
	knoxCfg  knox.Config
}

func (e *env) open(ctx context.Context, migrate bool) (*app, error) {
	key, err := e.secretKey()
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, e.cfg.DatabaseURL, store.WithLogger(e.log))
	if err != nil {
		return nil, err
	}
	a, err := e.wire(ctx, st, key, migrate)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// wire builds the services on st.
func (e *env) wire(ctx context.Context, st *store.Store, key string, migrate bool) (*app, error) {
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	hasher, err := e.hasher()
	if err != nil {
		return nil, err
	}
	policy, err := e.policy()
	if err != nil {
		return nil, err
	}
	codec, err := e.jwtCodec(key)
	if err != nil {
		return nil, err
	}
	ocfg, err := e.oauthOptions()
	if err != nil {
		return nil, err
	}
	kcfg, err := e.knoxConfig()
	if err != nil {
		return nil, err
	}
	ocfg.IntrospectPermissions = e.cfg.OAuthIntrospectPermissions
	a := &app{store: st, box: box, jwt: codec, oauthCfg: ocfg, secrets: gatehouse.NewSecretHasher(key), knoxCfg: kcfg}
	if err := e.throttles(a); err != nil {
		return nil, err
	}
	guard := throttle.GuardConfig{FreeFailures: e.cfg.BackoffAfter, MaxDelay: e.cfg.BackoffMax,
		AccountFailures: e.cfg.LockoutFailures, Window: e.cfg.LockoutWindow}
	clientGuard := guard
	clientGuard.LocalHint = true
	acfg := audit.DefaultConfig()
	acfg.Retention = e.cfg.AuditRetention
	a.audit = audit.New(audit.Deps{Store: st, Log: e.log, Config: acfg})
	a.authn = authn.New(authn.Deps{Store: st, JWT: codec, Log: e.log, CacheTTL: e.cfg.AuthCacheTTL, TouchInterval: tokenTouchInterval,
		Knox: st, KnoxConfig: kcfg})
	a.accounts = accounts.New(accounts.Deps{Store: st, Hasher: hasher, Policy: policy, Box: box,
		Log: e.log, HashMemory: e.hashMemory, Forget: a.authn.ForgetUser, Guard: throttle.NewGuard(a.counters, guard, nil), Audit: a.audit, Permissions: st})
	a.clients = oauth.NewClients(st, a.secrets, ocfg, nil, nil, a.audit)
	a.oauth, err = oauth.New(oauth.Deps{Store: st, Accounts: a.accounts, Secrets: a.secrets, Config: ocfg,
		CacheTTL: e.cfg.AuthCacheTTL, Log: e.log, Forget: a.authn.ForgetAccess, Guard: throttle.NewGuard(a.counters, clientGuard, nil), Audit: a.audit,
		Permissions: a.accounts, Credentials: a.authn})
	if err != nil {
		a.audit.Close()
		a.authn.Close()
		return nil, err
	}
	// Last, once every setting is known to be valid: the first start
	// stores the secret's check value, every later one compares with it.
	if err := st.CheckSecret(ctx, secret.CheckValue(key)); err != nil {
		a.audit.Close()
		a.authn.Close()
		return nil, e.secretMismatch(err)
	}
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

// throttles checks the throttle settings and picks where the counters live.
func (e *env) throttles(a *app) error {
	c := e.cfg
	rates, err := throttle.ParseRates(c.ThrottleRates, throttle.DefaultRates())
	if err != nil {
		return fmt.Errorf("GATEHOUSE_THROTTLE_RATES: %w", err)
	}
	for name, v := range map[string]int{"GATEHOUSE_BACKOFF_AFTER": c.BackoffAfter, "GATEHOUSE_LOCKOUT_FAILURES": c.LockoutFailures} {
		if v < 1 {
			return fmt.Errorf("%s must be at least 1, not %d", name, v)
		}
	}
	for name, v := range map[string]time.Duration{"GATEHOUSE_BACKOFF_MAX": c.BackoffMax, "GATEHOUSE_LOCKOUT_WINDOW": c.LockoutWindow} {
		if v < time.Second {
			return fmt.Errorf("%s must be at least 1s, not %v", name, v)
		}
	}
	switch where := c.ThrottleStore; {
	case where == "memory" || (where == "auto" && a.store.Dialect() == "sqlite"):
		a.counters = throttle.NewMemory()
	case where == "database" || where == "auto":
		a.counters = a.store
	default:
		return fmt.Errorf("GATEHOUSE_THROTTLE_STORE must be auto, memory or database, not %q", where)
	}
	a.limiter = throttle.NewLimiter(a.counters, rates, nil)
	return nil
}

// tokenTouchInterval is how often the batched "last used" times of DRF
// tokens are written.
const tokenTouchInterval = 10 * time.Second

// serverFor builds the HTTP server on a's services (serve only).
func (e *env) serverFor(a *app) (*server.Server, error) {
	scfg := server.DefaultConfig()
	scfg.AllowQueryToken = e.cfg.AllowQueryToken
	scfg.UserList = e.cfg.UserList
	scfg.RequestTimeout = e.cfg.RequestTimeout
	scfg.MaxInFlight = e.cfg.MaxInFlight
	scfg.AllowedHosts = splitList(e.cfg.AllowedHosts)
	scfg.TrustedProxies = splitList(e.cfg.TrustedProxies)
	if err := permissionClaims(e.cfg.JWTGroupsClaim, e.cfg.JWTPermissionsClaim, e.cfg.JWTUserIDClaim, e.cfg.JWTTokenTypeClaim, e.cfg.JWTJTIClaim); err != nil {
		return nil, err
	}
	if e.cfg.PageSize < 1 {
		return nil, errors.New("GATEHOUSE_PAGE_SIZE must be at least 1")
	}
	scfg.PageSize = e.cfg.PageSize
	scfg.JWTHeaderTypes = splitList(e.cfg.JWTHeaderTypes)
	scfg.JWTHeaderName = headerName(e.cfg.JWTHeaderName)
	pairs := simplejwt.New(simplejwt.Deps{Store: a.store, Codec: a.jwt, Users: a.authn, Options: simplejwt.Options{
		RotateRefreshTokens: e.cfg.JWTRotateRefresh, BlacklistAfterRotation: e.cfg.JWTBlacklistAfter,
		UpdateLastLogin: e.cfg.JWTUpdateLastLogin, GroupsClaim: e.cfg.JWTGroupsClaim, PermissionsClaim: e.cfg.JWTPermissionsClaim},
		Audit: a.audit, Permissions: a.accounts})
	var fwd *policy.Policy
	if e.cfg.ForwardAuthPolicy != "" {
		var err error
		if fwd, err = policy.Load(e.cfg.ForwardAuthPolicy); err != nil {
			return nil, fmt.Errorf("GATEHOUSE_FORWARD_AUTH_POLICY: %w", err)
		}
	}
	return server.New(server.Deps{Store: a.store, Accounts: a.accounts, Authn: a.authn, OAuth: a.oauth, JWT: pairs, Box: a.box,
		Limiter: a.limiter, Log: e.log, Config: scfg, ForwardAuth: fwd})
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

// close stops the services' background work, the audit log's after every
// event was recorded (its queued rows are stored), then the store.
func (a *app) close(log *slog.Logger) {
	a.authn.Close()
	if err := a.audit.Close(); err != nil {
		log.Error("closing the audit log", "err", err)
	}
	a.store.Close()
}

// hasher builds the password hasher of the PASSWORD_HASHERS settings,
// naming the setting a refusal is about.
func (e *env) hasher() (*password.Hasher, error) {
	c := e.cfg
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
		{"GATEHOUSE_PASSWORD_HASHERS", password.Config{Algorithms: splitList(c.PasswordHashers)}},
	} {
		part.cfg.Argon2 = params
		if _, err := password.NewHasher(part.cfg, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", part.name, err)
		}
	}
	if len(splitList(c.PasswordHashers)) == 0 {
		return nil, errors.New("GATEHOUSE_PASSWORD_HASHERS: at least one algorithm is required")
	}
	return password.NewHasher(password.Config{Algorithms: splitList(c.PasswordHashers), Argon2: params,
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
	names := splitList(c.PasswordValidators)
	if len(names) == 1 && names[0] == "none" {
		names = nil
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
	p.SimilarityAttrs = splitList(c.PasswordSimilarAttrs)
	for i, a := range p.SimilarityAttrs {
		if !slices.Contains(password.SimilarityAttrs(), a) || slices.Contains(p.SimilarityAttrs[:i], a) {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_SIMILARITY_ATTRIBUTES: %q is unknown or repeated (want some of %s)", a, strings.Join(password.SimilarityAttrs(), ", "))
		}
	}
	if c.PasswordCommonFile != "" {
		f, err := os.Open(c.PasswordCommonFile)
		if err != nil {
			return p, fmt.Errorf("GATEHOUSE_PASSWORD_COMMON_FILE: %w", err)
		}
		defer f.Close()
		if p.CommonList, err = password.ReadCommonList(f); err != nil {
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
	jc := jwt.Config{Issuer: c.JWTIssuer, Audience: c.JWTAudience, Leeway: c.JWTLeeway,
		AccessLifetime: c.JWTAccessLifetime, RefreshLifetime: c.JWTRefreshLifetime,
		Claims: jwt.ClaimNames{TokenType: c.JWTTokenTypeClaim, JTI: c.JWTJTIClaim, UserID: c.JWTUserIDClaim}}
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
			b, err := os.ReadFile(c.JWTPrivateKeyFile)
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
	b, err := os.ReadFile(path)
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

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	fmt.Fprintln(e.stdout, "migrations applied")
	return nil
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	undo, err := e.applyMemoryLimit(debug.SetMemoryLimit)
	if err != nil {
		return err
	}
	defer undo()
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	srv, err := e.serverFor(a)
	if err != nil {
		return err
	}
	cctx, stopCleaner := context.WithCancel(context.Background())
	cleaned := make(chan struct{})
	cleaner := oauth.NewCleaner(a.store, a.oauthCfg, nil, e.log).Also("audit retention", a.audit.Prune).
		Also("expired knox tokens", a.store.DeleteExpiredKnox)
	go func() { cleaner.Run(cctx); close(cleaned) }()
	defer func() { stopCleaner(); <-cleaned }()
	swept := make(chan struct{})
	go func() { throttle.Sweep(cctx, a.counters, time.Minute, e.log); close(swept) }()
	defer func() { stopCleaner(); <-swept }()
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	e.log.Info("gatehouse listening", "addr", ln.Addr().String(), "database", a.store.Dialect())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// readPassword takes the password from --password-stdin, GATEHOUSE_PASSWORD
// or, on a terminal, an interactive prompt asked twice.
func (e *env) readPassword() (string, error) {
	if e.extra.passwordStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if p := e.getenv("GATEHOUSE_PASSWORD"); p != "" {
		return p, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no password: use --password-stdin, GATEHOUSE_PASSWORD, or run on a terminal")
	}
	fmt.Fprint(e.stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Password (again): ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("passwords do not match")
	}
	return string(p1), nil
}

func cmdCreateSuperuser(ctx context.Context, e *env, args []string) error {
	return createUser(ctx, e, true)
}
func cmdCreateUser(ctx context.Context, e *env, args []string) error {
	return createUser(ctx, e, false)
}

func createUser(ctx context.Context, e *env, super bool) error {
	f := e.extra
	n := accounts.NewUser{Username: strings.TrimSpace(f.username), Email: strings.TrimSpace(f.email),
		FirstName: strings.TrimSpace(f.firstName), LastName: strings.TrimSpace(f.lastName), IsStaff: super, IsSuperuser: super}
	if n.Username == "" {
		return errors.New("--username is required")
	}
	pw, err := e.readPassword()
	if err != nil {
		return err
	}
	n.Password = pw
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	u, err := a.accounts.Create(ctx, n)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "created user %s (id %d)\n", u.Username, u.ID)
	return nil
}

// cliError is how a command reports a service's error: the message of an
// application error, the error itself otherwise.
func cliError(err error) error {
	if c := gatehouse.ErrorCode(err); c != gatehouse.EINTERNAL && c != "" {
		return errors.New(gatehouse.ErrorMessage(err))
	}
	return err
}

func cmdChangePassword(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse changepassword USERNAME")
	}
	pw, err := e.readPassword()
	if err != nil {
		return err
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	if err := a.accounts.ChangePassword(ctx, args[0], pw); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "password changed for %s; their tokens were revoked\n", args[0])
	return nil
}

func cmdCreateToken(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse createtoken USERNAME [--name N] [--expires D]")
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	key, err := a.accounts.IssueToken(ctx, args[0], e.extra.name, e.extra.expires)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(e.stdout, key)
	return nil
}

// unverifiable counts the users whose stored password no hasher here
// verifies (Django's crypt$, or a format Django added later), by format:
// they were loaded, and cannot log in until their password is set again.
// Django's unusable passwords ("!...") are no such case.
func unverifiable(users []gatehouse.User) []string {
	h := unusableHashes{}
	h.add(users)
	return h.messages()
}

// unusableHashes counts those users by format, keeping a few names of
// each, over several batches (import).
type unusableHashes map[string]*hashFormat

type hashFormat struct {
	n    int
	some []string
}

func (h unusableHashes) add(users []gatehouse.User) {
	for _, u := range users {
		p := u.Password
		if p == "" || strings.HasPrefix(p, "!") || password.IsUsable(p) {
			continue
		}
		format, _, found := strings.Cut(p, "$")
		if !found || len(format) > 30 {
			format = "unrecognised"
		}
		f := h[format]
		if f == nil {
			f = &hashFormat{}
			h[format] = f
		}
		f.n++
		if len(f.some) < 5 {
			f.some = append(f.some, u.Username)
		}
	}
}

func (h unusableHashes) messages() []string {
	var out []string
	for format, f := range h {
		out = append(out, fmt.Sprintf("%d users have %s password hashes, which gatehouse cannot verify (e.g. %s): they cannot log in "+
			"until their password is set again (gatehouse changepassword USERNAME, or a password reset)", f.n, format, strings.Join(f.some, ", ")))
	}
	sort.Strings(out)
	return out
}

func cmdLoaddata(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gatehouse loaddata FILE... (FILE.json or .jsonl, optionally .gz, .bz2, .xz, .lzma or .zip; - for standard input)")
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	// Every file is read and converted before anything is written, and
	// all of them load in one transaction, as Django's loaddata: a
	// reference may cross files, and a failure leaves nothing half-loaded.
	var objs []fixture.Object
	for _, path := range args {
		more, err := fixture.ReadFile(path, e.stdin)
		if err != nil {
			return fmt.Errorf("nothing loaded: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s: %d objects\n", path, len(more))
		objs = append(objs, more...)
	}
	set, err := fixture.Converter{Box: a.box, ClientSecrets: a.secrets, Knox: a.knoxCfg}.Convert(objs)
	if err != nil {
		return fmt.Errorf("nothing loaded: %w", err)
	}
	if err := a.store.Load(ctx, set); err != nil {
		return fmt.Errorf("nothing loaded: %w", err)
	}
	fmt.Fprintf(e.stdout, "loaded %d users, %d tokens\n", len(set.Users), len(set.Tokens))
	if n := len(set.Applications) + len(set.Grants) + len(set.AccessTokens) + len(set.RefreshTokens); n > 0 {
		fmt.Fprintf(e.stdout, "loaded %d OAuth applications, %d codes, %d access tokens, %d refresh tokens\n",
			len(set.Applications), len(set.Grants), len(set.AccessTokens), len(set.RefreshTokens))
	}
	if len(set.Refresh) > 0 {
		blacklisted := 0
		for _, r := range set.Refresh {
			if r.BlacklistedAt != nil {
				blacklisted++
			}
		}
		fmt.Fprintf(e.stdout, "loaded %d simplejwt outstanding tokens, %d of them blacklisted\n", len(set.Refresh), blacklisted)
	}
	if len(set.Knox) > 0 {
		fmt.Fprintf(e.stdout, "loaded %d knox tokens\n", len(set.Knox))
	}
	if len(set.Groups)+len(set.Permissions) > 0 {
		holders := 0
		for _, m := range set.Memberships {
			if len(m.Groups)+len(m.Permissions) > 0 {
				holders++
			}
		}
		fmt.Fprintf(e.stdout, "loaded %d groups, %d permissions; %d users are in a group or hold a permission\n",
			len(set.Groups), len(set.Permissions), holders)
	}
	models := make([]string, 0, len(set.Skipped))
	for model := range set.Skipped {
		models = append(models, model)
	}
	sort.Strings(models)
	for _, model := range models {
		fmt.Fprintf(e.stderr, "skipped %d objects of unknown model %s\n", set.Skipped[model], model)
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	for _, w := range unverifiable(set.Users) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return nil
}
