package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
)

// This file is the one place where errors become responses. Services
// return *gatehouse.Error values (or internal errors); each wire format
// gatehouse speaks has its shape here:
//
//   - DRF views:        {"detail": ...} or field errors {"field": [...]}
//   - simplejwt views:  {"detail", "code"[, "messages"]}
//   - OAuth endpoints:  {"error", "error_description"} (*oauth.Error), or a
//     redirect to the client carrying them (the authorization endpoint)
//   - HTML pages:       a small page with a title
//
// Internal errors are logged with the request id and shown only as a
// generic message; a request its client abandoned is logged at debug level
// as 499 and answered with nothing useful (nobody reads it).

// wireShape names the response format of an endpoint.
type wireShape int

const (
	shapeDRF wireShape = iota
	shapeOAuth
	shapeHTML
)

// statusClientClosed is the status logged for a request whose client went
// away before it was answered (nginx's 499); nobody receives it.
const statusClientClosed = 499

// Messages of simplejwt's token errors.
const (
	msgTokenInvalid   = "Token is invalid or expired"
	msgTokenWrongType = "Token has wrong type"
)

// tokenMessage is one entry of simplejwt's "messages" list.
type tokenMessage struct {
	TokenClass string `json:"token_class"`
	TokenType  string `json:"token_type"`
	Message    string `json:"message"`
}

type invalidTokenBody struct {
	Detail   string         `json:"detail"`
	Code     string         `json:"code"`
	Messages []tokenMessage `json:"messages"`
}

func jwtInvalid(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, body: invalidTokenBody{
		Detail: "Given token not valid for any token type", Code: "token_not_valid",
		Messages: []tokenMessage{{TokenClass: "AccessToken", TokenType: "access", Message: message}}}}
}

func unauthorized(detail string) *apiError {
	return &apiError{status: http.StatusUnauthorized, body: detailOnly{Detail: detail}}
}

// Messages of Django's validators, as DRF clients see them.
const (
	msgRequired        = "This field is required."
	msgBlank           = "This field may not be blank."
	msgNull            = "This field may not be null."
	msgUsernameTaken   = "A user with that username already exists."
	msgInvalidUsername = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
	msgInvalidEmail    = "Enter a valid email address."
)

// msgMaxLength is DRF's message for a string longer than n characters.
func msgMaxLength(n int) string {
	return "Ensure this field has no more than " + strconv.Itoa(n) + " characters."
}

// fieldMax is the longest value of each user field, for msgMaxLength.
var fieldMax = map[string]int{
	"username": gatehouse.MaxUsername, "email": gatehouse.MaxEmail, "first_name": gatehouse.MaxName,
	"last_name": gatehouse.MaxName, "password": gatehouse.MaxPassword,
}

// drfFieldMessage words a domain field error as Django does.
func drfFieldMessage(f gatehouse.FieldError) string {
	switch f.Code {
	case gatehouse.FieldRequired:
		return msgRequired
	case gatehouse.FieldBlank:
		return msgBlank
	case gatehouse.FieldNull:
		return msgNull
	case gatehouse.FieldMaxLength:
		return msgMaxLength(fieldMax[f.Field])
	case gatehouse.FieldUnique:
		return msgUsernameTaken
	case gatehouse.FieldInvalid:
		if f.Field == "email" {
			return msgInvalidEmail
		}
		return msgInvalidUsername
	}
	return f.Message // FieldPassword: the validator's own words
}

// mergeFieldErrors lists, field by field in order, the wire errors found
// while decoding (parse) and then the domain's (more).
func mergeFieldErrors(order []string, parse *fieldErrors, more []gatehouse.FieldError) *fieldErrors {
	out := &fieldErrors{}
	for _, name := range order {
		for _, m := range parse.msgs[name] {
			out.add(name, m)
		}
		for _, f := range more {
			if f.Field == name {
				out.add(name, drfFieldMessage(f))
			}
		}
	}
	return out
}

// apiFail is the DRF response to any error a service returned.
func (s *Server) apiFail(c *call, err error) *apiError {
	var e *gatehouse.Error
	errors.As(err, &e)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALID:
		if len(e.Fields) == 0 {
			return nonField(e.Message)
		}
		out := &fieldErrors{}
		for _, f := range e.Fields {
			out.add(f.Field, drfFieldMessage(f))
		}
		return badRequest(out)
	case gatehouse.ENOTFOUND:
		return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Not found."}}
	case gatehouse.EUNAUTHORIZED:
		return authFailure(gatehouse.SchemeToken, err)
	case gatehouse.EFORBIDDEN:
		return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}}
	case gatehouse.ETHROTTLED:
		return &apiError{status: http.StatusTooManyRequests, body: detailOnly{Detail: "Request was throttled."}}
	}
	return s.internal(c, err)
}

// authFailure is the DRF response to a credential of scheme that
// authentication refused (err is an EUNAUTHORIZED or EFORBIDDEN
// *gatehouse.Error): DRF's TokenAuthentication, simplejwt's
// JWTAuthentication and SessionAuthentication each word it their way.
func authFailure(scheme string, err error) *apiError {
	var e *gatehouse.Error
	errors.As(err, &e)
	reason := ""
	if e != nil {
		reason = e.Reason
	}
	switch scheme {
	case gatehouse.SchemeJWT:
		switch reason {
		case gatehouse.ReasonWrongTokenType:
			return jwtInvalid(msgTokenWrongType)
		case gatehouse.ReasonNoUserID:
			return &apiError{status: http.StatusUnauthorized, body: detailCode{
				Detail: "Token contained no recognizable user identification", Code: "token_not_valid"}}
		case gatehouse.ReasonUserNotFound:
			return &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: "User not found", Code: "user_not_found"}}
		case gatehouse.ReasonUserInactive:
			return &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: "User is inactive", Code: "user_inactive"}}
		case gatehouse.ReasonBadHeader:
			return &apiError{status: http.StatusUnauthorized, body: detailCode{
				Detail: "Authorization header must contain two space-delimited values", Code: "bad_authorization_header"}}
		}
		return jwtInvalid(msgTokenInvalid)
	case gatehouse.SchemeToken:
		if reason == gatehouse.ReasonUserInactive {
			return unauthorized("User inactive or deleted.")
		}
		return unauthorized("Invalid token.")
	case gatehouse.SchemeSession:
		if reason == gatehouse.ReasonCSRF {
			return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "CSRF Failed: CSRF token missing or incorrect."}}
		}
	}
	return unauthorized("Invalid token.")
}

// jwtFail is a simplejwt view's answer to an error of package simplejwt:
// its 401 with a Bearer challenge for a refused token (logging a replayed
// refresh token, which revoked its family), else an internal error.
func (s *Server) jwtFail(c *call, err error) *apiError {
	var e *gatehouse.Error
	if !errors.As(err, &e) || e.Code != gatehouse.EUNAUTHORIZED {
		return s.internal(c, err)
	}
	if errors.Is(err, gatehouse.ErrTokenReused) {
		s.log.WarnContext(c.r.Context(), "refresh token reused: its family is revoked", "request_id", requestID(c.r))
	}
	detail := msgTokenInvalid
	switch e.Reason {
	case gatehouse.ReasonWrongTokenType:
		detail = msgTokenWrongType
	case simplejwt.ReasonBlacklisted:
		detail = "Token is blacklisted"
	}
	c.w.Header().Set("WWW-Authenticate", bearerRealm)
	return &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: detail, Code: "token_not_valid"}}
}

// serverError logs an internal error of r and returns the status to
// answer: 500, or 499 when the client went away (then the error is its
// doing, logged at debug level).
func (s *Server) serverError(r *http.Request, err error) int {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		s.log.DebugContext(r.Context(), "request abandoned by the client", "err", err, "request_id", requestID(r))
		return statusClientClosed
	}
	s.log.ErrorContext(r.Context(), "internal error", "err", err, "request_id", requestID(r))
	return http.StatusInternalServerError
}

// drfFail writes the DRF response to an internal error of a handler that
// is not a DRF view (the JWKS document).
func (s *Server) drfFail(w http.ResponseWriter, r *http.Request, err error) {
	if status := s.serverError(r, err); status == statusClientClosed {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, http.StatusInternalServerError, serverErrorBody)
}

// serverErrorBody is DRF's body of every 500.
var serverErrorBody = detailOnly{Detail: "A server error occurred."}

// internal is the DRF response to an internal error.
func (s *Server) internal(c *call, err error) *apiError {
	if s.serverError(c.r, err) == statusClientClosed {
		return &apiError{status: statusClientClosed, body: detailOnly{Detail: "Client closed the request."}}
	}
	return &apiError{status: http.StatusInternalServerError, body: serverErrorBody}
}

// oauthFail answers an error of the token, revocation or introspection
// endpoint: an *oauth.Error as DOT writes it, a forbidden introspection as
// DOT's empty 403, anything else as server_error. A replayed code or
// refresh token is logged: it revoked what had been issued from it.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauth.Error
	switch {
	case errors.As(err, &oe):
		if errors.Is(err, gatehouse.ErrTokenReused) {
			s.log.WarnContext(r.Context(), "authorization code or refresh token replayed: what was issued from it is revoked",
				"request_id", requestID(r))
		}
		writeOAuthError(w, oe)
	case gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN:
		emptyHTML(w, http.StatusForbidden)
	default:
		if s.serverError(r, err) == statusClientClosed {
			w.WriteHeader(statusClientClosed)
			return
		}
		writeOAuthError(w, oauth.ErrServer)
	}
}

// authorizeFail answers an error of the authorization endpoint: before a
// trusted redirect URI is known (a is nil) as an HTML page, after it as a
// redirect to the client with error and state.
func (s *Server) authorizeFail(w http.ResponseWriter, r *http.Request, a *oauth.AuthorizeRequest, err error) {
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		s.htmlFail(w, r, err)
		return
	}
	if a == nil {
		htmlError(w, http.StatusBadRequest, "Error: "+oe.Code, oe.Description)
		return
	}
	redirectTo(w, a.ErrorURL(oe))
}

// htmlFail answers an HTML page's internal error.
func (s *Server) htmlFail(w http.ResponseWriter, r *http.Request, err error) {
	if s.serverError(r, err) == statusClientClosed {
		w.WriteHeader(statusClientClosed)
		return
	}
	htmlError(w, http.StatusInternalServerError, "Server Error (500)", "")
}
