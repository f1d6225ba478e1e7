package oauth

import "net/http"

// Error is an OAuth2 error (RFC 6749 section 5.2): the error code, its
// optional description, and the HTTP status a direct response carries.
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
	return &Error{Code: "invalid_request", Description: desc, Status: http.StatusBadRequest}
}

// The errors without a description. Callers must not modify them.
var (
	ErrInvalidClient           = &Error{Code: "invalid_client", Status: http.StatusUnauthorized}
	ErrInvalidGrant            = &Error{Code: "invalid_grant", Status: http.StatusBadRequest}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client", Status: http.StatusBadRequest}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type", Status: http.StatusBadRequest}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Status: http.StatusBadRequest}
	ErrInvalidScope            = &Error{Code: "invalid_scope", Status: http.StatusBadRequest}
	ErrAccessDenied            = &Error{Code: "access_denied", Status: http.StatusBadRequest}
	ErrServer                  = &Error{Code: "server_error", Status: http.StatusInternalServerError}
)

var errBadCredentials = &Error{Code: "invalid_grant", Description: "Invalid credentials given.", Status: http.StatusBadRequest}

// replayed is invalid_grant for a code or refresh token presented again.
func replayed(cause error) *Error {
	return &Error{Code: ErrInvalidGrant.Code, Status: ErrInvalidGrant.Status, Cause: cause}
}
