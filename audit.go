package gatehouse

import (
	"context"
	"net/netip"
	"time"
)

// The security events of the audit log, the Event of an AuditEvent. The
// names are stored and queried (`gatehouse audit --event`): they never
// change once released.
const (
	// AuditLoginSucceeded: a username and password were accepted.
	// Detail: via, username.
	AuditLoginSucceeded = "login.succeeded"
	// AuditLoginFailed: a username and password were refused. Detail: via,
	// username (as given), reason (the AuditReason* values).
	AuditLoginFailed = "login.failed"
	// AuditLoginThrottled: a login was refused before checking the
	// password because its source or account tried too often.
	AuditLoginThrottled = "login.throttled"
	// AuditLoginLocked: an account stopped accepting logins for a while
	// after too many failures.
	AuditLoginLocked = "login.locked"

	// AuditUserCreated: a user was created (sign-up or the CLI).
	AuditUserCreated = "user.created"
	// AuditPasswordChanged: a user's password was set; every credential
	// the user held was ended.
	AuditPasswordChanged = "password.changed"
	// AuditUserDeactivated and AuditUserActivated: a user's is_active was
	// set; deactivation ends every credential the user held.
	AuditUserDeactivated = "user.deactivated"
	AuditUserActivated   = "user.activated"
	// AuditLoggedOutEverywhere: the user ended every credential they held.
	AuditLoggedOutEverywhere = "user.logged_out_everywhere"
	// AuditUserDeleted: a user and everything they owned were deleted.
	AuditUserDeleted = "user.deleted"
	// AuditUserChanged: an administrator changed a user's fields, flags,
	// groups or permissions (the admin). Detail: username, fields (the
	// names of the fields changed, comma-separated; never their values
	// but for is_staff, is_superuser and is_active, given as staff,
	// superuser, active).
	AuditUserChanged = "user.changed"

	// AuditGroupCreated, AuditGroupChanged and AuditGroupDeleted: a group
	// of permissions was created, renamed or given other permissions, or
	// deleted (the admin). Detail: group_id, name, permissions (the ids,
	// comma-separated; not on group.deleted).
	AuditGroupCreated = "group.created"
	AuditGroupChanged = "group.changed"
	AuditGroupDeleted = "group.deleted"

	// AuditCredentialsRevoked: an administrator ended credentials of any
	// kind (the admin). Detail: kind, id (when one was named), count.
	AuditCredentialsRevoked = "credentials.revoked"

	// AuditTokenIssued: a credential was issued. Detail: kind (the
	// AuditKind* values) and what identifies it without being it: the
	// OAuth grant, scope and refresh family, the simplejwt jti, the DRF
	// token's id and name.
	AuditTokenIssued = "token.issued"
	// AuditTokenRefreshed: a refresh token was exchanged for new tokens.
	AuditTokenRefreshed = "token.refreshed"
	// AuditTokenRevoked: a credential was ended by its holder (OAuth
	// revocation, simplejwt blacklisting, a DRF token deleted or logged out).
	AuditTokenRevoked = "token.revoked"
	// AuditTokenReused: a refresh token that had already been exchanged
	// was presented again; its whole family was revoked.
	AuditTokenReused = "token.reuse_detected"

	// AuditCodeIssued: an authorization code was issued after consent.
	AuditCodeIssued = "code.issued"
	// AuditCodeReplayed: a redeemed authorization code was presented
	// again; the tokens issued from it were revoked.
	AuditCodeReplayed = "code.replayed"

	// AuditApplicationCreated, AuditApplicationChanged and
	// AuditApplicationDeleted: an OAuth client was registered, changed or
	// removed. Nothing changes an application yet: the name is reserved.
	AuditApplicationCreated = "application.created"
	AuditApplicationChanged = "application.changed"
	AuditApplicationDeleted = "application.deleted"

	// AuditKeyRotated: a new signing key was made that replaces the
	// current one at its signs_from (package keys). Detail: kid,
	// algorithm, signs_from, replaces (the kid it replaces), scheduled
	// ("true" for the rotation schedule, "false" for `gatehouse keys
	// rotate`). The simplejwt keys of the configuration are not recorded.
	AuditKeyRotated = "key.rotated"
	// AuditKeyCreated: the first signing key was made (an empty store).
	// Detail: kid, algorithm.
	AuditKeyCreated = "key.created"
	// AuditKeyRetired: a signing key was withdrawn at once (`gatehouse keys
	// retire`): it no longer signs and left the key set. Detail: kid,
	// algorithm, and signer (the kid signing in its place).
	AuditKeyRetired = "key.retired"
	// AuditKeyImported: a private key made elsewhere (a Django project's
	// OIDC key) joined the key set (`gatehouse keys import`). Detail: kid,
	// algorithm, signs ("true": it signs from now on; "false": published
	// only) and replaces (the kid that stopped signing, when it signs).
	AuditKeyImported = "key.imported"
)

// AuditEvents lists every event name, in the order above.
func AuditEvents() []string {
	return []string{AuditLoginSucceeded, AuditLoginFailed, AuditLoginThrottled, AuditLoginLocked,
		AuditUserCreated, AuditPasswordChanged, AuditUserDeactivated, AuditUserActivated, AuditLoggedOutEverywhere,
		AuditTokenIssued, AuditTokenRefreshed, AuditTokenRevoked, AuditTokenReused,
		AuditCodeIssued, AuditCodeReplayed,
		AuditApplicationCreated, AuditApplicationChanged, AuditApplicationDeleted,
		AuditKeyRotated, AuditKeyCreated, AuditKeyRetired, AuditKeyImported, AuditUserDeleted,
		AuditUserChanged, AuditGroupCreated, AuditGroupChanged, AuditGroupDeleted, AuditCredentialsRevoked}
}

// LoginVia names the way a user logged in, the "via" of login events.
type LoginVia string

// The login paths.
const (
	LoginDRFToken      LoginVia = "drf_token"      // /api-token-auth/ and its custom twin
	LoginSimpleJWT     LoginVia = "simplejwt"      // the simplejwt obtain view
	LoginOAuthPassword LoginVia = "oauth_password" // the OAuth password grant
	LoginPage          LoginVia = "login_page"     // the browser login page
)

// Reasons of login.failed.
const (
	AuditReasonUnknownUser = "unknown_user"
	AuditReasonBadPassword = "bad_password"
	AuditReasonInactive    = "inactive" // the password was right, the user is inactive
	AuditReasonTooLong     = "password_too_long"
)

// Kinds of credential in token events.
const (
	AuditKindOAuth     = "oauth"
	AuditKindSimpleJWT = "simplejwt"
	AuditKindDRF       = "drf"
)

// AuditEvent is one security event: what happened, to whom, by whom, from
// where. It never holds a secret (a password, token, code, client secret
// or their hashes); Detail holds identifiers only.
type AuditEvent struct {
	ID    int64 // set by the store
	At    time.Time
	Event string // one of the Audit* event names
	// UserID is the user the event is about; 0 when none (a
	// client_credentials token) or unknown (a login with an unknown
	// username).
	UserID int64
	// ActorID is the authenticated user who caused the event: the user
	// themselves for what they do to their own account, 0 when anonymous
	// (a login) or from the command line.
	ActorID int64
	// ClientID is the OAuth client involved, if any.
	ClientID string
	// Source is the client's address (RequestInfo.Source); invalid when
	// there was no request (the command line).
	Source netip.Addr
	// RequestID is the request's id, as in the request log line and the
	// X-Request-Id header; "" without a request.
	RequestID string
	// Detail holds the event's own fields (see each event name).
	Detail map[string]string
}

// Auditor records security events; audit.Recorder is the one gatehouse
// runs. Record fills in what e leaves zero and ctx knows (RequestFrom: the
// request id, the client's address, the acting user) and the time. It has
// no error to return: a row it cannot store is reported in its own log,
// never dropped silently.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent)
}

// NoAudit is an Auditor that records nothing: the services' default when
// they are given none.
type NoAudit struct{}

// Record does nothing.
func (NoAudit) Record(context.Context, AuditEvent) {}

// AuditFilter selects audit events; zero fields select all.
type AuditFilter struct {
	UserID   int64  // the subject (AuditEvent.UserID)
	ClientID string // exact match
	Event    string // exact match
	// Since and Until bound At: Since <= At < Until.
	Since, Until time.Time
	// After continues a listing: only events that come after it in the
	// listing's order (older ones) are returned. Pass the last event of
	// the previous page.
	After *AuditEvent
	// Limit is the most events returned; it must be positive.
	Limit int
}

// TokenReuse is the error of a replayed authorization code or refresh
// token: errors.Is(err, ErrTokenReused) holds, and it says whose the code
// or token was, for the audit log.
type TokenReuse struct {
	UserID int64  // 0 when the code or token had no user
	Family string // the refresh family revoked ("" for a code)
}

func (e *TokenReuse) Error() string { return ErrTokenReused.Error() }

// Is reports whether target is ErrTokenReused.
func (e *TokenReuse) Is(target error) bool { return target == ErrTokenReused }

// ThrottledEvent is the audit event of a login or client authentication
// the failed-login guard refused with err: login.locked when the account's
// lock refused it, login.throttled for a source's back-off. ok is false
// when err is no ETHROTTLED error.
func ThrottledEvent(err error, detail map[string]string) (e AuditEvent, ok bool) {
	if ErrorCode(err) != ETHROTTLED {
		return e, false
	}
	e = AuditEvent{Event: AuditLoginThrottled, Detail: detail}
	if ErrorReason(err) == ReasonLocked {
		e.Event = AuditLoginLocked
	}
	if e.Detail == nil {
		e.Detail = map[string]string{}
	}
	e.Detail["retry_after"] = WaitOf(err).Round(time.Second).String()
	return e, true
}
