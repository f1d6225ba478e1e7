package oauth

// Error is an OAuth2 error (RFC 6749 section 5.2): the error code, its
// optional description, and the HTTP status a direct response carries
// (400, or 401 for invalid_client, 500 for server_error).
// Cause, when set, says why in terms a caller may test with errors.Is
// (gatehouse.ErrTokenReused for a replayed code or refresh token); it is
// never shown.
type Error struct {
	Code        string
	Description string
	Status      int
	Cause       error
}

func (e *Error) Error() string {
	if e.Description == "" {
		return "oauth: " + e.Code
	}
	return "oauth: " + e.Code + ": " + e.Description
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// ErrInvalidRequest is invalid_request with a description.
func ErrInvalidRequest(desc string) *Error {
	return &Error{Code: "invalid_request", Description: desc, Status: 400}
}

// The errors without a description. Callers must not modify them.
var (
	ErrInvalidClient           = &Error{Code: "invalid_client", Status: 401}
	ErrInvalidGrant            = &Error{Code: "invalid_grant", Status: 400}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client", Status: 400}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type", Status: 400}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Status: 400}
	ErrInvalidScope            = &Error{Code: "invalid_scope", Status: 400}
	ErrAccessDenied            = &Error{Code: "access_denied", Status: 400}
	// OpenID Connect Core 3.1.2.6: prompt=none, and the user would have
	// to log in, or to consent.
	ErrLoginRequired   = &Error{Code: "login_required", Description: "The user must log in.", Status: 400}
	ErrConsentRequired = &Error{Code: "consent_required", Description: "The user must consent.", Status: 400}
	ErrServer          = &Error{Code: "server_error", Status: 500}
	// ErrTemporarilyUnavailable is RFC 6749's temporarily_unavailable, answered
	// with 503 and Retry-After when the server is overloaded or its database
	// too slow.
	ErrTemporarilyUnavailable = &Error{Code: "temporarily_unavailable", Status: 503}
)

var errBadCredentials = &Error{Code: "invalid_grant", Description: "Invalid credentials given.", Status: 400}

// replayed is invalid_grant for a code or refresh token presented again.
func replayed(cause error) *Error {
	return &Error{Code: ErrInvalidGrant.Code, Status: ErrInvalidGrant.Status, Cause: cause}
}
