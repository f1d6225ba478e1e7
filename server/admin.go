package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/store"
)

// ChangePassword validates and sets a user's password, and revokes every
// token the user holds (DRF and OAuth tokens are deleted; JWTs issued before
// now stop working).
func (s *Server) ChangePassword(ctx context.Context, username, pw string) error {
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return fmt.Errorf("user %q: %w", username, err)
	}
	if gatehouse.Length(pw) > gatehouse.MaxPassword {
		return errors.New(gatehouse.MsgMaxLength(gatehouse.MaxPassword))
	}
	if msgs := s.cfg.PasswordPolicy.Validate(pw, password.Attrs{Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}); len(msgs) > 0 {
		return errors.New(strings.Join(msgs, " "))
	}
	var hash string
	if werr := s.hashing.do(ctx, func() { hash, err = s.hasher.Hash(pw) }); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	_, err = s.store.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (store.UserChange, error) {
		u.Password = hash
		return store.UserChange{RevokeCredentials: true, At: s.now()}, nil
	})
	s.forgetUser(u.ID)
	return err
}

// SetActive activates or deactivates a user; deactivation revokes every
// token the user holds.
func (s *Server) SetActive(ctx context.Context, username string, active bool) error {
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return fmt.Errorf("user %q: %w", username, err)
	}
	_, err = s.store.UpdateUser(ctx, u.ID, func(u *gatehouse.User) (store.UserChange, error) {
		u.IsActive = active
		return store.UserChange{RevokeCredentials: !active, At: s.now()}, nil
	})
	s.forgetUser(u.ID)
	return err
}

// IssueToken creates a named DRF token for the user and returns its key,
// like DRF's drf_create_token. lifetime 0 means no expiry.
func (s *Server) IssueToken(ctx context.Context, username, name string, lifetime time.Duration) (string, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil {
		return "", fmt.Errorf("user %q: %w", username, err)
	}
	var exp *time.Time
	if lifetime > 0 {
		t := s.now().Add(lifetime)
		exp = &t
	}
	tok, key, err := s.newToken(name, false, exp)
	if err != nil {
		return "", err
	}
	tok.UserID = u.ID
	if err := s.store.CreateToken(ctx, &tok); err != nil {
		return "", err
	}
	return key, nil
}
