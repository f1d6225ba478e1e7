// Package accounts owns users and their passwords and DRF tokens: creating
// users with Django's validation rules, logging in as Django's ModelBackend
// does, changing passwords and activity (which ends every credential), and
// issuing DRF tokens. It knows nothing of HTTP; the HTTP layer and the CLI
// both call it.
//
// Password hashes are CPU- and memory-bound: every hash runs in one of a
// bounded number of slots (hashing.go), whichever path asks for it.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/secret"
	"github.com/gatehouse-auth/gatehouse/throttle"
	"golang.org/x/text/unicode/norm"
)

// Store is the storage accounts needs.
type Store interface {
	gatehouse.UserStore
	gatehouse.TokenStore
}

// Deps are what a Service is built from.
type Deps struct {
	Store  Store
	Hasher *password.Hasher
	// Policy is applied on every path that sets a password.
	Policy password.Policy
	// Box seals the key of each user's default DRF token, which logins
	// return again as DRF does.
	Box    *secret.Box
	Log    *slog.Logger
	Now    func() time.Time // nil means time.Now
	Random io.Reader        // nil means crypto/rand
	// HashMemory, when set, is called with the memory one password hash
	// needs each time a stored hash needs more than any before it.
	HashMemory func(bytes int64)
	// HashesRunning, when set, is called with true when a password hash
	// starts while none runs and with false when the last one running
	// ends; the calls alternate.
	HashesRunning func(running bool)
	// MaxHashWaiting bounds the callers waiting for a password-hash slot;
	// more are refused at once with EUNAVAILABLE. 0 means 32 per CPU.
	MaxHashWaiting int
	// Forget, when set, is called after a user or their tokens changed,
	// to drop cached lookups (authn.Authenticator.ForgetUser).
	Forget func(userID int64)
	// Guard tracks failed logins per username and source (nil: none).
	Guard *throttle.Guard
	// Audit records logins, password and activity changes, logouts and
	// DRF tokens (audit.Recorder); nil records nothing.
	Audit gatehouse.Auditor
	// Permissions keeps Django's groups and permissions, which
	// Service.Permissions and HasPerm read; nil: nobody holds any.
	Permissions gatehouse.PermissionStore
	// NewUserKeys gives every user Insert stores a random UUID as its
	// Django key (gatehouse.User.DjangoKey), which names it on the wire
	// (User.WireKey) as a project whose user model is keyed by UUIDs
	// named its users; false: new users are named by their integer id.
	NewUserKeys bool
}

// Service is the accounts service. Safe for concurrent use.
type Service struct {
	store    Store
	hasher   *password.Hasher
	policy   password.Policy
	box      *secret.Box
	log      *slog.Logger
	now      func() time.Time
	random   io.Reader
	hashing  *hashSlots
	forget   func(int64)
	guard    *throttle.Guard
	floor    failFloor
	suspects suspects
	audit    gatehouse.Auditor
	perms    gatehouse.PermissionStore
	userKeys bool
}

// New returns a Service.
func New(d Deps) *Service {
	s := &Service{store: d.Store, hasher: d.Hasher, policy: d.Policy, box: d.Box, log: d.Log, now: d.Now,
		random: d.Random, hashing: newHashSlots(d.HashMemory, d.HashesRunning, d.MaxHashWaiting), forget: d.Forget, guard: d.Guard,
		audit: d.Audit, perms: d.Permissions, userKeys: d.NewUserKeys}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.forget == nil {
		s.forget = func(int64) {}
	}
	if s.audit == nil {
		s.audit = gatehouse.NoAudit{}
	}
	return s
}

// NewUser is what Create needs. Values are taken as given (the caller trims
// them as its wire format does).
type NewUser struct {
	Username, Email, FirstName, LastName string
	Password                             string
	IsStaff, IsSuperuser                 bool
}

// MaxPasswordBytes is the longest password a login hashes (Django's
// practical limit); a longer one is refused without hashing.
const MaxPasswordBytes = 4096

// Field names of NewUser in errors, in the order they are checked.
const (
	FieldUsername  = "username"
	FieldEmail     = "email"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldPassword  = "password"
)

// NormalizeUsername is Django's normalize_username: the NFKC form, so that
// "ｆｕｌｌ" (full-width) and "full" are one name, as are the many ways to
// write "é". Users are created under the normal form; logins look the name
// up as given, as Django's ModelBackend does.
func NormalizeUsername(s string) string { return norm.NFKC.String(s) }

// NormalizeEmail is Django's BaseUserManager.normalize_email, which
// create_user applies: the domain (after the last @) in lower case, the
// local part as given, since mail servers may tell its cases apart; a
// value without @ unchanged.
func NormalizeEmail(s string) string {
	t := strings.TrimSpace(s)
	i := strings.LastIndexByte(t, '@')
	if i < 0 {
		return s
	}
	return t[:i] + "@" + strings.ToLower(t[i+1:])
}

// Validate checks n against Django's rules for auth_user and the password
// policy, and returns the problems in field order. Fields named in skip
// are not checked (the caller already found them bad). The password policy
// runs only when everything else passed, as in Django's forms.
func (s *Service) Validate(ctx context.Context, n NewUser, skip ...string) ([]gatehouse.FieldError, error) {
	n.Username = NormalizeUsername(n.Username)
	skipped := func(f string) bool {
		for _, x := range skip {
			if x == f {
				return true
			}
		}
		return false
	}
	var errs []gatehouse.FieldError
	add := func(field, code, msg string) {
		errs = append(errs, gatehouse.FieldError{Field: field, Code: code, Message: msg})
	}
	checkLen := func(field, v string, max int) bool {
		if gatehouse.Length(v) > max {
			add(field, gatehouse.FieldMaxLength, fmt.Sprintf("at most %d characters", max))
			return false
		}
		return true
	}
	if !skipped(FieldUsername) {
		switch {
		case n.Username == "":
			add(FieldUsername, gatehouse.FieldBlank, "required")
		case !checkLen(FieldUsername, n.Username, gatehouse.MaxUsername):
		case !gatehouse.ValidUsername(n.Username):
			add(FieldUsername, gatehouse.FieldInvalid, "only letters, digits and @/./+/-/_")
		default:
			if _, err := s.store.UserByUsername(ctx, n.Username); err == nil {
				add(FieldUsername, gatehouse.FieldUnique, "already taken")
			} else if !errors.Is(err, gatehouse.ErrNotFound) {
				return nil, err
			}
		}
	}
	if !skipped(FieldEmail) && n.Email != "" && checkLen(FieldEmail, n.Email, gatehouse.MaxEmail) && !gatehouse.ValidEmail(n.Email) {
		add(FieldEmail, gatehouse.FieldInvalid, "not a valid address")
	}
	// Django's form fields refuse NUL (ProhibitNullCharactersValidator),
	// which PostgreSQL cannot store either.
	text := func(field, v string) bool {
		if !gatehouse.ValidText(v) {
			add(field, gatehouse.FieldInvalid, gatehouse.MsgNullCharacters)
			return false
		}
		return true
	}
	if !skipped(FieldFirstName) && text(FieldFirstName, n.FirstName) {
		checkLen(FieldFirstName, n.FirstName, gatehouse.MaxName)
	}
	if !skipped(FieldLastName) && text(FieldLastName, n.LastName) {
		checkLen(FieldLastName, n.LastName, gatehouse.MaxName)
	}
	if !skipped(FieldPassword) {
		if n.Password == "" {
			add(FieldPassword, gatehouse.FieldBlank, "required")
		} else if text(FieldPassword, n.Password) && checkLen(FieldPassword, n.Password, gatehouse.MaxPassword) && len(errs) == 0 && len(skip) == 0 {
			for _, msg := range s.policy.Validate(n.Password, attrs(n.Username, n.FirstName, n.LastName, n.Email)) {
				add(FieldPassword, gatehouse.FieldPassword, msg)
			}
		}
	}
	return errs, nil
}

func attrs(username, first, last, email string) password.Attrs {
	return password.Attrs{Username: username, FirstName: first, LastName: last, Email: email}
}

// Create validates n, hashes its password and stores the user, active,
// with a default DRF token, its email's domain in lower case
// (NormalizeEmail) as Django's create_user stores it. Problems are an EINVALID *gatehouse.Error with
// fields (a username taken meanwhile is FieldUnique too).
func (s *Service) Create(ctx context.Context, n NewUser) (gatehouse.User, error) {
	n.Username = NormalizeUsername(n.Username)
	errs, err := s.Validate(ctx, n)
	if err != nil {
		return gatehouse.User{}, err
	}
	if len(errs) > 0 {
		return gatehouse.User{}, gatehouse.Invalid(errs...)
	}
	hash, err := s.Hash(ctx, n.Password)
	if err != nil {
		return gatehouse.User{}, err
	}
	u := gatehouse.User{Username: n.Username, Email: NormalizeEmail(n.Email), FirstName: n.FirstName, LastName: n.LastName,
		Password: hash, IsActive: true, IsStaff: n.IsStaff, IsSuperuser: n.IsSuperuser, DateJoined: s.now()}
	if err := s.Insert(ctx, &u); err != nil {
		if errors.Is(err, gatehouse.ErrConflict) {
			return gatehouse.User{}, gatehouse.Invalid(gatehouse.FieldError{Field: FieldUsername, Code: gatehouse.FieldUnique, Message: "already taken"})
		}
		return gatehouse.User{}, err
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditUserCreated, UserID: u.ID,
		Detail: map[string]string{"username": u.Username, "staff": strconv.FormatBool(u.IsStaff), "superuser": strconv.FormatBool(u.IsSuperuser)}})
	return u, nil
}

// Insert stores u, whose Password is already a hash (or unusable), with
// its default DRF token, as DRF's post_save signal does, and with a new
// Django key under Deps.NewUserKeys.
func (s *Service) Insert(ctx context.Context, u *gatehouse.User) error {
	if u.DateJoined.IsZero() {
		u.DateJoined = s.now()
	}
	if s.userKeys && u.DjangoKey == "" {
		key, err := secret.UUID4(s.random)
		if err != nil {
			return err
		}
		u.DjangoKey = key
	}
	tok, _, err := s.newToken("", true, nil)
	if err != nil {
		return err
	}
	return s.store.CreateUser(ctx, u, &tok)
}

// NewUsersKeyed tells whether users made here get a Django key
// (Deps.NewUserKeys): the project's users are keyed by UUIDs, as the
// user list's OPTIONS metadata then says of its id.
func (s *Service) NewUsersKeyed() bool { return s.userKeys }

// Hash hashes a password in a hash slot.
func (s *Service) Hash(ctx context.Context, pw string) (string, error) {
	var hash string
	var err error
	if werr := s.hashing.do(ctx, s.hasher.Algorithm(), func() bool {
		hash, err = s.hasher.Hash(pw)
		return err == nil
	}); werr != nil {
		return "", werr
	}
	return hash, err
}

func (s *Service) byUsername(ctx context.Context, username string) (gatehouse.User, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return u, &gatehouse.Error{Code: gatehouse.ENOTFOUND, Message: fmt.Sprintf("user %q does not exist", username), Err: err}
	}
	return u, err
}

// ChangePassword validates and sets a user's password and ends every
// credential the user holds (DRF and OAuth tokens are deleted; JWTs and
// sessions issued before now stop working).
func (s *Service) ChangePassword(ctx context.Context, username, pw string) error {
	u, err := s.byUsername(ctx, username)
	if err != nil {
		return err
	}
	if gatehouse.Length(pw) > gatehouse.MaxPassword {
		return gatehouse.Invalid(gatehouse.FieldError{Field: FieldPassword, Code: gatehouse.FieldMaxLength,
			Message: fmt.Sprintf("at most %d characters", gatehouse.MaxPassword)})
	}
	if !gatehouse.ValidText(pw) {
		return gatehouse.Invalid(gatehouse.FieldError{Field: FieldPassword, Code: gatehouse.FieldInvalid, Message: gatehouse.MsgNullCharacters})
	}
	if msgs := s.policy.Validate(pw, attrs(u.Username, u.FirstName, u.LastName, u.Email)); len(msgs) > 0 {
		var errs []gatehouse.FieldError
		for _, m := range msgs {
			errs = append(errs, gatehouse.FieldError{Field: FieldPassword, Code: gatehouse.FieldPassword, Message: m})
		}
		return gatehouse.Invalid(errs...)
	}
	hash, err := s.Hash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.Password = hash
		return gatehouse.UserChange{RevokeCredentials: true, At: s.now()}, nil
	})
	s.forget(u.ID)
	if err == nil {
		s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditPasswordChanged, UserID: u.ID, Detail: map[string]string{"username": u.Username}})
	}
	return err
}

// SetActive activates or deactivates a user; deactivation ends every
// credential the user holds.
func (s *Service) SetActive(ctx context.Context, username string, active bool) error {
	u, err := s.byUsername(ctx, username)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (gatehouse.UserChange, error) {
		u.IsActive = active
		return gatehouse.UserChange{RevokeCredentials: !active, At: s.now()}, nil
	})
	s.forget(u.ID)
	if err == nil {
		event := gatehouse.AuditUserDeactivated
		if active {
			event = gatehouse.AuditUserActivated
		}
		s.audit.Record(ctx, gatehouse.AuditEvent{Event: event, UserID: u.ID, Detail: map[string]string{"username": u.Username}})
	}
	return err
}

// Delete removes the user called username and everything they own
// (tokens, OAuth grants and tokens, sessions, memberships), in one store
// call; ENOTFOUND when there is no such user.
func (s *Service) Delete(ctx context.Context, username string) error {
	u, err := s.byUsername(ctx, username)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	s.forget(u.ID)
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditUserDeleted, UserID: u.ID, Detail: map[string]string{"username": u.Username}})
	return nil
}

// CheckFresh reads user id as stored now, not as an authentication cache
// holds it, and refuses (EUNAUTHORIZED) when the credential issued at
// issued no longer stands: the user is gone or inactive, or changed their
// password or logged out everywhere since (User.Accepts). A request that
// makes a new credential from an old one (a device token, an
// authorization code, a device's approval) calls it first: on another
// replica the change is seen only when its cache expires, and what it
// made meanwhile would outlive the credential it came from (found by a
// multi-replica pass).
func (s *Service) CheckFresh(ctx context.Context, id int64, issued time.Time) error {
	u, err := s.store.User(ctx, id)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	if err != nil {
		return err
	}
	if !u.IsActive {
		return gatehouse.Unauthorized(gatehouse.ReasonUserInactive)
	}
	if !issued.IsZero() && !u.Accepts(issued) {
		return gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	return nil
}

// User returns the user called username; ENOTFOUND when there is none.
func (s *Service) User(ctx context.Context, username string) (gatehouse.User, error) {
	return s.byUsername(ctx, username)
}

// CheckPassword authenticates username and password as Django's
// ModelBackend does (a password over MaxPasswordBytes is refused at once): an unknown user costs one hash like a wrong password,
// inactive users never authenticate, and a correct password stored with an
// older algorithm or weaker parameters is rehashed, unless other password
// hashes are queued for the CPUs: then the rehash is left to a later login
// (hashSlots.idle), so that a wave of first logins after a migration runs at
// the rate of one hash each. ok is false for any refusal; err is internal
// (or ctx's, when the caller gave up waiting for a slot). Each answer
// without err is audited as login.succeeded or login.failed, via the path
// the caller names.
func (s *Service) CheckPassword(ctx context.Context, via gatehouse.LoginVia, username, pw string) (u gatehouse.User, ok bool, err error) {
	reason := ""
	defer func() {
		if err == nil {
			s.auditLogin(ctx, via, username, u.ID, ok, reason)
		}
	}()
	if len(pw) > MaxPasswordBytes {
		// Refused before any lookup or hash: a long input would cost a
		// long hash (PBKDF2 reads all of it), and no password of a user
		// can be this long. The answer says nothing about the user.
		reason = gatehouse.AuditReasonTooLong
		return u, false, nil
	}
	source := gatehouse.SourceFrom(ctx)
	attempt, err := s.guard.Begin(ctx, throttle.KindUser, username, source)
	if err != nil {
		if e, ok := gatehouse.ThrottledEvent(err, map[string]string{"via": string(via), "username": username}); ok {
			s.audit.Record(ctx, e)
		}
		return u, false, err // ETHROTTLED: no lookup, no hash
	}
	var work time.Duration
	timed := func(kind string, f func() bool) func() bool {
		return func() bool {
			start := time.Now()
			whole := f()
			work = time.Since(start)
			if kind != "" { // a value refused unread costs nothing to refuse
				s.floor.observe(kind, work)
			}
			return whole
		}
	}
	failed := func() {
		if err := attempt.Failed(ctx); err != nil {
			s.log.Warn("recording a failed login", "err", err)
		}
		s.suspects.mark(source, s.now())
		s.floor.hold(ctx, work)
	}
	class := hashFirst
	if s.suspects.is(source, s.now()) {
		class = hashLater
	}
	if !gatehouse.ValidText(username) {
		err = gatehouse.ErrNotFound // no user has such a name; the dummy hash below keeps the timing
	} else {
		u, err = s.store.UserByUsername(ctx, username)
	}
	if errors.Is(err, gatehouse.ErrNotFound) {
		reason = gatehouse.AuditReasonUnknownUser
		kind := s.hasher.Algorithm()
		if err := s.hashing.doAs(ctx, class, kind, timed(kind, func() bool { s.hasher.Dummy(pw); return true })); err != nil {
			return u, false, err
		}
		failed()
		return u, false, nil
	}
	if err != nil {
		return u, false, err
	}
	var rehash bool
	s.hashing.need(password.Memory(u.Password))
	// A value refused unread (malformed, over the limits, an algorithm not
	// accepted) is of no kind: its time would pull its algorithm's floor
	// down, and it computes no whole hash for the slots to learn from.
	kind := ""
	if s.hasher.Verifiable(u.Password) {
		kind = password.Algorithm(u.Password)
	}
	if err := s.hashing.doAs(ctx, class, kind, timed(kind, func() bool { ok, rehash = s.hasher.Verify(pw, u.Password); return ok })); err != nil {
		return u, false, err
	}
	if !ok || !u.IsActive {
		reason = gatehouse.AuditReasonBadPassword
		if ok {
			reason = gatehouse.AuditReasonInactive
		}
		failed()
		return u, false, nil
	}
	if err := attempt.Succeeded(ctx); err != nil {
		s.log.Warn("recording a login", "err", err)
	}
	if rehash {
		var h string
		var err error
		if s.hashing.idle(func() { h, err = s.hasher.Hash(pw) }) && err == nil {
			if err := s.store.SetPasswordHash(ctx, u.ID, u.Password, h); err != nil {
				s.log.Warn("rehashing password", "user_id", u.ID, "err", err)
			} else {
				u.Password = h
			}
		}
	}
	return u, true, nil
}

// auditLogin records a login's outcome. The username is recorded as
// given: for an unknown user it is the one name the event has.
func (s *Service) auditLogin(ctx context.Context, via gatehouse.LoginVia, username string, userID int64, ok bool, reason string) {
	e := gatehouse.AuditEvent{Event: gatehouse.AuditLoginSucceeded, UserID: userID,
		Detail: map[string]string{"via": string(via), "username": username}}
	if !ok {
		e.Event = gatehouse.AuditLoginFailed
		e.Detail["reason"] = reason
	}
	s.audit.Record(ctx, e)
}

// Count counts the users f selects.
func (s *Service) Count(ctx context.Context, f gatehouse.UserFilter) (int, error) {
	if !gatehouse.ValidText(f.Username) || !gatehouse.ValidText(f.Email) {
		return 0, nil // matches no stored value
	}
	return s.store.CountUsers(ctx, f)
}

// List returns the users f selects, ordered by id, limit from offset.
func (s *Service) List(ctx context.Context, f gatehouse.UserFilter, offset, limit int) ([]gatehouse.User, error) {
	if !gatehouse.ValidText(f.Username) || !gatehouse.ValidText(f.Email) {
		return nil, nil
	}
	return s.store.ListUsers(ctx, f, offset, limit)
}
