package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Store is the storage the provider needs.
type Store interface {
	gatehouse.ApplicationStore
	gatehouse.OAuthTokenStore
	gatehouse.DeviceGrantStore
	// User reads a user by id (gatehouse.UserStore's): the subject a JWT
	// access token signed before its transaction names.
	User(ctx context.Context, id int64) (gatehouse.User, error)
}

// PasswordChecker logs users in for the password grant and the login page
// (accounts.Service).
type PasswordChecker interface {
	CheckPassword(ctx context.Context, via gatehouse.LoginVia, username, password string) (gatehouse.User, bool, error)
}

// PermissionLister tells what a user holds, as Django's ModelBackend
// computes it (accounts.Service).
type PermissionLister interface {
	Permissions(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error)
}

// Deps are what a Provider is built from.
type Deps struct {
	Store    Store
	Accounts PasswordChecker
	// Secrets hashes client secrets; nil means a key random to this
	// process (tests), so stored secrets would not verify after a restart.
	Secrets *gatehouse.SecretHasher
	// Selectors keys split refresh tokens' selectors (secret.NewSelectors
	// of the server secret); nil means a key random to this Provider.
	Selectors *secret.Selectors
	// DjangoSecrets verifies a client secret against a Django password
	// hash (the project's password hashers), for applications loaded from
	// Django OAuth Toolkit 2 or later with their secrets hashed
	// (gatehouse.DjangoSecretHash); nil: such secrets never verify.
	DjangoSecrets func(secret, encoded string) bool
	Config        Config
	// CacheTTL bounds how long applications are answered from a cache
	// after another replica changed them; 0 disables the cache.
	CacheTTL time.Duration
	Now      func() time.Time // nil means time.Now
	Random   io.Reader        // nil means crypto/rand
	Log      *slog.Logger
	// Forget, when set, is told the hashes of access tokens revoked here
	// (authn.Authenticator.ForgetAccess).
	Forget func(hashes [][]byte)
	// Guard tracks failed client authentications per client_id and
	// source (nil: none); see AuthenticateClient.
	Guard *throttle.Guard
	// Audit records tokens issued, refreshed and revoked, codes issued,
	// replays (audit.Recorder); nil records nothing.
	Audit gatehouse.Auditor
	// Permissions lists a user's groups and permissions for introspection
	// when Config.IntrospectPermissions is set; nil lists none.
	Permissions PermissionLister
	// Credentials tells resource servers' introspection whose a DRF key,
	// knox token or simplejwt access token is (authn.Authenticator); nil:
	// those introspect as inactive, as in DOT.
	Credentials CredentialChecker
	// IDTokens makes the provider an OpenID Connect provider (oidc.go):
	// the openid, profile and email scopes become valid, and a token
	// response whose scope holds openid for a user carries an id_token.
	// nil: OAuth2 alone, as DOT without OIDC_ENABLED.
	IDTokens IDTokenIssuer
	// Lookup reads access tokens for introspection through a cache
	// (authn.Authenticator.AccessToken), so that a revocation on another
	// replica shows within its TTL; nil: from the store every time.
	Lookup AccessTokenLookup
	// AccessTokens signs the JWT access tokens (RFC 9068) of applications
	// whose TokenFormat is jwt (keys.Manager); nil: every access token is
	// opaque.
	AccessTokens Signer
}

// Signer signs a JWT with the provider's keys (keys.Manager).
type Signer interface {
	Sign(ctx context.Context, typ string, claims any) (string, error)
}

// CredentialChecker authenticates a credential of gatehouse's other
// schemes: a simplejwt access token or a DRF or django-rest-knox key. A
// refused one is an EUNAUTHORIZED *gatehouse.Error.
type CredentialChecker interface {
	Identify(ctx context.Context, token string) (*gatehouse.Principal, error)
}

// AccessTokenLookup reads an access token by hash, as
// gatehouse.OAuthStore's AccessTokenByHash.
type AccessTokenLookup interface {
	AccessToken(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error)
}

// storeLookup reads access tokens from the store.
type storeLookup struct{ s Store }

func (l storeLookup) AccessToken(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	return l.s.AccessTokenByHash(ctx, hash)
}

// Provider is the OAuth2 authorization server: client authentication, the
// token endpoint's grants, authorization codes, revocation and
// introspection, each a typed request and result. Safe for concurrent use.
type Provider struct {
	store    Store
	accounts PasswordChecker
	secrets  *gatehouse.SecretHasher
	selector *secret.Selectors
	django   *djangoSecrets
	cfg      Config
	now      func() time.Time
	random   io.Reader
	log      *slog.Logger
	forget   func([][]byte)
	audit    gatehouse.Auditor
	apps     *appCache
	origins  *originCache
	guard    *throttle.Guard
	perms    PermissionLister
	creds    CredentialChecker
	idTokens IDTokenIssuer
	atSigner Signer
	lookup   AccessTokenLookup // introspection's reads of access tokens
	// allScopes is what a request naming no scope gets when neither the
	// application nor DEFAULT_SCOPES say: the configured scopes, without
	// OpenID Connect's unless they were configured.
	allScopes []string
}

// New returns a Provider. It fails only when the random source does.
func New(d Deps) (*Provider, error) {
	p := &Provider{store: d.Store, accounts: d.Accounts, secrets: d.Secrets, selector: d.Selectors, cfg: d.Config.WithDefaults(), now: d.Now,
		random: d.Random, log: d.Log, forget: d.Forget, guard: d.Guard, audit: d.Audit, perms: d.Permissions, creds: d.Credentials,
		idTokens: d.IDTokens, atSigner: d.AccessTokens, lookup: d.Lookup}
	if p.lookup == nil {
		p.lookup = storeLookup{d.Store}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.forget == nil {
		p.forget = func([][]byte) {}
	}
	if p.audit == nil {
		p.audit = gatehouse.NoAudit{}
	}
	if p.secrets == nil {
		k, err := secret.Hex(p.random, 32)
		if err != nil {
			return nil, err
		}
		p.secrets = gatehouse.NewSecretHasher(k)
	}
	if p.selector == nil {
		k, err := secret.Hex(p.random, 32)
		if err != nil {
			return nil, err
		}
		p.selector = secret.NewSelectors(k)
	}
	if err := p.cfg.Check(); err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	if p.cfg.JWTAudience == "" {
		p.cfg.JWTAudience = p.cfg.Issuer
	}
	if p.atSigner != nil && p.cfg.Issuer == "" {
		return nil, errors.New("oauth: JWT access tokens need an issuer")
	}
	p.allScopes = withoutAdmin(p.cfg.Scopes.Names())
	if p.idTokens != nil {
		p.cfg.Scopes = withOIDCScopes(p.cfg.Scopes)
	}
	p.django = newDjangoSecrets(d.DjangoSecrets)
	p.apps = newAppCache(d.CacheTTL, p.now)
	p.origins = &originCache{ttl: d.CacheTTL}
	return p, nil
}

// Config returns the provider's settings, defaults filled in.
func (p *Provider) Config() Config { return p.cfg }

// ForgetApplication drops the cached application with that client_id, so
// that a change made on this replica (the admin API) applies here at
// once; other replicas see it within the cache TTL.
func (p *Provider) ForgetApplication(clientID string) { p.apps.drop(clientID) }

// Application returns the client with that client_id through the cache, or
// nil when there is none.
func (p *Provider) Application(ctx context.Context, clientID string) (*gatehouse.Application, error) {
	if clientID == "" || len(clientID) > gatehouse.MaxClientID || !gatehouse.ValidText(clientID) {
		return nil, nil
	}
	if app, ok := p.apps.get(clientID); ok {
		return &app, nil
	}
	app, err := p.store.Application(ctx, clientID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.apps.put(app)
	return &app, nil
}

// ClientCredentials are the ways a request names its client: the HTTP
// Basic header (decoded by the caller) and the client_id and client_secret
// parameters.
type ClientCredentials struct {
	// BasicPresent: a Basic Authorization header was sent, even a
	// malformed one; BasicOK: it decoded into BasicID and BasicSecret.
	BasicPresent, BasicOK  bool
	BasicID, BasicSecret   string
	ClientID, ClientSecret string
	// SecretSent: the client_secret parameter was present (even empty).
	SecretSent bool
}

// AuthenticateClient identifies the calling client as DOT's validator
// does: HTTP Basic first, then client_id and client_secret in the body.
// Authentication is required when Basic is sent, when a secret is sent, or
// when the client is confidential or unknown; a public client otherwise
// needs only its client_id. Secrets are compared in constant time; a public
// client that sends a non-empty secret fails. The error is ErrInvalidClient,
// ETHROTTLED, or internal.
//
// Failures count against the client_id named (Basic's, else the body's)
// from the request's source in the Guard, as failed logins count against
// a username: after a few, that source backs off, and past the hourly cap
// the client_id is locked to sources it never authenticated from. Guessing
// a secret thus costs hours per handful of tries instead of 1,300 tries a
// second.
func (p *Provider) AuthenticateClient(ctx context.Context, c ClientCredentials) (*gatehouse.Application, error) {
	id := c.ClientID
	if c.BasicOK {
		id = c.BasicID
	}
	attempt, err := p.guard.Begin(ctx, throttle.KindClient, id, gatehouse.SourceFrom(ctx))
	if err != nil {
		if e, ok := gatehouse.ThrottledEvent(err, map[string]string{"via": "client_authentication"}); ok {
			e.ClientID = id
			p.audit.Record(ctx, e)
		}
		return nil, err
	}
	app, err := p.authenticateClient(ctx, c)
	if err == ErrInvalidClient && p.apps.forget(id) {
		// Refused by the cached application: another replica may have
		// rotated its secret since, so the stored one decides, before a
		// failure is counted against the client (found by a
		// multi-replica pass: the new secret was refused until the cache
		// expired, and its retries were backed off past it).
		app, err = p.authenticateClient(ctx, c)
	}
	switch {
	case err == nil:
		err = attempt.Succeeded(ctx)
	case err == ErrInvalidClient:
		err = attempt.Failed(ctx)
	default:
		return nil, err
	}
	if err != nil {
		p.log.Warn("recording a client authentication", "err", err)
	}
	if app == nil {
		return nil, ErrInvalidClient
	}
	if ri := gatehouse.RequestFrom(ctx); ri != nil {
		ri.ClientID = app.ClientID
	}
	return app, nil
}

func (p *Provider) authenticateClient(ctx context.Context, c ClientCredentials) (*gatehouse.Application, error) {
	if c.BasicOK {
		app, err := p.Application(ctx, c.BasicID)
		if err != nil {
			return nil, err
		}
		if app != nil {
			ok, err := p.verifySecret(ctx, app, c.BasicSecret)
			if err != nil {
				return nil, err
			}
			if ok && (app.IsPublic() || c.BasicSecret != "") {
				return app, nil
			}
		}
	}
	if c.ClientID == "" {
		return nil, ErrInvalidClient
	}
	app, err := p.Application(ctx, c.ClientID)
	if err != nil {
		return nil, err
	}
	if app == nil {
		return nil, ErrInvalidClient
	}
	sec := ""
	if c.SecretSent {
		sec = c.ClientSecret
	}
	required := c.BasicPresent || sec != "" || !app.IsPublic()
	if !required {
		return app, nil
	}
	if !c.SecretSent || (!app.IsPublic() && sec == "") {
		return nil, ErrInvalidClient
	}
	ok, err := p.verifySecret(ctx, app, sec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidClient
	}
	return app, nil
}

// ApplicationsOf lists the applications a user owns.
func (p *Provider) ApplicationsOf(ctx context.Context, userID int64) ([]gatehouse.Application, error) {
	apps, err := p.store.Applications(ctx)
	if err != nil {
		return nil, err
	}
	var mine []gatehouse.Application
	for _, a := range apps {
		if a.UserID != nil && *a.UserID == userID {
			mine = append(mine, a)
		}
	}
	return mine, nil
}
