package guard

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
)

// The refusals' words, as gatehouse's views (and DRF, simplejwt) write them.
const (
	msgNotProvided = "Authentication credentials were not provided."
	msgDenied      = "You do not have permission to perform this action."
	// Challenge is the WWW-Authenticate value of every 401; a refused bearer
	// token adds ChallengeInvalid's attributes.
	Challenge        = `Bearer realm="api"`
	ChallengeInvalid = Challenge + `,error="invalid_token",error_description="The access token is invalid."`
)

type detailOnly struct {
	Detail string `json:"detail"`
}

func detailBody(s string) any { return detailOnly{Detail: s} }

type detailCode struct {
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

type tokenMessage struct {
	TokenClass string `json:"token_class"`
	TokenType  string `json:"token_type"`
	Message    string `json:"message"`
}

type invalidToken struct {
	Detail   string         `json:"detail"`
	Code     string         `json:"code"`
	Messages []tokenMessage `json:"messages"`
}

// WriteDenied answers a request perm denied: 401 "Authentication
// credentials were not provided." with the Bearer challenge, or 403 "You
// do not have permission to perform this action.".
func WriteDenied(w http.ResponseWriter, status int) { writeDenied(w, status, Challenge) }

func writeDenied(w http.ResponseWriter, status int, challenge string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
		writeJSON(w, status, detailBody(msgNotProvided))
		return
	}
	writeJSON(w, http.StatusForbidden, detailBody(msgDenied))
}

// WriteRefusal answers a refused credential as gatehouse's views do: a DRF
// key or knox token with DRF's TokenAuthentication words, a bearer token
// with simplejwt's body and the invalid_token challenge.
func WriteRefusal(w http.ResponseWriter, e *Refusal) {
	status, body := RefusalBody(e)
	// gatehouse adds the invalid_token attributes when DOT read a bearer
	// token and refused it; it does not read a malformed header.
	if strings.EqualFold(e.Keyword, "token") || e.Reason == "bad_header" {
		w.Header().Set("WWW-Authenticate", Challenge)
	} else {
		w.Header().Set("WWW-Authenticate", ChallengeInvalid)
	}
	writeJSON(w, status, body)
}

// RefusalBody is the status and JSON body of a refused credential.
func RefusalBody(e *Refusal) (int, any) {
	const unauthorized = http.StatusUnauthorized
	if strings.EqualFold(e.Keyword, "token") {
		switch e.Reason {
		case gatehouse.ReasonUserInactive:
			return unauthorized, detailBody("User inactive or deleted.")
		case ReasonTokenHeaderEmpty:
			return unauthorized, detailBody("Invalid token header. No credentials provided.")
		case ReasonTokenHeaderSpaces:
			return unauthorized, detailBody("Invalid token header. Token string should not contain spaces.")
		case ReasonTokenHeaderChars:
			return unauthorized, detailBody("Invalid token header. Token string should not contain invalid characters.")
		}
		return unauthorized, detailBody("Invalid token.")
	}
	switch e.Reason {
	case gatehouse.ReasonWrongTokenType:
		return unauthorized, jwtInvalid("Token has wrong type")
	case gatehouse.ReasonNoJTI:
		return unauthorized, jwtInvalid("Token has no id")
	case gatehouse.ReasonNoExp:
		return unauthorized, jwtInvalid("Token has no 'exp' claim")
	case gatehouse.ReasonNoTokenType:
		return unauthorized, jwtInvalid("Token has no type")
	case gatehouse.ReasonNoUserID:
		return unauthorized, detailCode{Detail: "Token contained no recognizable user identification", Code: "token_not_valid"}
	case gatehouse.ReasonUserNotFound:
		return unauthorized, detailCode{Detail: "User not found", Code: "user_not_found"}
	case gatehouse.ReasonUserInactive:
		return unauthorized, detailCode{Detail: "User is inactive", Code: "user_inactive"}
	case gatehouse.ReasonBadHeader:
		return unauthorized, detailCode{Detail: "Authorization header must contain two space-delimited values", Code: "bad_authorization_header"}
	}
	return unauthorized, jwtInvalid("Token is invalid or expired")
}

func jwtInvalid(message string) any {
	return invalidToken{Detail: "Given token not valid for any token type", Code: "token_not_valid",
		Messages: []tokenMessage{{TokenClass: "AccessToken", TokenType: "access", Message: message}}}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
