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
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
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
	app                                  appFlags   // createapplication (oauth_commands.go)
	audit                                auditFlags // audit (audit_command.go)

	imp importFlags // import (import_command.go)
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
	params := password.Params{Memory: uint32(e.cfg.Argon2Memory), Time: uint32(e.cfg.Argon2Time), Threads: uint8(e.cfg.Argon2Threads)}
	if err := params.Validate(); err != nil {
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
	a := &app{store: st, box: box, jwt: codec, oauthCfg: ocfg, secrets: gatehouse.NewSecretHasher(key)}
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
	a.authn = authn.New(authn.Deps{Store: st, JWT: codec, Log: e.log, CacheTTL: e.cfg.AuthCacheTTL, TouchInterval: tokenTouchInterval})
	a.accounts = accounts.New(accounts.Deps{Store: st, Hasher: password.New(params, nil), Policy: e.policy(), Box: box,
		Log: e.log, HashMemory: e.hashMemory, Forget: a.authn.ForgetUser, Guard: throttle.NewGuard(a.counters, guard, nil), Audit: a.audit})
	a.clients = oauth.NewClients(st, a.secrets, ocfg.Scopes, nil, nil, a.audit)
	a.oauth, err = oauth.New(oauth.Deps{Store: st, Accounts: a.accounts, Secrets: a.secrets, Config: ocfg,
		CacheTTL: e.cfg.AuthCacheTTL, Log: e.log, Forget: a.authn.ForgetAccess, Guard: throttle.NewGuard(a.counters, clientGuard, nil), Audit: a.audit})
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
	pairs := simplejwt.New(simplejwt.Deps{Store: a.store, Codec: a.jwt, Users: a.authn, Options: simplejwt.Options{
		RotateRefreshTokens: e.cfg.JWTRotateRefresh, BlacklistAfterRotation: e.cfg.JWTBlacklistAfter,
		UpdateLastLogin: e.cfg.JWTUpdateLastLogin}, Audit: a.audit})
	return server.New(server.Deps{Store: a.store, Accounts: a.accounts, Authn: a.authn, OAuth: a.oauth, JWT: pairs, Box: a.box,
		Limiter: a.limiter, Log: e.log, Config: scfg})
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

func (e *env) policy() password.Policy {
	if !e.cfg.PasswordValidation {
		return password.Policy{}
	}
	p := password.DefaultPolicy()
	p.MinLength = e.cfg.PasswordMinLength
	return p
}

// minHS256Key is the shortest HS256 key accepted, in bytes.
const minHS256Key = 32

func (e *env) jwtCodec(serverSecret string) (*jwt.Codec, error) {
	c := e.cfg
	jc := jwt.Config{Issuer: c.JWTIssuer, Audience: c.JWTAudience, Leeway: c.JWTLeeway,
		AccessLifetime: c.JWTAccessLifetime, RefreshLifetime: c.JWTRefreshLifetime}
	switch c.JWTAlgorithm {
	case "HS256":
		k, from := c.JWTSigningKey, "GATEHOUSE_JWT_SIGNING_KEY"
		if k == "" {
			k, from = serverSecret, "GATEHOUSE_SECRET_KEY (the default HS256 key of simplejwt tokens)"
		}
		if len(k) < minHS256Key {
			// RFC 7518 3.2: an HMAC key at least as long as the hash.
			return nil, fmt.Errorf("%s is %d bytes; an HS256 key needs at least %d: set GATEHOUSE_JWT_SIGNING_KEY to a longer secret (a Django project's SECRET_KEY keeps its tokens valid)", from, len(k), minHS256Key)
		}
		jc.Signing = jwt.Key{ID: c.JWTKeyID, Algorithm: "HS256", Secret: []byte(k)}
	case "RS256", "ES256", "EdDSA":
		if c.JWTPrivateKeyFile == "" {
			return nil, fmt.Errorf("GATEHOUSE_JWT_PRIVATE_KEY_FILE is required for %s", c.JWTAlgorithm)
		}
		priv, err := readPrivateKey(c.JWTPrivateKeyFile)
		if err != nil {
			return nil, err
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
		return nil, fmt.Errorf("unsupported JWT algorithm %q", c.JWTAlgorithm)
	}
	return jwt.New(jc)
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

func readPrivateKey(path string) (crypto.Signer, error) {
	der, err := readPEM(path)
	if err != nil {
		return nil, err
	}
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
	return nil, fmt.Errorf("%s: not a PKCS#8, PKCS#1 or EC private key", path)
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
	cleaner := oauth.NewCleaner(a.store, a.oauthCfg, nil, e.log).Also("audit retention", a.audit.Prune)
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
	set, err := fixture.Converter{Box: a.box, ClientSecrets: a.secrets}.Convert(objs)
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
