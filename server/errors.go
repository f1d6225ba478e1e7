package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/simplejwt"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// This file is the one place where errors become responses: every
// handler hands its error to fail (through the shorthand of its wire
// shape). Services return *gatehouse.Error values, *oauth.Error for the
// OAuth protocol's own codes, or internal errors; each wire format
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
	shapeDRF       wireShape = iota // DRF views: {"detail"} or field errors
	shapeJWT                        // simplejwt views: {"detail", "code"} with a Bearer challenge
	shapeOAuth                      // DOT's token, revocation and introspection endpoints
	shapeAuthorize                  // the authorization endpoint: a page, or a redirect to the client
	shapeHTML                       // the login and account pages
	shapeDocument                   // JSON documents outside the DRF views (the JWKS)
	shapeBearer                     // a protected resource of RFC 6750 (userinfo): a Bearer challenge saying why
)

// failure says how the endpoint that failed reports an error.
type failure struct {
	shape wireShape
	// scheme, for shapeDRF, is the authentication scheme that refused a
	// credential; its wording differs (DRF token, simplejwt, session).
	scheme string
	// authorize, for shapeAuthorize, is the parsed request: nil before a
	// trusted redirect URI is known, so the error is shown, not redirected.
	authorize *oauth.AuthorizeRequest
}

// fail is the one function that turns an error into a response, for every
// wire shape. DRF and simplejwt views get an *apiError back, which the
// view machinery writes after content negotiation (w may be nil for
// shapeDRF); every other shape is written to w at once and nil returned.
//
// Internal errors (anything that is not a *gatehouse.Error or an
// *oauth.Error) are logged with the request id and answered with the
// shape's generic 500; a request its client abandoned is logged at debug
// level as 499. A replayed code or refresh token is logged as a warning:
// it revoked what had been issued from it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, f failure, err error) *apiError {
	var oe *oauth.Error
	isOAuth := errors.As(err, &oe)
	code := gatehouse.ErrorCode(err)
	if !isOAuth && unavailable(r, err) {
		why := "the request timed out"
		if !timedOut(r.Context()) {
			why = gatehouse.ErrorMessage(err)
		}
		s.log.WarnContext(r.Context(), "answered 503", "why", why, "err", err, "request_id", requestID(r))
		if w != nil {
			w.Header().Set("Retry-After", s.retryAfter())
		}
		switch f.shape {
		case shapeDRF, shapeJWT:
			return &apiError{status: http.StatusServiceUnavailable, body: detailOnly{Detail: "Service temporarily unavailable, try again later."}}
		case shapeOAuth, shapeBearer:
			writeOAuthError(w, oauth.ErrTemporarilyUnavailable)
		case shapeAuthorize, shapeHTML:
			s.errorPage(w, r, http.StatusServiceUnavailable, "Service Unavailable (503)", "Try again in a few seconds.")
		case shapeDocument:
			writeJSON(w, http.StatusServiceUnavailable, detailOnly{Detail: "Service temporarily unavailable, try again later."})
		}
		return nil
	}
	if !isOAuth && code == gatehouse.EINTERNAL {
		status := s.serverError(r, err)
		switch f.shape {
		case shapeDRF, shapeJWT:
			if status == statusClientClosed {
				return &apiError{status: status, body: detailOnly{Detail: "Client closed the request."}}
			}
			return &apiError{status: status, body: serverErrorBody}
		case shapeOAuth, shapeBearer:
			if status != statusClientClosed {
				writeOAuthError(w, oauth.ErrServer)
				return nil
			}
		case shapeAuthorize, shapeHTML:
			if status != statusClientClosed {
				s.errorPage(w, r, status, "Server Error (500)", "")
				return nil
			}
		case shapeDocument:
			if status != statusClientClosed {
				writeJSON(w, status, serverErrorBody)
				return nil
			}
		}
		w.WriteHeader(status) // nobody reads it; the log says 499
		return nil
	}
	if !isOAuth && code == gatehouse.ETHROTTLED {
		return s.tooMany(w, r, f, err)
	}
	if errors.Is(err, gatehouse.ErrTokenReused) {
		s.log.WarnContext(r.Context(), "authorization code or refresh token replayed: what was issued from it is revoked",
			"request_id", requestID(r))
	}
	switch f.shape {
	case shapeDRF:
		return drfError(f.scheme, err)
	case shapeJWT:
		w.Header().Set("WWW-Authenticate", bearerRealm)
		return simplejwtError(err)
	case shapeOAuth:
		switch {
		case isOAuth:
			writeOAuthError(w, oe)
		case code == gatehouse.EFORBIDDEN:
			emptyHTML(w, http.StatusForbidden) // DOT's introspection refusal
		case code == gatehouse.EUNAUTHORIZED:
			// The client (or what it acts for) was deleted since this
			// replica cached it: it authenticates no more.
			writeOAuthError(w, oauth.ErrInvalidClient)
		default:
			writeOAuthError(w, oauth.ErrInvalidRequest(gatehouse.ErrorMessage(err)))
		}
	case shapeAuthorize:
		if !isOAuth {
			oe = oauth.ErrInvalidRequest(gatehouse.ErrorMessage(err))
		}
		if f.authorize == nil {
			s.errorPage(w, r, http.StatusBadRequest, "Error: "+oe.Code, oe.Description)
		} else {
			redirectTo(w, f.authorize.ErrorURL(oe))
		}
	case shapeHTML:
		s.errorPage(w, r, http.StatusBadRequest, "Bad Request", gatehouse.ErrorMessage(err))
	case shapeDocument:
		writeJSON(w, http.StatusBadRequest, detailOnly{Detail: gatehouse.ErrorMessage(err)})
	case shapeBearer:
		bearerChallenge(w, err)
	}
	return nil
}

// bearerChallenge answers a refused request to a protected resource as
// RFC 6750 3.1 says: no credential is 401 with a bare challenge, a refused
// token 401 invalid_token, a token without the scope 403
// insufficient_scope; the body says the same in the OAuth shape.
func bearerChallenge(w http.ResponseWriter, err error) {
	e := &oauth.Error{Code: "invalid_token", Description: "The access token is invalid.", Status: http.StatusUnauthorized}
	challenge := `Bearer error="invalid_token"`
	switch {
	case err == errNoBearer:
		e = &oauth.Error{Code: "invalid_request", Description: "An access token is required.", Status: http.StatusUnauthorized}
		challenge = "Bearer"
	case gatehouse.ErrorCode(err) == gatehouse.EFORBIDDEN:
		e = &oauth.Error{Code: "insufficient_scope", Description: gatehouse.ErrorMessage(err), Status: http.StatusForbidden}
		challenge = `Bearer error="insufficient_scope", scope="openid"`
	case gatehouse.ErrorCode(err) == gatehouse.EINVALID:
		e = &oauth.Error{Code: "invalid_request", Description: gatehouse.ErrorMessage(err), Status: http.StatusBadRequest}
		challenge = `Bearer error="invalid_request"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeOAuthError(w, e)
}

// tooMany answers an ETHROTTLED error: 429 with Retry-After in whole
// seconds, and the wait in words as DRF's Throttled exception words it
// ("Request was throttled. Expected available in 3 seconds."), in each
// shape. An account's lock and a rate read alike: the answer does not say
// whether the name exists or what tripped.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, f failure, err error) *apiError {
	secs := throttle.Seconds(gatehouse.WaitOf(err))
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	detail := "Request was throttled. Expected available in " + strconv.FormatInt(secs, 10) + unit
	if w != nil {
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	switch f.shape {
	case shapeDRF, shapeJWT:
		return &apiError{status: http.StatusTooManyRequests, body: detailOnly{Detail: detail}}
	case shapeOAuth, shapeBearer:
		writeOAuthError(w, &oauth.Error{Code: oauth.ErrTemporarilyUnavailable.Code, Description: detail, Status: http.StatusTooManyRequests})
	case shapeAuthorize, shapeHTML:
		s.errorPage(w, r, http.StatusTooManyRequests, "Too Many Requests (429)", "Too many attempts. Try again in "+strconv.FormatInt(secs, 10)+unit)
	case shapeDocument:
		writeJSON(w, http.StatusTooManyRequests, detailOnly{Detail: detail})
	}
	return nil
}

// statusClientClosed is the status logged for a request whose client went
// away before it was answered (nginx's 499); nobody receives it.
const statusClientClosed = 499

// Messages of simplejwt's token errors.
const (
	msgTokenInvalid   = "Token is invalid or expired"
	msgTokenWrongType = "Token has wrong type"
	msgTokenNoID      = "Token has no id"
	msgTokenNoExp     = "Token has no 'exp' claim"
	msgTokenNoType    = "Token has no type"
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
	msgNullCharacters  = gatehouse.MsgNullCharacters
)

// msgMaxLength is DRF's message for a string longer than n characters.
func msgMaxLength(n int) string {
	return "Ensure this field has no more than " + strconv.Itoa(n) + " characters."
}

// fieldMax is the longest value of each user field, for msgMaxLength.
var fieldMax = map[string]int{
	"username": gatehouse.MaxUsername, "email": gatehouse.MaxEmail, "first_name": gatehouse.MaxName,
	"last_name": gatehouse.MaxName, "password": gatehouse.MaxPassword, "name": gatehouse.MaxGroupName,
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
		if n, ok := fieldMax[f.Field]; ok {
			return msgMaxLength(n)
		}
	case gatehouse.FieldUnique:
		if f.Field == "username" {
			return msgUsernameTaken
		}
	case gatehouse.FieldInvalid:
		switch f.Field {
		case "email":
			return msgInvalidEmail
		case "username":
			return msgInvalidUsername
		}
	}
	// FieldPassword: the validator's own words; the admin's other fields
	// (a group's name, ids, filters): the service words them as Django.
	return f.Message
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

// drfError is the DRF body of an application error; scheme words an
// authentication refusal.
func drfError(scheme string, err error) *apiError {
	var e *gatehouse.Error
	errors.As(err, &e)
	switch gatehouse.ErrorCode(err) {
	case gatehouse.EINVALID:
		if e == nil || len(e.Fields) == 0 {
			return nonField(gatehouse.ErrorMessage(err))
		}
		out := &fieldErrors{}
		for _, f := range e.Fields {
			out.add(f.Field, drfFieldMessage(f))
		}
		return badRequest(out)
	case gatehouse.ENOTFOUND:
		return &apiError{status: http.StatusNotFound, body: detailOnly{Detail: "Not found."}}
	case gatehouse.ECONFLICT:
		return &apiError{status: http.StatusConflict, body: detailOnly{Detail: gatehouse.ErrorMessage(err)}}
	case gatehouse.EUNAUTHORIZED:
		return authFailure(scheme, err)
	case gatehouse.EFORBIDDEN:
		if e != nil && e.Reason != "" {
			return authFailure(scheme, err)
		}
		return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "You do not have permission to perform this action."}}
	}
	return &apiError{status: http.StatusInternalServerError, body: serverErrorBody}
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
		case gatehouse.ReasonNoJTI:
			return jwtInvalid(msgTokenNoID)
		case gatehouse.ReasonNoExp:
			return jwtInvalid(msgTokenNoExp)
		case gatehouse.ReasonNoTokenType:
			return jwtInvalid(msgTokenNoType)
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
		switch reason {
		case gatehouse.ReasonCSRF:
			return &apiError{status: http.StatusForbidden, body: detailOnly{Detail: "CSRF Failed: CSRF token missing or incorrect."}}
		case gatehouse.ReasonCrossOrigin:
			// Django 4's words (CsrfViewMiddleware's Origin check).
			return &apiError{status: http.StatusForbidden, body: detailOnly{
				Detail: "CSRF Failed: Origin checking failed - " + e.Message + " does not match any trusted origins."}}
		}
	}
	return unauthorized("Invalid token.")
}

// simplejwtError is the body of simplejwt's refusal of a token: 401
// token_not_valid with the reason in words.
func simplejwtError(err error) *apiError {
	var e *gatehouse.Error
	detail := msgTokenInvalid
	if errors.As(err, &e) {
		switch e.Reason {
		case gatehouse.ReasonWrongTokenType:
			detail = msgTokenWrongType
		case gatehouse.ReasonNoJTI:
			detail = msgTokenNoID
		case gatehouse.ReasonNoExp:
			detail = msgTokenNoExp
		case gatehouse.ReasonNoTokenType:
			detail = msgTokenNoType
		case simplejwt.ReasonBlacklisted:
			detail = "Token is blacklisted"
		}
	}
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

// errRequestTimeout is the cause of a request context that reached the
// request timeout: the work took too long (a database frozen, a queue too
// long), which the client is told with 503 and Retry-After.
var errRequestTimeout = errors.New("request timeout")

// unavailable reports whether err, met while serving r, means "try again
// later": the request's own deadline passed (not the client's), or a
// service said so.
func unavailable(r *http.Request, err error) bool {
	return timedOut(r.Context()) || gatehouse.ErrorCode(err) == gatehouse.EUNAVAILABLE
}

// retryAfter is the Retry-After of a 503: the request timeout, at least a second.
func (s *Server) retryAfter() string {
	secs := int((s.cfg.RequestTimeout + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}

// shed answers a request refused because too many are in flight, in the
// shape its path has.
func (s *Server) shed(w http.ResponseWriter, r *http.Request) {
	shape := shapeDRF
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/o/authorize"), strings.HasPrefix(p, "/o/applications"), strings.HasPrefix(p, "/o/authorized_tokens"),
		strings.HasPrefix(p, "/o/device/"):
		shape = shapeHTML
	case strings.HasPrefix(p, "/o/"):
		shape = shapeOAuth
	}
	if e := s.fail(w, r, failure{shape: shape}, gatehouse.Errorf(gatehouse.EUNAVAILABLE, "too many requests in flight")); e != nil {
		writeJSON(w, e.status, e.body)
	}
}

// serverErrorBody is DRF's body of every 500.
var serverErrorBody = detailOnly{Detail: "A server error occurred."}

// The shorthands the handlers use, one per wire shape.

// internal is a DRF view's answer to err.
func (s *Server) internal(c *call, err error) *apiError {
	return s.fail(c.w, c.r, failure{shape: shapeDRF}, err)
}

// jwtFail is a simplejwt view's answer to err.
func (s *Server) jwtFail(c *call, err error) *apiError {
	return s.fail(c.w, c.r, failure{shape: shapeJWT}, err)
}

// oauthFail answers err on a DOT endpoint.
func (s *Server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, failure{shape: shapeOAuth}, err)
}

// authorizeFail answers err on the authorization endpoint; a is the
// request as far as it was parsed.
func (s *Server) authorizeFail(w http.ResponseWriter, r *http.Request, a *oauth.AuthorizeRequest, err error) {
	s.fail(w, r, failure{shape: shapeAuthorize, authorize: a}, err)
}

// htmlFail answers err on an HTML page.
func (s *Server) htmlFail(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, failure{shape: shapeHTML}, err)
}

// bearerFail answers err on a protected resource of RFC 6750 (userinfo).
func (s *Server) bearerFail(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, failure{shape: shapeBearer}, err)
}

// documentFail answers err on a JSON document outside the DRF views.
func (s *Server) documentFail(w http.ResponseWriter, r *http.Request, err error) {
	s.fail(w, r, failure{shape: shapeDocument}, err)
}
