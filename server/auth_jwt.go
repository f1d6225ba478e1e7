package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
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

const (
	msgTokenInvalid   = "Token is invalid or expired"
	msgTokenWrongType = "Token has wrong type"
)

func jwtInvalid(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, body: invalidTokenBody{
		Detail: "Given token not valid for any token type", Code: "token_not_valid",
		Messages: []tokenMessage{{TokenClass: "AccessToken", TokenType: "access", Message: message}}}}
}

// authenticateJWT checks a simplejwt access token and loads its user.
func (s *Server) authenticateJWT(ctx context.Context, raw string) (*principal, *apiError, error) {
	c, err := s.jwt.Parse(raw)
	if err != nil {
		return nil, jwtInvalid(msgTokenInvalid), nil
	}
	if c.TokenType != "access" {
		return nil, jwtInvalid(msgTokenWrongType), nil
	}
	if !c.HasUserID {
		return nil, &apiError{status: http.StatusUnauthorized, body: detailCode{
			Detail: "Token contained no recognizable user identification", Code: "token_not_valid"}}, nil
	}
	u, err := s.userByID(ctx, c.UserID)
	if errors.Is(err, gatehouse.ErrNotFound) {
		return nil, &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: "User not found", Code: "user_not_found"}}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !u.IsActive {
		return nil, &apiError{status: http.StatusUnauthorized, body: detailCode{Detail: "User is inactive", Code: "user_inactive"}}, nil
	}
	if c.Iat < u.AuthEpoch {
		// Issued before a password change or deactivation.
		return nil, jwtInvalid(msgTokenInvalid), nil
	}
	return &principal{user: u, kind: "jwt"}, nil, nil
}
