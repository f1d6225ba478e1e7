// Package authn turns a credential (a DRF key or django-rest-knox token, a
// simplejwt access token, an OAuth2 access token, a browser session) into
// the gatehouse.Principal it stands for. It knows nothing of HTTP: the
// caller parses the Authorization header or cookie and hands over a
// Credential value.
//
// Lookups are cached for Deps.CacheTTL; changes made through this replica
// (Forget*) take effect at once, those of other replicas within the TTL.
// Every scheme applies the same rules: the user must be active and must
// accept the credential's issue time (gatehouse.User.Accepts).
package authn

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/knox"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// Store is what authentication reads, and the "last used" times it writes.
type Store interface {
	User(ctx context.Context, id int64) (gatehouse.User, error)
	UserIDByDjangoKey(ctx context.Context, key string) (int64, error)
	TokenByHash(ctx context.Context, hash []byte) (gatehouse.Token, gatehouse.User, error)
	TouchTokens(ctx context.Context, used map[int64]time.Time) error
	AccessTokenByHash(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error)
	SessionEnded(ctx context.Context, idHash []byte) (bool, error)
	EndSession(ctx context.Context, idHash []byte, expires, now time.Time) error
	StartSession(ctx context.Context, s *gatehouse.BrowserSession, now time.Time) error
	TouchSessions(ctx context.Context, seen map[string]time.Time) error
}

// KnoxStore is what authentication reads and writes of django-rest-knox
// tokens.
type KnoxStore interface {
	KnoxTokensByKey(ctx context.Context, key string) ([]gatehouse.KnoxTokenUser, error)
	RenewKnoxToken(ctx context.Context, digest string, expiry time.Time) (bool, error)
}

// JWTParser verifies a simplejwt token: *jwt.Codec, or a verifier built from
// public keys only.
type JWTParser interface {
	Parse(token string) (jwt.Claims, error)
}

// Deps are what an Authenticator is built from.
type Deps struct {
	Store Store
	JWT   JWTParser // nil: simplejwt tokens are refused
	Log   *slog.Logger
	Now   func() time.Time // nil means time.Now
	// CacheTTL bounds how long a replica answers from its cache after
	// another replica revoked a credential; 0 disables the cache.
	CacheTTL time.Duration
	// TouchInterval is how often the batched "last used" times of DRF
	// tokens, and "last seen" times of browser sessions, are written; 0
	// writes them only on Close.
	TouchInterval time.Duration
	// Knox keeps the django-rest-knox tokens loaded from a Django project;
	// nil: a knox token is refused as an unknown DRF key.
	Knox KnoxStore
	// KnoxConfig is the knox release and settings those tokens were made
	// with; the zero value means knox 5's defaults.
	KnoxConfig knox.Config
}

// Credential is one presented credential.
type Credential struct {
	Scheme string // gatehouse.SchemeToken, SchemeJWT, SchemeOAuth or SchemeSession
	// Value is the key or token (Token, JWT, OAuth).
	Value string
	// UserID, Issued and SessionID come from a verified session
	// (SchemeSession); a session without an id cannot be ended, so it is
	// refused.
	UserID    int64
	Issued    time.Time
	SessionID string
}

// Authenticator checks credentials. Safe for concurrent use; Close stops
// its background writer.
type Authenticator struct {
	store   Store
	knox    KnoxStore
	knoxCfg knox.Config
	jwt     JWTParser
	log     *slog.Logger
	now     func() time.Time
	cache   *cache

	touchMu sync.Mutex
	touched map[int64]time.Time
	seen    map[string]time.Time // browser sessions, by id hash

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New returns an Authenticator and starts its batched writer of DRF token
// use times.
func New(d Deps) *Authenticator {
	a := &Authenticator{store: d.Store, knox: d.Knox, knoxCfg: d.KnoxConfig, jwt: d.JWT, log: d.Log, now: d.Now,
		touched: map[int64]time.Time{}, seen: map[string]time.Time{}, stop: make(chan struct{})}
	if a.knoxCfg.Version == 0 {
		a.knoxCfg = knox.DefaultConfig()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.cache = newCache(d.CacheTTL, a.now)
	if d.TouchInterval > 0 {
		a.wg.Add(1)
		go a.touchLoop(d.TouchInterval)
	}
	return a
}

// Close stops the background writer and writes pending use times.
func (a *Authenticator) Close() {
	a.stopOnce.Do(func() { close(a.stop) })
	a.wg.Wait()
	a.flushTouches(context.Background())
}

// Authenticate returns the principal of c. A refused credential is a
// *gatehouse.Error of code EUNAUTHORIZED whose Reason says why; any other
// error is internal.
func (a *Authenticator) Authenticate(ctx context.Context, c Credential) (*gatehouse.Principal, error) {
	switch c.Scheme {
	case gatehouse.SchemeToken:
		return a.token(ctx, c.Value)
	case gatehouse.SchemeJWT:
		return a.accessJWT(ctx, c.Value)
	case gatehouse.SchemeOAuth:
		return a.oauth(ctx, c.Value)
	case gatehouse.SchemeSession:
		return a.session(ctx, c.UserID, c.Issued, c.SessionID)
	}
	return nil, gatehouse.Unauthorized(gatehouse.ReasonBadHeader)
}

func refused(reason string) error { return gatehouse.Unauthorized(reason) }

// errNotOAuth refuses a bearer value that cannot be an OAuth token. It is
// shared, so callers must not modify it.
var errNotOAuth = gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)

// errUnknownKey refuses a DRF key that no token has. It is shared, so
// callers must not modify it.
var errUnknownKey = gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)

// maxDRFKey is the length of DRF's Token.key column: no DRF key is longer.
const maxDRFKey = 40

// token checks the value of "Authorization: Token <value>": a DRF key, or
// a django-rest-knox token, told apart by their shape so that neither
// costs the other a query. A value longer than any DRF key that has the
// shape of the configured knox tokens is looked up as a knox token only; a
// DRF key as before, then as a knox token only when it was unknown and
// has that shape too (a knox project whose AUTH_TOKEN_CHARACTER_LENGTH is
// 40 or less).
func (a *Authenticator) token(ctx context.Context, value string) (*gatehouse.Principal, error) {
	if a.knox != nil && len(value) > maxDRFKey && a.knoxCfg.Fits(value) {
		return a.knoxToken(ctx, value)
	}
	p, err := a.drfToken(ctx, value)
	if err == errUnknownKey && a.knox != nil && a.knoxCfg.Fits(value) {
		return a.knoxToken(ctx, value)
	}
	return p, err
}

// drfToken checks a DRF key; an unknown key is errUnknownKey.
func (a *Authenticator) drfToken(ctx context.Context, key string) (*gatehouse.Principal, error) {
	hash := secret.Hash(key)
	ck := "t:" + string(hash)
	e, ok := a.cache.get(ck)
	if !ok {
		tok, u, err := a.store.TokenByHash(ctx, hash)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, errUnknownKey
		}
		if err != nil {
			return nil, err
		}
		e = entry{user: u, tokenID: tok.ID, tokExp: tok.Expires, issued: tok.Created}
		a.cache.put(ck, e)
	}
	now := a.now()
	if e.tokExp != nil && !now.Before(*e.tokExp) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	if !e.user.IsActive {
		return nil, refused(gatehouse.ReasonUserInactive)
	}
	if !e.user.Accepts(e.issued) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	a.touch(e.tokenID, now)
	return &gatehouse.Principal{User: e.user, Scheme: gatehouse.SchemeToken, TokenID: e.tokenID, Issued: e.issued,
		Expires: expiry(e.tokExp)}, nil
}

// knoxToken checks a django-rest-knox token as knox's TokenAuthentication
// does: the rows stored under its token_key that have not expired are
// compared by digest (in constant time); none matching, or the token
// expired, is "Invalid token.", an inactive user "User inactive or
// deleted.". The gatehouse rule that the user must accept its issue time
// applies too. With auto refresh, a use moves the expiry as knox's
// AUTO_REFRESH does, written at most once per MinRefreshInterval.
func (a *Authenticator) knoxToken(ctx context.Context, token string) (*gatehouse.Principal, error) {
	ck := "k:" + string(secret.Hash(token))
	e, ok := a.cache.get(ck)
	if !ok {
		rows, err := a.knox.KnoxTokensByKey(ctx, a.knoxCfg.Key(token))
		if err != nil {
			return nil, err
		}
		now := a.now()
		var found *gatehouse.KnoxTokenUser
		for i := range rows {
			if r := &rows[i]; !knox.Expired(r.Token.Expiry, now) && a.knoxCfg.Matches(token, r.Token.Digest, r.Token.Salt) {
				found = r
				break
			}
		}
		if found == nil {
			return nil, refused(gatehouse.ReasonCredentialInvalid)
		}
		e = entry{user: found.User, issued: found.Token.Created, tokExp: found.Token.Expiry, knoxDigest: found.Token.Digest}
		a.cache.put(ck, e)
	}
	now := a.now()
	if knox.Expired(e.tokExp, now) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	if !e.user.IsActive {
		return nil, refused(gatehouse.ReasonUserInactive)
	}
	if !e.user.Accepts(e.issued) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	if next, write := a.knoxCfg.Renewal(e.issued, e.tokExp, now); write {
		// The token is good now whatever the write does; a failed renewal
		// is tried again at its next use.
		if _, err := a.knox.RenewKnoxToken(ctx, e.knoxDigest, next); err != nil {
			a.log.ErrorContext(ctx, "renewing a knox token", "err", err)
		} else {
			a.cache.drop(ck) // the next use reads the expiry written
		}
	}
	return &gatehouse.Principal{User: e.user, Scheme: gatehouse.SchemeKnox, Issued: e.issued, Expires: expiry(e.tokExp)}, nil
}

// accessJWT checks a simplejwt access token and loads its user.
func (a *Authenticator) accessJWT(ctx context.Context, raw string) (*gatehouse.Principal, error) {
	if a.jwt == nil {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	c, err := a.jwt.Parse(raw)
	switch {
	case errors.Is(err, jwt.ErrNoExp):
		return nil, refused(gatehouse.ReasonNoExp)
	case errors.Is(err, jwt.ErrNoID):
		return nil, refused(gatehouse.ReasonNoJTI)
	case err != nil:
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	case c.TokenType == "":
		return nil, refused(gatehouse.ReasonNoTokenType)
	case c.TokenType != jwt.Access:
		return nil, refused(gatehouse.ReasonWrongTokenType)
	}
	if err := a.ResolveJWTUser(ctx, &c); err != nil {
		return nil, err
	}
	if !c.HasUserID {
		if c.UserIDNull {
			return nil, refused(gatehouse.ReasonUserNotFound) // simplejwt looks up pk=None
		}
		return nil, refused(gatehouse.ReasonNoUserID)
	}
	u, err := a.User(ctx, c.UserID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, refused(gatehouse.ReasonUserNotFound)
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive {
		return nil, refused(gatehouse.ReasonUserInactive)
	}
	issued := c.IssuedAt()
	if !u.Accepts(issued) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	return &gatehouse.Principal{User: u, Scheme: gatehouse.SchemeJWT, Issued: issued, Expires: time.Unix(c.Exp, 0)}, nil
}

// expiry is a token's expiry time, zero for none.
func expiry(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// Identify authenticates a bare token that is not an OAuth access token,
// for a resource server's introspection: a simplejwt access token (it has
// dots), else a DRF key or django-rest-knox token. The errors are
// Authenticate's.
func (a *Authenticator) Identify(ctx context.Context, token string) (*gatehouse.Principal, error) {
	if strings.Contains(token, ".") {
		return a.accessJWT(ctx, token)
	}
	return a.token(ctx, token)
}

// CheckJWTUser applies the user rules to a verified simplejwt token of any
// type (the refresh and verify endpoints): nil when its user exists, is
// active and accepts its issue time. A missing user is ErrNotFound.
func (a *Authenticator) CheckJWTUser(ctx context.Context, c jwt.Claims) error {
	u, err := a.User(ctx, c.UserID)
	if err != nil {
		return err
	}
	if !u.IsActive {
		return refused(gatehouse.ReasonUserInactive)
	}
	if !u.Accepts(c.IssuedAt()) {
		return refused(gatehouse.ReasonCredentialInvalid)
	}
	return nil
}

// oauth checks an OAuth2 access token: unknown, revoked, expired or of an
// inactive user are all refused alike. A valid token issued to a client
// alone (client_credentials) gives a Principal without a user (HasUser
// false).
func (a *Authenticator) oauth(ctx context.Context, token string) (*gatehouse.Principal, error) {
	// A JWT that is not an RFC 9068 access token, or an oversized value, is
	// never an OAuth token: skip the database. Every simplejwt request
	// passes here first (DRF's chain tries OAuth before simplejwt), so the
	// refusal allocates nothing.
	if !gatehouse.MayBeOAuthAccessToken(token) {
		return nil, errNotOAuth
	}
	hash := secret.TokenKey(token)
	ck := accessCacheKey(hash)
	e, ok := a.cache.get(ck)
	if !ok {
		g, err := a.store.AccessTokenByHash(ctx, hash)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, refused(gatehouse.ReasonCredentialInvalid)
		}
		if err != nil {
			return nil, err
		}
		e = accessEntry(g)
		a.cache.put(ck, e)
	}
	if e.tokExp != nil && !a.now().Before(*e.tokExp) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	if e.clientOnly {
		// Valid, but nobody's: DOT's OAuth2Authentication succeeds with
		// no user, so DRF answers 403 where a user is required.
		return &gatehouse.Principal{Scheme: gatehouse.SchemeOAuth, TokenID: e.tokenID, Scope: e.scope,
			ApplicationID: e.appID, ClientID: e.client, Issued: e.issued, Expires: *e.tokExp}, nil
	}
	if !e.user.IsActive || !e.user.Accepts(e.issued) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	return &gatehouse.Principal{User: e.user, Scheme: gatehouse.SchemeOAuth, TokenID: e.tokenID, Scope: e.scope,
		ApplicationID: e.appID, ClientID: e.client, Issued: e.issued, Expires: *e.tokExp}, nil
}

// accessEntry is the cache entry of an OAuth access token.
func accessEntry(g gatehouse.AccessTokenInfo) entry {
	exp := g.Token.Expires
	e := entry{tokenID: g.Token.ID, scope: g.Token.Scope, appID: g.Token.ApplicationID, client: g.ClientID,
		tokExp: &exp, issued: g.Token.Created, clientOnly: g.User == nil}
	if g.User != nil {
		e.user = *g.User
	}
	return e
}

// AccessToken returns the OAuth access token with hash, as the store's
// AccessTokenByHash does but through the lookup cache, for introspection:
// a revocation on this replica shows at once (ForgetAccess), on the others
// within the cache TTL, as for every other use of the token. The token's
// ID, scope, client, times and user are set (not its family or grant);
// expiry is the caller's to check.
func (a *Authenticator) AccessToken(ctx context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	ck := accessCacheKey(hash)
	e, ok := a.cache.get(ck)
	if !ok {
		g, err := a.store.AccessTokenByHash(ctx, hash)
		if err != nil {
			return g, err
		}
		a.cache.put(ck, accessEntry(g))
		return g, nil
	}
	g := gatehouse.AccessTokenInfo{ClientID: e.client,
		Token: gatehouse.AccessToken{ID: e.tokenID, Scope: e.scope, ApplicationID: e.appID, Created: e.issued, Expires: *e.tokExp}}
	if !e.clientOnly {
		u := e.user
		g.User, g.Token.UserID = &u, &u.ID
	}
	return g, nil
}

// session checks a verified session cookie: its user, and that it was not
// ended (EndSession).
func (a *Authenticator) session(ctx context.Context, userID int64, issued time.Time, id string) (*gatehouse.Principal, error) {
	if userID == 0 || id == "" {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	u, err := a.User(ctx, userID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive || !u.Accepts(issued) {
		return nil, refused(gatehouse.ReasonCredentialInvalid)
	}
	// Only "not ended" is cached: an ended session is refused on this
	// replica at once (EndSession drops the entry), on others within the TTL.
	hash := secret.Hash(id)
	ck := "s:" + string(hash)
	if _, ok := a.cache.get(ck); !ok {
		ended, err := a.store.SessionEnded(ctx, hash)
		if err != nil {
			return nil, err
		}
		if ended {
			return nil, refused(gatehouse.ReasonCredentialInvalid)
		}
		a.cache.put(ck, entry{user: u})
	}
	a.touchMu.Lock()
	a.seen[string(hash)] = a.now()
	a.touchMu.Unlock()
	return &gatehouse.Principal{User: u, Scheme: gatehouse.SchemeSession, Issued: issued}, nil
}

// StartSession records the browser session a login started (id, its
// user, its issue and expiry times as its cookie holds them) with the
// browser's User-Agent and the request's source address, so that it is
// listed among the user's credentials and can be ended alone.
func (a *Authenticator) StartSession(ctx context.Context, id string, userID int64, issued, expires time.Time, userAgent string) error {
	bs := &gatehouse.BrowserSession{IDHash: secret.Hash(id), UserID: userID, Created: issued, Expires: expires, LastSeen: issued,
		UserAgent: clip(userAgent, gatehouse.MaxUserAgent)}
	if src := gatehouse.SourceFrom(ctx); src.IsValid() {
		bs.Source = src.String()
	}
	return a.store.StartSession(ctx, bs, a.now())
}

// clip returns s as valid UTF-8 without control characters, cut to at
// most n bytes on a character boundary.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// EndSession ends the browser session with id (a logout): from now on it
// is refused, on this replica at once, on others within the cache TTL.
// expires is the session's own expiry, after which its record may go.
func (a *Authenticator) EndSession(ctx context.Context, id string, expires time.Time) error {
	if id == "" {
		return nil // refused anyway
	}
	hash := secret.Hash(id)
	if err := a.store.EndSession(ctx, hash, expires, a.now()); err != nil {
		return err
	}
	a.cache.drop("s:" + string(hash))
	return nil
}

// User returns a user through the cache.
func (a *Authenticator) User(ctx context.Context, id int64) (gatehouse.User, error) {
	ck := "u:" + strconv.FormatInt(id, 10)
	if e, ok := a.cache.get(ck); ok {
		return e.user, nil
	}
	u, err := a.store.User(ctx, id)
	if err != nil {
		return u, err
	}
	a.cache.put(ck, entry{user: u})
	return u, nil
}

// ResolveJWTUser gives c the id of the user its user_id claim names when
// that claim is a string (c.UserKey: simplejwt writes str(pk) for a key
// that is no integer, a custom user model's UUID, in a token Django issued
// before the move): the user loaded with that key
// (gatehouse.User.DjangoKey). Such a key names its user even when it is
// all digits, which c.UserID would take for a gatehouse id; a key no user
// has leaves c as parsed (a digit string as that id, else no user).
// gatehouse mints user_id as a JSON number, but for a user loaded with a
// key that is no integer, whom it names by that key as Django did (with
// the id beside it, jwt.IDClaim). The key's user is cached as a user
// looked up by id is.
func (a *Authenticator) ResolveJWTUser(ctx context.Context, c *jwt.Claims) error {
	if c.UserKey == "" {
		return nil
	}
	key := gatehouse.DjangoUserKey(c.UserKey)
	ck := "k:" + key
	if e, ok := a.cache.get(ck); ok {
		c.UserID, c.HasUserID = e.user.ID, true
		return nil
	}
	id, err := a.store.UserIDByDjangoKey(ctx, key)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	u, err := a.User(ctx, id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	a.cache.put(ck, entry{user: u})
	c.UserID, c.HasUserID = id, true
	return nil
}

// ForgetUser drops cached lookups of a user after this replica changed it
// or its tokens.
func (a *Authenticator) ForgetUser(id int64) { a.cache.dropUser(id) }

// ForgetAccess drops revoked OAuth access tokens, by hash.
func (a *Authenticator) ForgetAccess(hashes [][]byte) {
	for _, h := range hashes {
		a.cache.drop(accessCacheKey(h))
	}
}

// accessCacheKey is the cache key of the OAuth access token with that key
// (secret.TokenKey): its SHA-256 part, which a store's legacy row holds
// alone (the store finds such a row under the token's key too), so that a
// revocation that returns the stored key drops the entry either way.
func accessCacheKey(hash []byte) string { return "o:" + string(secret.KeyDigest(hash)) }

func (a *Authenticator) touch(id int64, at time.Time) {
	a.touchMu.Lock()
	a.touched[id] = at
	a.touchMu.Unlock()
}

func (a *Authenticator) touchLoop(every time.Duration) {
	defer a.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			// A frozen database fails this write at the deadline; the times
			// are lost, which only makes "last used" a little older.
			ctx, cancel := context.WithTimeout(context.Background(), every)
			a.flushTouches(ctx)
			cancel()
		}
	}
}

func (a *Authenticator) flushTouches(ctx context.Context) {
	// Each map is taken under the lock, or not at all: an empty one stays
	// the live one, which touch may fill the moment the lock is released
	// (reading even its length then was a data race, and writing it while
	// TouchTokens ranged over it would crash; found by a race-detector
	// pass).
	var used map[int64]time.Time
	var seen map[string]time.Time
	a.touchMu.Lock()
	if len(a.touched) > 0 {
		used, a.touched = a.touched, map[int64]time.Time{}
	}
	if len(a.seen) > 0 {
		seen, a.seen = a.seen, map[string]time.Time{}
	}
	a.touchMu.Unlock()
	if used != nil {
		if err := a.store.TouchTokens(ctx, used); err != nil {
			a.log.Error("recording token use", "err", err)
		}
	}
	if seen != nil {
		if err := a.store.TouchSessions(ctx, seen); err != nil {
			a.log.Error("recording session use", "err", err)
		}
	}
}
