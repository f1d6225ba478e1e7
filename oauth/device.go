package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// The device authorization grant (RFC 8628), as newer DOT versions offer
// it: a device without a browser (a CLI, a TV) asks for a device code and
// a user code (AuthorizeDevice), shows the user code, and polls the token
// endpoint with the device code (grant_type
// urn:ietf:params:oauth:grant-type:device_code) while the user, logged in
// on a browser, enters the user code and approves or denies
// (DeviceConsentFor, DecideDevice).

// The RFC 8628 3.5 errors of a device's token request.
var (
	ErrAuthorizationPending = &Error{Code: "authorization_pending", Status: 400}
	ErrSlowDown             = &Error{Code: "slow_down", Status: 400}
	ErrExpiredToken         = &Error{Code: "expired_token", Status: 400}
)

// userCodeAlphabet has no vowels (no words can be spelt) and no digits
// (none to mistake for a letter): RFC 8628 6.1's example. Eight of them
// are 20^8, about 2^34.6, codes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const userCodeLength = 8

// slowDownStep is how much a poll too early raises the interval (RFC 8628 3.5).
const slowDownStep = 5 * time.Second

// guardKindUserCode is the throttle.Guard kind of user code attempts,
// counted per user and source.
const guardKindUserCode = "user_code"

// DeviceRequest is a device authorization request (RFC 8628 3.1): its
// form parameters and the client's credentials.
type DeviceRequest struct {
	Params url.Values
	Client ClientCredentials
}

// DeviceAuthorization is the answer to a device authorization request
// (RFC 8628 3.2) without the verification URIs, which are the HTTP
// layer's.
type DeviceAuthorization struct {
	DeviceCode string
	// UserCode is shown as XXXX-XXXX.
	UserCode  string
	Scope     string
	ExpiresIn time.Duration
	Interval  time.Duration
}

// AuthorizeDevice answers a device authorization request: duplicate
// parameters (invalid_request), the client authenticated as at the token
// endpoint (public clients by client_id), allowed the device grant
// (unauthorized_client), the scope as elsewhere (invalid_scope). A refusal
// is an *Error; any other error is internal.
func (p *Provider) AuthorizeDevice(ctx context.Context, req DeviceRequest) (*DeviceAuthorization, error) {
	form := req.Params
	for _, name := range []string{"client_id", "scope"} {
		if len(form[name]) > 1 {
			return nil, ErrInvalidRequest("Duplicate " + name + " parameter.")
		}
	}
	app, err := p.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return nil, err
	}
	if !app.Allows(gatehouse.GrantDeviceCode) {
		return nil, ErrUnauthorizedClient
	}
	_, sent := form["scope"]
	scope, oe := p.requestedScope(app, form.Get("scope"), sent)
	if oe != nil {
		return nil, oe
	}
	now := p.now()
	out := &DeviceAuthorization{Scope: strings.Join(scope, " "), ExpiresIn: p.cfg.DeviceCodeLifetime, Interval: p.cfg.DeviceInterval}
	// A clash of codes is all but impossible (the user code's 2^34.6
	// among the live ones); draw again a few times rather than fail.
	if err := redrawn(func() error { return p.createDeviceGrant(ctx, app, out, now) }); err != nil {
		return nil, err
	}
	return out, nil
}

// createDeviceGrant draws the codes of out and stores its grant.
func (p *Provider) createDeviceGrant(ctx context.Context, app *gatehouse.Application, out *DeviceAuthorization, now time.Time) error {
	device, err := secret.Alnum(p.random, 40)
	if err != nil {
		return err
	}
	code, err := newUserCode(p.random)
	if err != nil {
		return err
	}
	out.DeviceCode, out.UserCode = device, FormatUserCode(code)
	return p.store.CreateDeviceGrant(ctx, &gatehouse.DeviceGrant{DeviceCodeHash: secret.Hash(device), UserCodeHash: secret.Hash(code),
		ApplicationID: app.ID, Scope: out.Scope, Created: now, Expires: now.Add(p.cfg.DeviceCodeLifetime), Interval: p.cfg.DeviceInterval,
		Status: gatehouse.DevicePending})
}

// newUserCode draws userCodeLength letters of userCodeAlphabet, each
// uniformly (bytes past the last whole multiple of the alphabet are
// drawn again).
func newUserCode(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	const limit = 256 - 256%len(userCodeAlphabet)
	out := make([]byte, 0, userCodeLength)
	buf := make([]byte, 16)
	for len(out) < userCodeLength {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < userCodeLength {
				out = append(out, userCodeAlphabet[int(b)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// NormalizeUserCode returns a user code as typed (any case, with or
// without the dash, spaces around) in its stored form, and whether it can
// be one at all.
func NormalizeUserCode(typed string) (string, bool) {
	if len(typed) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
		case r < 128 && strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == userCodeLength
}

// FormatUserCode writes a normalised user code as it is shown: XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != userCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// errUserCode is the refusal of a user code that is wrong, expired or
// already used: one message for all, which the page shows as it is.
var errUserCode = &gatehouse.Error{Code: gatehouse.EINVALID,
	Message: "That code is not valid or has expired. Check the code shown on your device and enter it again."}

// IsUserCodeRefused reports whether err is the refusal of a user code
// (wrong, expired or already used), which the verification page shows
// beside the form.
func IsUserCodeRefused(err error) bool { return errors.Is(err, errUserCode) }

// DeviceConsent is a pending device authorization as the user is asked
// about it.
type DeviceConsent struct {
	App *gatehouse.Application
	// Scope is the scopes asked for, in order.
	Scope []string
	// UserCode is the code as shown (XXXX-XXXX).
	UserCode string
}

// DeviceConsentFor finds the pending device authorization a logged-in
// user's code names. A wrong, expired or used code is refused (see
// IsUserCodeRefused) and counts as a failure in the Guard against that
// user from the request's source: after a few, each try waits (ETHROTTLED),
// so guessing codes from a session costs hours per handful.
func (p *Provider) DeviceConsentFor(ctx context.Context, u *gatehouse.User, typed string) (*DeviceConsent, error) {
	return p.userCodeAttempt(ctx, u, typed, func(code string) (*gatehouse.DeviceGrant, error) {
		g, err := p.store.DeviceGrantByUserCode(ctx, secret.Hash(code))
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, errUserCode
		}
		if err != nil {
			return nil, err
		}
		if g.Status != gatehouse.DevicePending || g.Expired(p.now()) {
			return nil, errUserCode
		}
		return &g, nil
	})
}

// DecideDevice records the logged-in user's approval (or denial) of the
// device authorization their code names, in one transaction; the code is
// checked and counted as in DeviceConsentFor. An approval is audited as a
// code issued (grant device_code).
func (p *Provider) DecideDevice(ctx context.Context, u *gatehouse.User, typed string, approve bool) (*DeviceConsent, error) {
	c, err := p.userCodeAttempt(ctx, u, typed, func(code string) (*gatehouse.DeviceGrant, error) {
		now := p.now()
		g, err := p.store.DecideDeviceGrant(ctx, secret.Hash(code), func(g *gatehouse.DeviceGrant) error {
			if g.Status != gatehouse.DevicePending || g.Expired(now) {
				return errUserCode
			}
			g.Status, g.UserID, g.DecidedAt = gatehouse.DeviceDenied, &u.ID, &now
			if approve {
				g.Status = gatehouse.DeviceApproved
			}
			return nil
		})
		if errors.Is(err, gatehouse.ErrNotFound) {
			return nil, errUserCode
		}
		if err != nil {
			return nil, err
		}
		return &g, nil
	})
	if err == nil && approve {
		p.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditCodeIssued, UserID: u.ID, ClientID: c.App.ClientID,
			Detail: map[string]string{"kind": gatehouse.AuditKindOAuth, "grant": "device_code", "scope": strings.Join(c.Scope, " ")}})
	}
	return c, err
}

// userCodeAttempt runs find for a typed user code behind the Guard.
func (p *Provider) userCodeAttempt(ctx context.Context, u *gatehouse.User, typed string,
	find func(code string) (*gatehouse.DeviceGrant, error)) (*DeviceConsent, error) {
	account := "user:" + strconv.FormatInt(u.ID, 10)
	attempt, err := p.guard.Begin(ctx, guardKindUserCode, account, gatehouse.SourceFrom(ctx))
	if err != nil {
		if e, ok := gatehouse.ThrottledEvent(err, map[string]string{"via": "device_user_code"}); ok {
			e.UserID = u.ID
			p.audit.Record(ctx, e)
		}
		return nil, err
	}
	var g *gatehouse.DeviceGrant
	code, ok := NormalizeUserCode(typed)
	if ok {
		g, err = find(code)
	} else {
		err = errUserCode
	}
	var app gatehouse.Application
	if err == nil {
		if app, err = p.store.ApplicationByID(ctx, g.ApplicationID); err != nil {
			return nil, err
		}
	}
	switch {
	case err == nil:
		if rerr := attempt.Succeeded(ctx); rerr != nil {
			p.log.Warn("recording a user code attempt", "err", rerr)
		}
	case errors.Is(err, errUserCode):
		if rerr := attempt.Failed(ctx); rerr != nil {
			p.log.Warn("recording a user code attempt", "err", rerr)
		}
		return nil, err
	default:
		return nil, err
	}
	return &DeviceConsent{App: &app, Scope: strings.Fields(g.Scope), UserCode: FormatUserCode(code)}, nil
}

// --- urn:ietf:params:oauth:grant-type:device_code (RFC 8628 3.4)

type deviceCodeGrant struct{ code string }

func (g *deviceCodeGrant) allowed(a *gatehouse.Application) bool {
	return a.Allows(gatehouse.GrantDeviceCode)
}
func (g *deviceCodeGrant) duplicates() []string { return []string{"device_code"} }

func (g *deviceCodeGrant) parse(t *tokenRequest) *Error {
	g.code = t.param("device_code")
	if g.code == "" {
		return ErrInvalidRequest("Missing device_code parameter.")
	}
	return nil
}

// presignDevice is presign for a device's poll: it reads the grant with
// that device code hash (no lock) and, when the poll would issue tokens
// for it as read (this client's, approved for a user, not redeemed, not
// expired, not polled too soon), signs the JWT access token for its user
// and scope before the poll's transaction. The poll's callback uses it
// only when the locked grant has the same user and scope. A poll that
// the grant as read answers otherwise (pending, slow_down, denied) costs
// no signature; nil (and no read) for an opaque client.
func (p *Provider) presignDevice(ctx context.Context, t *tokenRequest, hash []byte) (*presigned, error) {
	return p.presignAs(ctx, t, func() (*int64, string, bool, error) {
		dg, err := p.store.DeviceGrantByDeviceCode(ctx, hash)
		if err != nil {
			return nil, "", false, err
		}
		accepted := dg.ApplicationID == t.client.ID && dg.RedeemedAt == nil && dg.UserID != nil && pollRefusal(&dg, t.now) == nil
		return dg.UserID, dg.Scope, accepted, nil
	})
}

// pollRefusal is what a poll of dg at now is answered instead of tokens,
// in RFC 8628 3.5's order (expired_token, slow_down, access_denied,
// authorization_pending); nil for an approved grant, whose user the
// poll's transaction still checks. It changes nothing: the poll records
// its time and a slow_down's longer interval.
func pollRefusal(dg *gatehouse.DeviceGrant, now time.Time) *Error {
	switch {
	case dg.Expired(now):
		return ErrExpiredToken
	case dg.LastPoll != nil && now.Sub(*dg.LastPoll) < dg.Interval:
		return ErrSlowDown
	case dg.Status == gatehouse.DeviceDenied:
		return ErrAccessDenied
	case dg.Status != gatehouse.DeviceApproved:
		return ErrAuthorizationPending
	}
	return nil
}

// issue answers a poll (RFC 8628 3.5): expired_token past the code's
// expiry; slow_down when it comes sooner than the interval after the last
// one (and the interval grows by slowDownStep); access_denied after a
// denial; authorization_pending before a decision; after an approval, the
// tokens the code flow issues, once, unless the user's password changed or
// they were deactivated since (invalid_grant).
func (g *deviceCodeGrant) issue(ctx context.Context, p *Provider, t *tokenRequest) (*TokenResponse, error) {
	if len(g.code) > 255 {
		return nil, ErrInvalidGrant
	}
	hash := secret.Hash(g.code)
	pre, err := p.presignDevice(ctx, t, hash)
	if err != nil {
		return nil, err
	}
	var out *TokenResponse
	err = redrawn(func() (err error) {
		out, err = p.pollOnce(ctx, t, hash, pre)
		return err
	})
	if err := exchangeError(err); err != nil {
		return nil, err
	}
	return out, nil
}

// pollOnce is one try of a poll's transaction and the tokens it issued.
func (p *Provider) pollOnce(ctx context.Context, t *tokenRequest, hash []byte, pre *presigned) (*TokenResponse, error) {
	now := t.now
	var out *TokenResponse
	err := p.store.PollDeviceGrant(ctx, hash, t.client.ID, now,
		func(dg *gatehouse.DeviceGrant, u *gatehouse.User) (gatehouse.DeviceTokens, error) {
			refusal := pollRefusal(dg, now)
			if refusal != ErrExpiredToken {
				dg.LastPoll = &now
			}
			if refusal == ErrSlowDown {
				dg.Interval += slowDownStep
			}
			if refusal != nil {
				return gatehouse.DeviceTokens{}, refusal
			}
			if u == nil || !u.IsActive || dg.DecidedAt == nil || !u.Accepts(*dg.DecidedAt) {
				return gatehouse.DeviceTokens{}, ErrInvalidGrant
			}
			at, rt, o, err := p.pairWith(ctx, pre.token(u, dg.Scope), t.client, u, dg.Scope, now, true, nil)
			if err != nil {
				return gatehouse.DeviceTokens{}, err
			}
			// An id_token as the code flow gives one (with openid asked
			// for): the grant keeps no login time, so none is claimed.
			o.idToken = &IDTokenInput{User: *u}
			out = o
			return gatehouse.DeviceTokens{Access: at, Refresh: rt, FamilyExpires: p.familyDeadline(now)}, nil
		})
	return out, err
}
