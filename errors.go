package gatehouse

import (
	"errors"
	"strings"
	"time"
)

// Error codes of Error, one per way a request can fail. The HTTP layer maps
// each to a status and to the wire shape of the endpoint in one place
// (server/errors.go); the CLI prints Message.
const (
	EINVALID      = "invalid"      // the input breaks a rule: Fields or Message say which
	ENOTFOUND     = "not_found"    // the thing named does not exist
	ECONFLICT     = "conflict"     // the input clashes with stored data (a taken username)
	EUNAUTHORIZED = "unauthorized" // no valid credentials: Reason says why
	EFORBIDDEN    = "forbidden"    // valid credentials, not allowed
	ETHROTTLED    = "throttled"    // too many attempts
	EUNAVAILABLE  = "unavailable"  // overloaded or a dependency too slow: try again shortly
	EINTERNAL     = "internal"     // a bug or an unavailable dependency: logged, never shown
)

// Error is gatehouse's one application error. Services return it for every
// failure a caller can act on; any other error is internal.
//
// Message is meant for people and is safe to show; Err, the cause, is only
// logged. Reason is a stable machine-readable word for the EUNAUTHORIZED and
// EFORBIDDEN cases whose wire bodies differ (the Reason* constants). Fields
// lists per-field problems of EINVALID in the order the fields are declared.
type Error struct {
	Code    string
	Message string
	Reason  string
	Fields  []FieldError
	Err     error
	// Wait, for ETHROTTLED, is how long until the caller may try again.
	Wait time.Duration
}

// FieldError is one problem with one input field. Code is the rule broken
// (the Field* constants); Message says it in words, without the field's
// name (ErrorMessage puts it in front). Wire formats word it their own way
// from Code.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Field error codes, named as Django's validators name theirs.
const (
	FieldRequired  = "required"
	FieldBlank     = "blank"
	FieldNull      = "null"
	FieldMaxLength = "max_length"
	FieldInvalid   = "invalid"
	FieldUnique    = "unique"
	FieldPassword  = "password" // a password validator refused it; Message holds its words
)

// Reasons of EUNAUTHORIZED and EFORBIDDEN errors.
const (
	ReasonCredentialInvalid = "credential_invalid" // unknown, expired, revoked or issued before the user's auth epoch
	ReasonUserInactive      = "user_inactive"
	ReasonUserNotFound      = "user_not_found" // a signed token naming a user that is gone
	ReasonNoUserID          = "no_user_id"     // a signed token without a usable user claim
	ReasonWrongTokenType    = "wrong_token_type"
	ReasonNoJTI             = "no_jti"        // a signed token without its id claim (simplejwt: "Token has no id")
	ReasonNoExp             = "no_exp"        // a signed token without exp (simplejwt: "Token has no 'exp' claim")
	ReasonNoTokenType       = "no_token_type" // a signed token without its type claim (simplejwt: "Token has no type")
	ReasonBadHeader         = "bad_header"    // the Authorization header is malformed
	ReasonCSRF              = "csrf"
	ReasonCrossOrigin       = "cross_origin" // a browser sent it from another origin's page; Message holds that Origin
	ReasonScope             = "scope"        // the token lacks a required scope
)

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		b.WriteString("; ")
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrConflict) hold
// for application errors of those codes, so callers test one way.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == ENOTFOUND
	case ErrConflict:
		return e.Code == ECONFLICT
	}
	return false
}

// Errorf returns an Error of code with a message.
func Errorf(code, message string) *Error { return &Error{Code: code, Message: message} }

// Invalid returns an EINVALID error listing fields.
func Invalid(fields ...FieldError) *Error { return &Error{Code: EINVALID, Fields: fields} }

// Unauthorized returns an EUNAUTHORIZED error for reason.
func Unauthorized(reason string) *Error { return &Error{Code: EUNAUTHORIZED, Reason: reason} }

// Throttled returns an ETHROTTLED error: try again after wait. reason is
// ReasonRate or ReasonLocked.
func Throttled(reason string, wait time.Duration) *Error {
	return &Error{Code: ETHROTTLED, Reason: reason, Wait: wait, Message: "too many attempts"}
}

// Reasons of ETHROTTLED errors.
const (
	ReasonRate   = "rate"   // a throttle's rate, or the back-off after failed logins from one source
	ReasonLocked = "locked" // the account takes no more failed logins for a while, from sources it does not know
)

// ErrorReason is the Reason of the *Error in err's chain, "" otherwise.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// WaitOf is the Wait of an ETHROTTLED error in err's chain, 0 otherwise.
func WaitOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) && e.Code == ETHROTTLED {
		return e.Wait
	}
	return 0
}

// ErrorCode returns the code of err: the Code of an *Error in its chain,
// ENOTFOUND or ECONFLICT for the storage sentinels, "" for nil, and
// EINTERNAL for anything else.
func ErrorCode(err error) string {
	if e, ok := err.(*Error); ok { // the common case, without errors.As's allocation
		return e.Code
	}
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrNotFound):
		return ENOTFOUND
	case errors.Is(err, ErrConflict):
		return ECONFLICT
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that may be shown to a user: the
// Message of an *Error (or its fields' messages), else a generic sentence.
// Internal causes never reach it.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		if len(e.Fields) > 0 {
			parts := make([]string, len(e.Fields))
			for i, f := range e.Fields {
				parts[i] = f.Field + ": " + f.Message
			}
			return strings.Join(parts, "; ")
		}
	}
	switch ErrorCode(err) {
	case ENOTFOUND:
		return "Not found."
	case ECONFLICT:
		return "Conflicts with existing data."
	case EUNAUTHORIZED:
		return "Not authenticated."
	case EFORBIDDEN:
		return "Not allowed."
	case EINVALID:
		return "Invalid input."
	case EUNAVAILABLE:
		return "Temporarily unavailable; try again shortly."
	}
	return "Internal error."
}
