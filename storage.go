package gatehouse

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The storage contract. Every backend (store/ for SQLite and PostgreSQL)
// implements these interfaces and passes the conformance suite in
// storetest/. Services take the smallest interface they need.
//
// Conventions shared by every method: a missing row is ErrNotFound, a
// uniqueness clash ErrConflict (both may be wrapped); a method that reads,
// decides and writes does so in one transaction, correct when several
// replicas share the database; times are kept to the microsecond.

// UserStore keeps users.
type UserStore interface {
	// CreateUser inserts u (and, when tok is not nil, tok as u's token in
	// the same transaction) and sets their IDs. ErrConflict when the
	// username is taken.
	CreateUser(ctx context.Context, u *User, tok *Token) error
	User(ctx context.Context, id int64) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	// UserIDByDjangoKey returns the id of the user loaded with that
	// Django primary key (User.DjangoKey); ErrNotFound when there is none.
	UserIDByDjangoKey(ctx context.Context, key string) (int64, error)
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	// CountUsersUpTo counts the users f selects, up to max: it returns
	// min(count, max) and stops reading once it has max of them, so that
	// a list over a million users answers its count at once (ask for
	// max+1 to tell "more than max" from "max"). A max below 1 counts
	// nothing.
	CountUsersUpTo(ctx context.Context, f UserFilter, max int) (int, error)
	// ListUsers returns the users f selects, in f.Order (by id when it is
	// ""). CountUsers, CountUsersUpTo and ListUsers refuse an Order that
	// ValidUserOrder refuses with its error.
	ListUsers(ctx context.Context, f UserFilter, offset, limit int) ([]User, error)
	// UpdateUser reads the user, calls fn with it and writes the result
	// back, in one transaction. fn's error aborts and is returned as is.
	// When fn asks for RevokeCredentials, every DRF token, knox token and
	// OAuth access token of the user is deleted, their refresh tokens and simplejwt
	// refresh records revoked, and AuthEpoch moved to UserChange.At.
	UpdateUser(ctx context.Context, id int64, fn func(*User) (UserChange, error)) (User, error)
	// SetPasswordHash replaces the hash only while it is still old (the
	// upgrade of an old hash after a login; a concurrent change wins).
	SetPasswordHash(ctx context.Context, id int64, old, new string) error
	TouchLogin(ctx context.Context, id int64, at time.Time) error
	// DeleteUser removes the user and everything they own.
	DeleteUser(ctx context.Context, id int64) error
}

// UserFilter selects users by exact, case-sensitive matches; empty fields
// match all.
type UserFilter struct {
	ID       int64 // 0 matches all
	Username string
	Email    string
	// Active and Staff, when not nil, select users whose IsActive or
	// IsStaff is that value.
	Active, Staff *bool
	// Search, when not empty, selects users whose username, email, first
	// or last name contains it, ignoring ASCII case (% and _ are literal).
	Search string
	// Superuser, when not nil, selects users whose IsSuperuser is that value.
	Superuser *bool
	// GroupID, when not 0, selects the members of that group.
	GroupID int64
	// Order is the listing's order: one of UserOrders ("" is "id"); a
	// leading "-" reverses it. Ties are broken by id in the same direction.
	Order string
}

// UserOrders lists the orders a user listing accepts (UserFilter.Order),
// each also accepted with a leading "-" for descending.
func UserOrders() []string {
	return []string{"id", "username", "email", "date_joined", "last_login"}
}

// ValidUserOrder checks a UserFilter.Order: nil for "" and for each of
// UserOrders with or without a leading "-", else an EINVALID *Error whose
// field error names "ordering" (DRF's query parameter), so that a caller
// answers 400 without asking the store. The stores return the same error
// for an Order they refuse, before they query anything.
//
// A never-set LastLogin sorts after every time (PostgreSQL's order of
// NULLs, which Django on PostgreSQL shows): last in "last_login", first in
// "-last_login"; ties on a column are broken by id in the same direction.
func ValidUserOrder(order string) error {
	if order == "" || slices.Contains(UserOrders(), strings.TrimPrefix(order, "-")) {
		return nil
	}
	return Invalid(FieldError{Field: "ordering", Code: FieldInvalid,
		Message: fmt.Sprintf("%q is not an ordering; use one of %s, each with an optional leading \"-\".", order, strings.Join(UserOrders(), ", "))})
}

// UserChange says what UpdateUser does beyond writing the fields.
type UserChange struct {
	// RevokeCredentials ends every credential of the user (see UpdateUser).
	RevokeCredentials bool
	// At is when the change happens, by the service's clock; required with
	// RevokeCredentials. AuthEpoch never moves backwards.
	At time.Time
	// Groups and Permissions, when not nil, replace the user's groups and
	// directly granted permissions with those ids in the same transaction
	// (PermissionStore.SetUserGroups, SetUserPermissions): an id that does
	// not exist is ErrNotFound and nothing changes. A store without
	// groups (internal/memstore) refuses them.
	Groups, Permissions *[]int64
}

// TokenOrigin is the credential a new DRF token is made with (POST
// /api/tokens/): when it was issued, and the DRF token it is, if one.
type TokenOrigin struct {
	Issued     time.Time
	DRFTokenID int64 // 0: not a DRF token
}

// TokenStore keeps DRF tokens.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// CreateTokenFrom stores t only while the credential it is made with
	// stands, checked by the insert itself: t's user is active and accepts
	// a credential issued at o.Issued (User.Accepts), and o's DRF token,
	// when named, still exists. Otherwise it is ErrNotFound and nothing is
	// stored: another replica's change (log out everywhere, a
	// deactivation, a logout) reaches this one's authentication cache
	// only when its entry expires, and a token made in that window would
	// outlive the change.
	CreateTokenFrom(ctx context.Context, t *Token, o TokenOrigin) error
	// TokenByHash returns the token with that key hash and its user.
	TokenByHash(ctx context.Context, hash []byte) (Token, User, error)
	DefaultToken(ctx context.Context, userID int64) (Token, error)
	// Tokens lists a user's tokens, oldest first.
	Tokens(ctx context.Context, userID int64) ([]Token, error)
	// DeleteToken deletes token id of userID; ErrNotFound when userID has none such.
	DeleteToken(ctx context.Context, userID, id int64) error
	DeleteUserTokens(ctx context.Context, userID int64) (int64, error)
	// TouchTokens records last-use times, token id to time.
	TouchTokens(ctx context.Context, used map[int64]time.Time) error
}

// KnoxTokenStore keeps the django-rest-knox tokens loaded from a Django
// project (KnoxToken). Revoking a user's credentials (UserChange) and
// deleting the user delete them too.
type KnoxTokenStore interface {
	// PutKnoxToken stores t, replacing the token with the same digest
	// (Django's loaddata overwrites by primary key). ErrNotFound when its
	// user does not exist.
	PutKnoxToken(ctx context.Context, t KnoxToken) error
	// KnoxTokensByKey returns the tokens whose TokenKey is key, with their
	// users (knox's token_key is not unique).
	KnoxTokensByKey(ctx context.Context, key string) ([]KnoxTokenUser, error)
	// KnoxTokens lists a user's knox tokens, by digest.
	KnoxTokens(ctx context.Context, userID int64) ([]KnoxToken, error)
	// RenewKnoxToken moves the expiry of the token with that digest to
	// expiry, only when it has one and it is earlier (a concurrent renewal
	// to a later time wins); false when nothing was changed.
	RenewKnoxToken(ctx context.Context, digest string, expiry time.Time) (bool, error)
	// DeleteExpiredKnox deletes up to batch tokens whose expiry is before
	// now and returns how many it deleted.
	DeleteExpiredKnox(ctx context.Context, now time.Time, batch int) (int64, error)
}

// RefreshRecordStore keeps what is known of simplejwt refresh tokens (their
// jti), for rotation, blacklisting and reuse detection.
type RefreshRecordStore interface {
	RecordRefresh(ctx context.Context, r RefreshRecord) error
	// RefreshBlacklisted reports whether the token jti, kept in the record
	// made for record ("" for jti's own), is blacklisted or was rotated;
	// an unknown token is not.
	RefreshBlacklisted(ctx context.Context, record, jti string) (bool, error)
	// RotateRefresh makes next the current token of old's record (old.Key)
	// when old is, in one transaction; presenting an already rotated token
	// revokes its family (Reused).
	RotateRefresh(ctx context.Context, old, next RefreshRecord, now time.Time) (RotateOutcome, error)
	// BlacklistRefresh blacklists r; false when it already was.
	BlacklistRefresh(ctx context.Context, r RefreshRecord, now time.Time) (bool, error)
	DeleteExpiredRefresh(ctx context.Context, now time.Time, limit int) (int64, error)
}

// ApplicationStore keeps OAuth2 clients.
type ApplicationStore interface {
	CreateApplication(ctx context.Context, a *Application) error
	Application(ctx context.Context, clientID string) (Application, error)
	ApplicationByID(ctx context.Context, id int64) (Application, error)
	Applications(ctx context.Context) ([]Application, error)
	DeleteApplication(ctx context.Context, clientID string) error
	// SetAllowedOrigins replaces the application's allowed origins and
	// sets its Updated time; ErrNotFound when there is no such client.
	SetAllowedOrigins(ctx context.Context, clientID string, origins []string, updated time.Time) error
	// UpdateApplication writes a's changeable fields (name, secret hash,
	// client type, grant types, redirect and post-logout URIs, skip
	// authorization, default scopes, resource server, allowed origins,
	// token format, updated) to the stored application with a's client
	// id; ErrNotFound when there is none.
	UpdateApplication(ctx context.Context, a *Application) error
	// ReplaceSecretHash sets the secret hash of the application with that
	// client id to new if it is still old (a Django password hash being
	// replaced after its first verification); ErrNotFound when there is no
	// such application or its hash changed meanwhile.
	ReplaceSecretHash(ctx context.Context, clientID string, old, new []byte) error
}

// OAuthTokenStore keeps OAuth2 access tokens, refresh tokens and
// authorization codes, all by hash. The hash of an access or refresh token
// is its key (secret.TokenKey); a token stored under the key's SHA-256
// part alone (secret.KeyDigest, the form before) is found by its key too.
// A refresh token is looked up by its secret.Selectors.RefreshKey: a split token's
// (secret.SplitToken) names its row's selector and the token's SHA-256,
// and only the row's current token is live; the one it replaced, and any
// older one of the row, are found as rotated (Revoked set), so that their
// replay is a reuse as for a token of a row of its own.
type OAuthTokenStore interface {
	// CreateTokens stores an access token and, when rt is not nil, its
	// refresh token (familyExpires: the family's absolute deadline, or nil).
	CreateTokens(ctx context.Context, at *AccessToken, rt *RefreshToken, familyExpires *time.Time) error
	// AccessTokenByHash returns the token with its user and client. Expiry
	// is the caller's to check.
	AccessTokenByHash(ctx context.Context, hash []byte) (AccessTokenInfo, error)
	RefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// RevokeAccessToken deletes the access token of appID with that hash;
	// false when there was none.
	RevokeAccessToken(ctx context.Context, hash []byte, appID int64) (bool, error)
	// RevokeRefreshToken revokes the refresh token of appID and deletes its
	// access token; found is false when there was none.
	RevokeRefreshToken(ctx context.Context, hash []byte, appID int64, now time.Time) (revoked RevokedAccess, found bool, err error)
	// RotateRefreshToken redeems a refresh token in one transaction:
	// unknown, expired or another client's: ErrInvalidGrant; already used
	// (outside grace): the family is revoked, committed, and a *TokenReuse
	// (ErrTokenReused) naming its user and family returned; else issue is
	// called (its error is returned and nothing changes), the token
	// revoked and issue's pair stored in its family. ahead, when not nil,
	// is the pair issue will return for the usual rotation, which the
	// store may write before calling issue (RefreshAhead).
	RotateRefreshToken(ctx context.Context, hash []byte, appID int64, now time.Time, grace time.Duration, ahead *RefreshAhead,
		issue func(RefreshRotation) (*AccessToken, *RefreshToken, error)) (RevokedAccess, error)
	CreateGrant(ctx context.Context, g *Grant) error
	// GrantByHash returns the code with that hash, read without a lock
	// (RedeemGrant's answer may differ), or ErrNotFound.
	GrantByHash(ctx context.Context, codeHash []byte) (Grant, error)
	// RedeemGrant exchanges a code in one transaction: unknown, expired or
	// another client's: ErrInvalidGrant; already redeemed: its tokens are
	// revoked, committed, and a *TokenReuse (ErrTokenReused) naming the
	// code's user returned; check's error leaves
	// everything as it was; else the code is used and issue's tokens stored.
	RedeemGrant(ctx context.Context, codeHash []byte, appID int64, now time.Time,
		check func(Grant, *User) error,
		issue func(Grant) (*AccessToken, *RefreshToken, *time.Time, error)) (RevokedAccess, error)
	// DeleteExpiredOAuth deletes up to batch expired rows of each kind.
	DeleteExpiredOAuth(ctx context.Context, now, keepRevokedUntil time.Time, batch int) (int64, error)
}

// DeviceGrantStore keeps device authorizations (RFC 8628), by the hashes
// of their codes.
type DeviceGrantStore interface {
	// CreateDeviceGrant stores g and sets g.ID. ErrConflict when its
	// device or user code hash is taken (the caller draws new codes).
	CreateDeviceGrant(ctx context.Context, g *DeviceGrant) error
	// DeviceGrantByUserCode returns the grant with that user code hash, or
	// ErrNotFound.
	DeviceGrantByUserCode(ctx context.Context, userCodeHash []byte) (DeviceGrant, error)
	// DeviceGrantByDeviceCode returns the grant with that device code
	// hash, read without a lock (PollDeviceGrant's may differ), or
	// ErrNotFound.
	DeviceGrantByDeviceCode(ctx context.Context, deviceCodeHash []byte) (DeviceGrant, error)
	// DecideDeviceGrant reads the grant with that user code hash
	// (ErrNotFound when none), calls decide with it and, when decide
	// returns nil, writes its Status, UserID and DecidedAt, all in one
	// transaction; decide's error is returned and nothing changes.
	DecideDeviceGrant(ctx context.Context, userCodeHash []byte, decide func(*DeviceGrant) error) (DeviceGrant, error)
	// PollDeviceGrant is the token request of a device, in one
	// transaction: an unknown device code, another client's, or one
	// already redeemed is ErrInvalidGrant (poll is not called); else poll
	// is called with the grant and its user (nil when it has none or they
	// are gone). Whatever poll returns, its changes to LastPoll and
	// Interval are written. When it returns tokens (a nil error and a
	// non-nil access token), the grant is marked redeemed at now and the
	// tokens are stored in the same transaction; of several concurrent
	// polls, one at most gets them. poll's error is returned after the
	// commit.
	PollDeviceGrant(ctx context.Context, deviceCodeHash []byte, appID int64, now time.Time,
		poll func(g *DeviceGrant, u *User) (DeviceTokens, error)) error
	// DeleteExpiredDeviceGrants deletes up to batch grants expired before
	// now and returns how many it deleted.
	DeleteExpiredDeviceGrants(ctx context.Context, now time.Time, batch int) (int64, error)
}

// DeviceTokens are the tokens a device poll issues: an access token, its
// refresh token (or nil) and the refresh family's deadline (or nil).
type DeviceTokens struct {
	Access        *AccessToken
	Refresh       *RefreshToken
	FamilyExpires *time.Time
}

// ThrottleStore keeps the counters of throttling and of failed-login
// tracking (package throttle), shared by every replica that uses the same
// store. Keys are opaque strings; each row ends at its own expiry.
type ThrottleStore interface {
	// ThrottleTake takes one request from the rate bucket key (a generic
	// cell rate algorithm: one request per interval, burst at once) and
	// returns 0, or refuses it, changing nothing, and returns how long
	// until one would be taken.
	ThrottleTake(ctx context.Context, key string, now time.Time, interval time.Duration, burst int) (wait time.Duration, err error)
	// ThrottleAdd adds one to the counter key and returns its new value; a
	// counter past its expiry starts again at 1. The counter's time becomes
	// now and its expiry now+ttl.
	ThrottleAdd(ctx context.Context, key string, now time.Time, ttl time.Duration) (int64, error)
	// ThrottleGet reads the counters keys, in order; a missing or expired
	// one reads as zero.
	ThrottleGet(ctx context.Context, now time.Time, keys ...string) ([]Counter, error)
	// ThrottleScan counts the live counters whose key starts with prefix
	// and returns up to limit of them (any limit of them), key → count:
	// for the admin's status page, never on a request's path.
	ThrottleScan(ctx context.Context, now time.Time, prefix string, limit int) (int64, map[string]int64, error)
	// ThrottleDelete removes the counter key.
	ThrottleDelete(ctx context.Context, key string) error
	// DeleteExpiredThrottle deletes up to batch rows expired by now.
	DeleteExpiredThrottle(ctx context.Context, now time.Time, batch int) (int64, error)
}

// Counter is one ThrottleStore counter.
type Counter struct {
	N  int64
	At time.Time // when it was last added to
}

// SessionStore keeps a record of each browser session a login starts, and
// remembers those that were ended (a logout, an administrator's
// revocation) before they expired. A session lives in a sealed cookie; its
// record is what lists it and what makes a copy of an ended one stop
// working. Sessions are named by the hash of their id, never the id.
type SessionStore interface {
	// StartSession records s (its ID ignored, and set) and deletes some
	// records that expired before now, so that the table holds only
	// sessions that could still be presented.
	StartSession(ctx context.Context, s *BrowserSession, now time.Time) error
	// TouchSessions records when sessions were last seen, by id hash (the
	// map's keys are hashes as strings); a time older than the recorded
	// one, or a session without a record, is skipped.
	TouchSessions(ctx context.Context, seen map[string]time.Time) error
	// EndSession records the session as ended until expires (recording it
	// again is not an error; a session started before records were kept
	// has none, and is remembered as ended all the same), and deletes some
	// ended records that expired before now.
	EndSession(ctx context.Context, idHash []byte, expires, now time.Time) error
	// SessionEnded reports whether the session was ended: by EndSession,
	// or revoked as a credential (CredentialSession).
	SessionEnded(ctx context.Context, idHash []byte) (bool, error)
}

// BrowserSession is the record of a logged-in browser session: never its
// id, only the id's hash.
type BrowserSession struct {
	ID       int64
	IDHash   []byte
	UserID   int64
	Created  time.Time // the session's issue time, as its cookie holds it
	Expires  time.Time
	LastSeen time.Time
	// UserAgent is the browser's User-Agent at login (at most
	// MaxUserAgent bytes); Source its address ("" when unknown).
	UserAgent string
	Source    string
}

// MaxUserAgent is the most bytes of a User-Agent a session record keeps.
const MaxUserAgent = 256

// AuditStore keeps the audit log. Events outlive the users and clients
// they name: deleting those leaves their events in place.
type AuditStore interface {
	// AppendAudit stores events in one transaction (their ID fields are
	// not read and not set).
	AppendAudit(ctx context.Context, events []AuditEvent) error
	// AuditEvents returns the events f selects, newest first (by At, then
	// by ID), at most f.Limit of them.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// DeleteAuditBefore deletes up to limit events whose At is before t
	// and returns how many it deleted; call it again until it returns 0.
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int64, error)
}

// PermissionStore keeps Django's permissions and groups (auth.permission,
// auth.group) and which users hold them. Deleting a user, group or
// permission removes what referred to it.
type PermissionStore interface {
	// CreatePermission inserts p (its ID ignored) and sets p.ID.
	// ErrConflict when a permission with the same app label, model and
	// codename exists.
	CreatePermission(ctx context.Context, p *Permission) error
	// Permissions lists every permission, by id.
	Permissions(ctx context.Context) ([]Permission, error)
	DeletePermission(ctx context.Context, id int64) error
	// CreateGroup inserts g (its ID ignored) with g.Permissions and sets
	// g.ID. ErrConflict when the name is taken, ErrNotFound when a
	// permission does not exist.
	CreateGroup(ctx context.Context, g *Group) error
	// UpdateGroup replaces the name and permissions of group g.ID, with
	// CreateGroup's errors; ErrNotFound when there is no such group.
	UpdateGroup(ctx context.Context, g Group) error
	// Groups lists every group, by id, with its permissions.
	Groups(ctx context.Context) ([]Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	// SetUserGroups and SetUserPermissions replace the user's groups (the
	// permissions granted to the user directly) with those ids.
	// ErrNotFound when the user or one of the ids does not exist; then
	// nothing changes.
	SetUserGroups(ctx context.Context, userID int64, groupIDs []int64) error
	SetUserPermissions(ctx context.Context, userID int64, permissionIDs []int64) error
	// UserLinks returns the ids of the user's groups and of the
	// permissions granted to the user directly, each ascending (none for
	// a user without any, or an unknown user).
	UserLinks(ctx context.Context, userID int64) (groupIDs, permissionIDs []int64, err error)
	// UserPermissions returns the user's groups and the permissions they
	// hold directly or through a group (see UserPermissions; an active
	// superuser's other permissions are not listed). A user without any,
	// or without a row, holds none.
	UserPermissions(ctx context.Context, userID int64) (UserPermissions, error)
}

// SigningKeyStore keeps the signing keys every replica shares (package
// keys). Private keys arrive sealed; the store never sees one in clear.
type SigningKeyStore interface {
	// SigningKeys lists every stored key, by schedule (SortSigningKeys).
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKeys reads every key in one transaction that excludes
	// every other UpdateSigningKeys on the database (of any replica),
	// calls fn with them (by schedule) and applies its change: the first
	// start's key, a rotation and a retirement each decide on what they
	// read, so of replicas doing the same at once one acts and the others
	// see its result. fn's error aborts and is returned as is; a Create
	// whose KID exists is ErrConflict, an Update of a missing KID
	// ErrNotFound, and then nothing changes.
	UpdateSigningKeys(ctx context.Context, fn func(keys []SigningKey) (SigningKeyChange, error)) error
	// DeleteExpiredSigningKeys deletes up to batch keys whose
	// PublishedUntil is at or before now and returns how many it deleted.
	DeleteExpiredSigningKeys(ctx context.Context, now time.Time, batch int) (int64, error)
}

// Store is every storage interface at once: what a backend implements.
type Store interface {
	UserStore
	TokenStore
	RefreshRecordStore
	ApplicationStore
	OAuthTokenStore
	DeviceGrantStore
	SessionStore
	AuditStore
	PermissionStore
	SigningKeyStore
	CredentialAdminStore
	ReplicaStore
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
}

// AccessTokenInfo is an access token with what authentication and
// introspection need: its user (nil for client_credentials tokens) and its
// client's client_id.
type AccessTokenInfo struct {
	Token    AccessToken
	User     *User
	ClientID string
}

// RevokedAccess lists the hashes of the access tokens a store call deleted,
// so that the caller can drop them from its caches.
type RevokedAccess [][]byte

// RefreshAhead is the new pair of the usual refresh rotation, made before
// the store reads the token presented: a split token presented as its
// row's current one (RefreshRotation.InPlace), its scope kept. A store
// may write it at once, without reading the token first (on PostgreSQL,
// one statement for a group of rotations instead of a read and a write),
// when and only when the token is its row's current one and not revoked,
// is appID's, has expired neither itself nor with its family, its user
// (if it has one) is present, active and accepts its creation
// (User.Accepts), and its access token's row can become the new one in
// place (the same user, application, family and grant). The new pair then
// has the old token's scope, user, family, grant and auth time, and
// issue is called after the write, with InPlace set, to build the answer:
// it must return exactly this pair (the store answers an internal error
// otherwise). In every other case the store proceeds as without it.
type RefreshAhead struct {
	AccessHash    []byte    // the new access token's key
	AccessExpires time.Time // the new access token's expiry
	// Secret is the new refresh token's SHA-256; it keeps the old one's
	// selector.
	Secret         []byte
	RefreshExpires *time.Time // nil: it does not expire
	Created        time.Time  // both tokens'
}

// Matches reports whether at and rt, issued for a rotation of old, are
// the pair a: what a store that wrote a checks of issue's answer.
func (a *RefreshAhead) Matches(old *RefreshToken, at *AccessToken, rt *RefreshToken) bool {
	sameTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	sameID := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return at != nil && rt != nil &&
		bytes.Equal(at.Hash, a.AccessHash) && at.Expires.Equal(a.AccessExpires) && at.Created.Equal(a.Created) &&
		at.Scope == old.Scope && sameID(at.UserID, old.UserID) && at.ApplicationID == old.ApplicationID &&
		bytes.Equal(rt.Hash, old.Hash) && bytes.Equal(rt.Secret, a.Secret) && sameTime(rt.Expires, a.RefreshExpires) &&
		rt.Created.Equal(a.Created) && rt.Scope == old.Scope && sameID(rt.UserID, old.UserID) &&
		rt.ApplicationID == old.ApplicationID && sameTime(rt.AuthTime, old.AuthTime)
}

// RefreshRotation is what RotateRefreshToken hands to its issue function.
type RefreshRotation struct {
	Old RefreshToken
	// FamilyExpires is the absolute deadline of the family, or nil.
	FamilyExpires *time.Time
	// InGrace is set when Old had already been rotated but within the
	// grace period, so it is accepted once more.
	InGrace bool
	// InPlace is set when Old is a split token presented as its row's
	// current one: a new refresh token with Old's selector
	// (secret.Resplit) takes its place in the same row. Any other new
	// token is stored in a row of its own, and Old's is revoked.
	InPlace bool
	// User is Old's user, read in the rotation's transaction (nil when Old
	// has none or the user is gone), so issue needs no second connection
	// while the transaction holds one.
	User *User
}
