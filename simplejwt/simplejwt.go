// Package simplejwt issues and checks the access/refresh pairs of
// djangorestframework-simplejwt: obtaining a pair after a login, refreshing
// (with rotation and blacklisting as simplejwt's settings ask), verifying
// and blacklisting. The tokens themselves are minted and parsed by package
// jwt; this package keeps the refresh records (jti only) and applies the
// user rules. It knows nothing of HTTP.
package simplejwt

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
)

// Store is the storage the service needs.
type Store interface {
	gatehouse.RefreshRecordStore
	User(ctx context.Context, id int64) (gatehouse.User, error)
	TouchLogin(ctx context.Context, id int64, at time.Time) error
}

// Users applies the user rules to a verified token (authn.Authenticator):
// nil when its user exists, is active and accepts its issue time; a
// missing user is gatehouse.ErrNotFound.
type Users interface {
	CheckJWTUser(ctx context.Context, c jwt.Claims) error
	// ResolveJWTUser gives c the id of the user its user_id names when
	// that is a Django key (c.UserKey), and leaves it without one when no
	// user has that key.
	ResolveJWTUser(ctx context.Context, c *jwt.Claims) error
}

// PermissionLister tells what a user holds, as Django's ModelBackend
// computes it (accounts.Service).
type PermissionLister interface {
	Permissions(ctx context.Context, u gatehouse.User) (gatehouse.UserPermissions, error)
}

// Options are simplejwt's settings of the same names, and the claims a
// project's token serializer would add.
type Options struct {
	RotateRefreshTokens    bool
	BlacklistAfterRotation bool
	UpdateLastLogin        bool
	// GroupsClaim and PermissionsClaim name the claims of access tokens
	// that list the user's group names and permissions
	// ("app_label.codename", Deps.Permissions), as of when each access
	// token is minted (a refresh reads them again); "" leaves them out.
	GroupsClaim, PermissionsClaim string
}

// Deps are what a Service is built from.
type Deps struct {
	Store   Store
	Codec   *jwt.Codec
	Users   Users
	Options Options
	Now     func() time.Time // nil means time.Now
	// Audit records pairs issued, refreshed and blacklisted, and reuse
	// of rotated refresh tokens (audit.Recorder); nil records nothing.
	Audit gatehouse.Auditor
	// Permissions fills Options.GroupsClaim and PermissionsClaim; nil
	// lists none.
	Permissions PermissionLister
}

// Service issues and checks pairs. Safe for concurrent use.
type Service struct {
	store Store
	codec *jwt.Codec
	users Users
	opt   Options
	now   func() time.Time
	audit gatehouse.Auditor
	perms PermissionLister
}

// New returns a Service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, codec: d.Codec, users: d.Users, opt: d.Options, now: d.Now, audit: d.Audit, perms: d.Permissions}
	if s.now == nil {
		s.now = time.Now
	}
	if s.audit == nil {
		s.audit = gatehouse.NoAudit{}
	}
	return s
}

// record audits event for userID's refresh token jti (an identifier
// inside the signed token, not a credential); more adds detail pairs.
func (s *Service) record(ctx context.Context, event string, userID int64, jti string, more ...string) {
	d := map[string]string{"kind": gatehouse.AuditKindSimpleJWT, "jti": jti}
	for i := 0; i+1 < len(more); i += 2 {
		d[more[i]] = more[i+1]
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: event, UserID: userID, Detail: d})
}

// maxJTI is the longest jti a refresh record keeps: simplejwt's
// OutstandingToken.jti is a CharField of max_length 255.
const maxJTI = 255

// recordable reports whether a refresh token's jti and record could be
// those of a refresh record: no longer than simplejwt's OutstandingToken.jti
// holds (PostgreSQL's index refuses keys of some 2,700 bytes) and without
// a NUL, which PostgreSQL's text refuses (SQLite kept it: the backends
// answered such a token differently). No record names another.
func recordable(c jwt.Claims) bool {
	return len(c.JTI) <= maxJTI && len(c.Record) <= maxJTI && !strings.ContainsRune(c.JTI, 0) && !strings.ContainsRune(c.Record, 0)
}

// Reasons of the EUNAUTHORIZED errors of this package beyond the common ones.
const ReasonBlacklisted = "blacklisted"

func refused(reason string) *gatehouse.Error { return gatehouse.Unauthorized(reason) }

// Obtain mints a pair for a user who just logged in, records the refresh
// token so that it can be blacklisted and rotated, and records the login
// when UpdateLastLogin is set. The tokens name the user as the Django
// project it was imported from did (User.WireKey: a UUID, as str(pk)),
// else by its id.
func (s *Service) Obtain(ctx context.Context, u *gatehouse.User) (refresh, access string, err error) {
	refresh, access, err = s.issue(ctx, u.ID, u.WireKey())
	if err != nil {
		return "", "", err
	}
	if s.opt.UpdateLastLogin {
		if err := s.store.TouchLogin(ctx, u.ID, s.now()); err != nil {
			return "", "", err
		}
	}
	return refresh, access, nil
}

// PairFor mints a pair for a user without a login, as simplejwt's
// RefreshToken.for_user does: the user must exist (ENOTFOUND) and be active
// (EINVALID).
func (s *Service) PairFor(ctx context.Context, userID int64) (refresh, access string, err error) {
	u, err := s.store.User(ctx, userID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return "", "", &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: "no such user", Err: err}
	}
	if err != nil {
		return "", "", err
	}
	if !u.IsActive {
		return "", "", gatehouse.Errorf(gatehouse.EINVALID, "user is inactive")
	}
	return s.issue(ctx, u.ID, u.WireKey())
}

// issue mints and records a pair for user userID, named in them by key
// when it is not empty (see Obtain).
func (s *Service) issue(ctx context.Context, userID int64, key string) (refresh, access string, err error) {
	extra, err := s.accessClaims(ctx, userID)
	if err != nil {
		return "", "", err
	}
	refresh, access, rc, _, err := s.codec.PairKey(userID, key, extra...)
	if err != nil {
		return "", "", err
	}
	err = s.store.RecordRefresh(ctx, gatehouse.RefreshRecord{JTI: rc.JTI, UserID: userID, Family: rc.JTI,
		Created: rc.IssuedAt(), Expires: time.Unix(rc.Exp, 0)})
	if err != nil {
		return "", "", err
	}
	s.record(ctx, gatehouse.AuditTokenIssued, userID, rc.JTI)
	return refresh, access, nil
}

// parseRefresh checks a refresh token's signature, expiry, type, blacklist
// and that its user may still use it. With rotation, a blacklisted token is
// left to RotateRefresh, which tells reuse of a rotated token (and revokes
// its family) from a plain blacklisting.
func (s *Service) parseRefresh(ctx context.Context, raw string, rotating bool) (jwt.Claims, error) {
	claims, err := s.codec.Parse(raw)
	if err != nil {
		return claims, parseRefused(err)
	}
	switch claims.TokenType {
	case jwt.Refresh:
	case "":
		return claims, refused(gatehouse.ReasonNoTokenType)
	default:
		return claims, refused(gatehouse.ReasonWrongTokenType)
	}
	if !recordable(claims) {
		return claims, refused(gatehouse.ReasonCredentialInvalid)
	}
	if err := s.users.ResolveJWTUser(ctx, &claims); err != nil {
		return claims, err
	}
	if !rotating { // a rotation reads the blacklist in its own transaction
		black, err := s.store.RefreshBlacklisted(ctx, claims.Record, claims.JTI)
		if err != nil {
			return claims, err
		}
		if black {
			return claims, refused(ReasonBlacklisted)
		}
	}
	if !claims.HasUserID {
		// No user gatehouse can name (the claim absent, or a key that is
		// no integer and no loaded user's Django key): what it would mint
		// could name no user, so it is refused, as simplejwt refuses a
		// refresh token whose user is gone.
		return claims, refused(gatehouse.ReasonCredentialInvalid)
	}
	if err := s.checkUser(ctx, claims, false); err != nil {
		return claims, err
	}
	return claims, nil
}

// checkUser applies the user rules; a missing user is refused unless
// missingOK (simplejwt's verify does not look the user up).
func (s *Service) checkUser(ctx context.Context, c jwt.Claims, missingOK bool) error {
	err := s.users.CheckJWTUser(ctx, c)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gatehouse.ErrNotFound):
		if missingOK {
			return nil
		}
		return refused(gatehouse.ReasonCredentialInvalid)
	case gatehouse.ErrorCode(err) == gatehouse.EUNAUTHORIZED:
		return refused(gatehouse.ReasonCredentialInvalid)
	}
	return err
}

// Refresh exchanges a refresh token for a new access token, and with
// RotateRefreshTokens for a new refresh token too ("" otherwise). The new
// access token keeps the refresh token's issue time, as simplejwt does.
// With BlacklistAfterRotation the old refresh token is blacklisted; one
// presented again revokes its whole family and is refused with an error
// that wraps gatehouse.ErrTokenReused (worth logging). Refusals are
// EUNAUTHORIZED *gatehouse.Error values.
func (s *Service) Refresh(ctx context.Context, raw string) (access, refresh string, err error) {
	rotating := s.opt.RotateRefreshTokens && s.opt.BlacklistAfterRotation
	claims, err := s.parseRefresh(ctx, raw, rotating)
	if err != nil {
		return "", "", err
	}
	var extra, copied []jwt.Claim
	if claims.HasUserID {
		if extra, err = s.accessClaims(ctx, claims.UserID); err != nil {
			return "", "", err
		}
	}
	if claims.Extra {
		// simplejwt copies the refresh token's other claims (a project's
		// serializer's) into the access token, and a rotated refresh
		// token keeps them.
		if copied, err = s.codec.CopiedClaims(raw); err != nil {
			return "", "", refused(gatehouse.ReasonCredentialInvalid)
		}
		extra = withCopied(copied, extra)
	}
	// The new tokens name the user as the refresh token did: by the key
	// of a user imported with one (as Django did, or gatehouse since),
	// else by its id.
	key := mintedKey(claims)
	access, _, err = s.codec.MintKey(jwt.Access, claims.UserID, key, issuedAt(claims), extra...)
	if err != nil {
		return "", "", err
	}
	if !s.opt.RotateRefreshTokens {
		s.record(ctx, gatehouse.AuditTokenRefreshed, claims.UserID, claims.JTI)
		return access, "", nil
	}
	now := s.now()
	if !s.opt.BlacklistAfterRotation {
		// The old token stays valid: the new one gets a record of its own.
		refresh, nc, err := s.codec.MintKey(jwt.Refresh, claims.UserID, key, now, copied...)
		if err != nil {
			return "", "", err
		}
		next := gatehouse.RefreshRecord{JTI: nc.JTI, UserID: claims.UserID, Created: now, Expires: time.Unix(nc.Exp, 0)}
		if err := s.store.RecordRefresh(ctx, next); err != nil {
			return "", "", err
		}
		s.record(ctx, gatehouse.AuditTokenRefreshed, claims.UserID, claims.JTI, "new_jti", nc.JTI)
		return access, refresh, nil
	}
	// The new token replaces the old one in its record, which it names.
	if claims.JTI == "" {
		// A jti empty or no JSON string (only another signer mints one)
		// names no record to keep the new token in.
		return "", "", refused(gatehouse.ReasonCredentialInvalid)
	}
	old := presented(claims)
	refresh, nc, err := s.codec.MintRotated(old.Key(), claims.UserID, key, now, copied...)
	if err != nil {
		return "", "", err
	}
	next := gatehouse.RefreshRecord{JTI: nc.JTI, Record: old.Key(), UserID: claims.UserID, Created: now, Expires: time.Unix(nc.Exp, 0)}
	outcome, err := s.store.RotateRefresh(ctx, old, next, now)
	if err != nil {
		return "", "", err
	}
	switch outcome {
	case gatehouse.Rotated:
		s.record(ctx, gatehouse.AuditTokenRefreshed, claims.UserID, claims.JTI, "new_jti", nc.JTI)
		return access, refresh, nil
	case gatehouse.Reused:
		s.record(ctx, gatehouse.AuditTokenReused, claims.UserID, claims.JTI)
		return "", "", &gatehouse.Error{Code: gatehouse.EUNAUTHORIZED, Reason: ReasonBlacklisted, Err: gatehouse.ErrTokenReused}
	}
	return "", "", refused(ReasonBlacklisted)
}

// presented is the record of the refresh token whose claims are c.
func presented(c jwt.Claims) gatehouse.RefreshRecord {
	return gatehouse.RefreshRecord{JTI: c.JTI, Record: c.Record, UserID: c.UserID, Created: c.IssuedAt(), Expires: time.Unix(c.Exp, 0)}
}

// withCopied is the access token's extra claims on a refresh: the
// refresh token's copied claims in their order, each one gatehouse
// computes itself (fresh, Options.GroupsClaim and PermissionsClaim) with
// its current value, then the fresh ones the refresh token lacked.
func withCopied(copied, fresh []jwt.Claim) []jwt.Claim {
	out := make([]jwt.Claim, 0, len(copied)+len(fresh))
	used := make([]bool, len(fresh))
	for _, c := range copied {
		for i, f := range fresh {
			if f.Name == c.Name {
				c, used[i] = f, true
			}
		}
		out = append(out, c)
	}
	for i, f := range fresh {
		if !used[i] {
			out = append(out, f)
		}
	}
	return out
}

// parseRefused is the refusal of a token Parse refused: simplejwt words a
// missing id apart.
func parseRefused(err error) error {
	if errors.Is(err, jwt.ErrNoExp) {
		return refused(gatehouse.ReasonNoExp)
	}
	if errors.Is(err, jwt.ErrNoID) {
		return refused(gatehouse.ReasonNoJTI)
	}
	return refused(gatehouse.ReasonCredentialInvalid)
}

// Verify checks a token of either type as simplejwt's verify view does:
// signature and expiry, the blacklist for refresh tokens, and that its
// user (when it exists) is active and accepts its issue time.
func (s *Service) Verify(ctx context.Context, raw string) error {
	claims, err := s.codec.Parse(raw)
	if err != nil {
		return parseRefused(err)
	}
	if claims.TokenType == jwt.Refresh && recordable(claims) { // no record names another: none blacklists it
		black, err := s.store.RefreshBlacklisted(ctx, claims.Record, claims.JTI)
		if err != nil {
			return err
		}
		if black {
			return refused(ReasonBlacklisted)
		}
	}
	if err := s.users.ResolveJWTUser(ctx, &claims); err != nil {
		return err
	}
	if claims.HasUserID {
		return s.checkUser(ctx, claims, true)
	}
	return nil
}

// Blacklist blacklists a valid refresh token (simplejwt's blacklist view).
func (s *Service) Blacklist(ctx context.Context, raw string) error {
	claims, err := s.parseRefresh(ctx, raw, false)
	if err != nil {
		return err
	}
	rec := presented(claims)
	done, err := s.store.BlacklistRefresh(ctx, rec, s.now())
	if done && err == nil {
		s.record(ctx, gatehouse.AuditTokenRevoked, claims.UserID, claims.JTI)
	}
	return err
}

// accessClaims are the claims Options.GroupsClaim and PermissionsClaim
// add to userID's access tokens; none, and no store call, when neither is
// set.
func (s *Service) accessClaims(ctx context.Context, userID int64) ([]jwt.Claim, error) {
	if s.opt.GroupsClaim == "" && s.opt.PermissionsClaim == "" {
		return nil, nil
	}
	var held gatehouse.UserPermissions
	if s.perms != nil {
		u, err := s.store.User(ctx, userID)
		if err != nil {
			return nil, err
		}
		if held, err = s.perms.Permissions(ctx, u); err != nil {
			return nil, err
		}
	}
	var extra []jwt.Claim
	if s.opt.GroupsClaim != "" {
		extra = append(extra, jwt.Claim{Name: s.opt.GroupsClaim, Value: list(held.Groups)})
	}
	if s.opt.PermissionsClaim != "" {
		extra = append(extra, jwt.Claim{Name: s.opt.PermissionsClaim, Value: list(held.Permissions)})
	}
	return extra, nil
}

// list is s, or an empty list for nil, so that a claim is [] and not null.
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JWKS is the document of the public verification keys.
func (s *Service) JWKS() ([]byte, error) { return s.codec.JWKS() }

// issuedAt is the issue time to copy from a token, as precisely as the
// token tells it (so the copy obeys the same auth epoch); a token without
// iat (possible from other issuers) gets the current time.
func issuedAt(c jwt.Claims) time.Time {
	if c.Iat == 0 {
		return time.Time{} // Mint treats the zero time as now
	}
	return c.IssuedAt()
}

// mintedKey is the key the tokens minted from c (a verified refresh token
// whose user was resolved) name their user by: c's Django key, as
// gatehouse keeps it, unless it is digits alone (User.WireKey's rule: it
// could be read as another user's id); "" (the id) otherwise.
func mintedKey(c jwt.Claims) string {
	if !gatehouse.NamesByKey(c.UserKey) {
		return ""
	}
	return gatehouse.DjangoUserKey(c.UserKey)
}
