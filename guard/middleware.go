package guard

import (
	"errors"
	"log/slog"
	"net/http"
)

// An Authenticator tells who the credential of a request is of. It returns
// nil and nil for a request without a credential it handles (anonymous), a
// *Refusal for a credential it refuses, and any other error for a failure
// of its own (gatehouse unreachable), which the Guard answers 503.
type Authenticator interface {
	Authenticate(r *http.Request) (*Principal, error)
}

// Refusal is a refused credential: unknown, expired, revoked, malformed, of
// an inactive user or of the wrong kind.
type Refusal struct {
	// Keyword is the Authorization scheme the credential came with:
	// "Token" or "Bearer" (as written by the client, any case).
	Keyword string
	// Reason is one of gatehouse's Reason* words (credential_invalid,
	// user_inactive, wrong_token_type, no_user_id, user_not_found,
	// bad_header) or, for a malformed "Token" header, ReasonTokenHeaderEmpty,
	// ReasonTokenHeaderSpaces or ReasonTokenHeaderChars.
	Reason string
}

// Reasons of a malformed "Authorization: Token" header, which DRF words
// apart.
const (
	ReasonTokenHeaderEmpty  = "token_header_empty"  // "Token" alone
	ReasonTokenHeaderSpaces = "token_header_spaces" // "Token a b"
	ReasonTokenHeaderChars  = "token_header_chars"  // "Token caf\xe9": a key that is not UTF-8
)

// ReasonBearerRejected is a bearer token only DOT read (its keyword not
// spelt "Bearer", so simplejwt skipped it) and refused. DRF then goes on
// as for an anonymous request: the Guard checks the permission without a
// principal, and a 401 carries the invalid_token challenge.
const ReasonBearerRejected = "bearer_rejected"

func (e *Refusal) Error() string { return "guard: credential refused: " + e.Reason }

// Option configures a Guard.
type Option func(*Guard)

// WithLogger logs the Guard's internal errors to l (the default discards
// them).
func WithLogger(l *slog.Logger) Option { return func(g *Guard) { g.log = l } }

// Guard is the middleware. Safe for concurrent use.
type Guard struct {
	auth Authenticator
	log  *slog.Logger
}

// New returns a Guard authenticating with a.
func New(a Authenticator, opts ...Option) *Guard {
	g := &Guard{auth: a, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Protect returns h behind perm: the request's credential is authenticated
// (an invalid one is answered 401 even where perm is AllowAny, as DRF
// does), its Principal put in the context (PrincipalFrom), and perm
// checked: a denied anonymous request is answered 401, a denied
// authenticated one 403.
func (g *Guard) Protect(perm Permission, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := g.auth.Authenticate(r)
		challenge := Challenge
		if ref := (*Refusal)(nil); errors.As(err, &ref) && ref.Reason == ReasonBearerRejected {
			p, err, challenge = nil, nil, ChallengeInvalid
		}
		if err != nil {
			g.fail(w, r, err)
			return
		}
		status, err := Check(r, p, perm)
		if err != nil {
			g.fail(w, r, err)
			return
		}
		if status != http.StatusOK {
			writeDenied(w, status, challenge)
			return
		}
		if p != nil {
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		h.ServeHTTP(w, r)
	})
}

// Require is Protect as a middleware constructor.
func (g *Guard) Require(perm Permission) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler { return g.Protect(perm, h) }
}

func (g *Guard) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ref *Refusal
	if errors.As(err, &ref) {
		WriteRefusal(w, ref)
		return
	}
	g.log.ErrorContext(r.Context(), "guard: authenticating a request", "err", err)
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, detailBody("Service temporarily unavailable, try again later."))
}

// Check applies perm to the request of p (nil: anonymous) as DRF's
// check_permissions does: http.StatusOK when it passes, 401 when it does
// not and the request has no credential, 403 when it does not and it
// has one (an OAuth token of a client alone included). ErrUnknown denies
// (403); any other error is returned.
func Check(r *http.Request, p *Principal, perm Permission) (int, error) {
	ok, err := perm.HasPermission(r, p)
	if err != nil && !errors.Is(err, ErrUnknown) {
		return 0, err
	}
	switch {
	case ok && err == nil:
		return http.StatusOK, nil
	case p == nil:
		return http.StatusUnauthorized, nil
	}
	return http.StatusForbidden, nil
}
