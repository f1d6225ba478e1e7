package accounts

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// IssueToken creates a named DRF token for the user and returns its key,
// shown once (only its hash is stored). lifetime 0 means no expiry.
func (s *Service) IssueToken(ctx context.Context, username, name string, lifetime time.Duration) (string, error) {
	u, err := s.byUsername(ctx, username)
	if err != nil {
		return "", err
	}
	key, _, err := s.CreateToken(ctx, u.ID, name, lifetime, nil)
	return key, err
}

// MaxTokenLifetime is the longest lifetime a named token may be given:
// ten years (366-day ones), as the device-token API's expires_in allows.
const MaxTokenLifetime = 10 * 366 * 24 * time.Hour

// MaxTokenName is the longest name of a per-device token (its model
// field's max_length).
const MaxTokenName = 100

// CreateToken creates a named DRF token for a user id and returns its key
// and stored form. lifetime 0 means no expiry; a negative one, or one
// past MaxTokenLifetime, is an EINVALID error (it once read as no
// expiry).
//
// from, when not nil, is the credential the request making it carried:
// the token is stored only while that credential stands as stored now
// (gatehouse.TokenStore's CreateTokenFrom), else the answer is
// EUNAUTHORIZED and nothing is stored.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, lifetime time.Duration, from *gatehouse.TokenOrigin) (string, gatehouse.Token, error) {
	if lifetime < 0 || lifetime > MaxTokenLifetime {
		return "", gatehouse.Token{}, gatehouse.Errorf(gatehouse.EINVALID, "a token's lifetime must be 0 (no expiry) or up to ten years")
	}
	var exp *time.Time
	if lifetime > 0 {
		t := s.now().Add(lifetime)
		exp = &t
	}
	tok, key, err := s.newToken(name, false, exp)
	if err != nil {
		return "", tok, err
	}
	tok.UserID = userID
	if from == nil {
		err = s.store.CreateToken(ctx, &tok)
	} else if err = s.store.CreateTokenFrom(ctx, &tok, *from); errors.Is(err, gatehouse.ErrNotFound) {
		s.forget(userID) // this replica's cache was behind the store
		err = gatehouse.Unauthorized(gatehouse.ReasonCredentialInvalid)
	}
	if err != nil {
		return "", tok, err
	}
	s.auditToken(ctx, gatehouse.AuditTokenIssued, tok)
	return key, tok, nil
}

// auditToken records event for a DRF token: its id and name, never its
// key or the key's prefix.
func (s *Service) auditToken(ctx context.Context, event string, tok gatehouse.Token) {
	d := map[string]string{"kind": gatehouse.AuditKindDRF, "token_id": strconv.FormatInt(tok.ID, 10)}
	if tok.Name != "" {
		d["name"] = tok.Name
	}
	if tok.IsDefault {
		d["default"] = "true"
	}
	if tok.Expires != nil {
		d["expires"] = tok.Expires.UTC().Format(time.RFC3339)
	}
	s.audit.Record(ctx, gatehouse.AuditEvent{Event: event, UserID: tok.UserID, Detail: d})
}

// DefaultKey returns the key of the user's default DRF token, creating one
// when the user has none (after a logout-all or a password change), as
// DRF's Token.objects.get_or_create does.
func (s *Service) DefaultKey(ctx context.Context, userID int64) (string, error) {
	for attempt := 0; attempt < 2; attempt++ {
		t, err := s.store.DefaultToken(ctx, userID)
		if err == nil && t.Sealed != nil {
			key, err := s.box.Open(t.Sealed)
			if err != nil {
				return "", err
			}
			return string(key), nil
		}
		if err != nil && !errors.Is(err, gatehouse.ErrNotFound) {
			return "", err
		}
		tok, key, err := s.newToken("", true, nil)
		if err != nil {
			return "", err
		}
		tok.UserID = userID
		err = s.store.CreateToken(ctx, &tok)
		if err == nil {
			s.auditToken(ctx, gatehouse.AuditTokenIssued, tok)
			return key, nil
		}
		if !errors.Is(err, gatehouse.ErrConflict) {
			return "", err
		}
		// Another request created it first: read that one.
	}
	return "", errors.New("accounts: default token lost the race twice")
}

// Tokens lists the user's DRF tokens.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]gatehouse.Token, error) {
	return s.store.Tokens(ctx, userID)
}

// DeleteToken deletes one of the user's tokens; ENOTFOUND when the user has
// no token of that id.
func (s *Service) DeleteToken(ctx context.Context, userID, id int64) error {
	err := s.store.DeleteToken(ctx, userID, id)
	s.forget(userID)
	if err == nil {
		s.auditToken(ctx, gatehouse.AuditTokenRevoked, gatehouse.Token{ID: id, UserID: userID})
	}
	return err
}

// LogOutEverywhere ends every credential of the user, as a password
// change does but keeping the password: DRF and device tokens, OAuth
// tokens and unredeemed codes, simplejwt refresh records, and (through the
// auth epoch) every access JWT and browser session issued before now.
func (s *Service) LogOutEverywhere(ctx context.Context, userID int64) error {
	_, err := s.store.UpdateUser(ctx, userID, func(*gatehouse.User) (gatehouse.UserChange, error) {
		return gatehouse.UserChange{RevokeCredentials: true, At: s.now()}, nil
	})
	s.forget(userID)
	if err == nil {
		s.audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditLoggedOutEverywhere, UserID: userID})
	}
	return err
}

// TouchLogin records a successful login (Django's update_last_login).
func (s *Service) TouchLogin(ctx context.Context, userID int64) error {
	return s.store.TouchLogin(ctx, userID, s.now())
}

// newToken makes a DRF key and its stored form. The default token's key is
// also sealed so that logins can return it again.
func (s *Service) newToken(name string, isDefault bool, expires *time.Time) (gatehouse.Token, string, error) {
	key, err := secret.Hex(s.random, 20)
	if err != nil {
		return gatehouse.Token{}, "", err
	}
	t := gatehouse.Token{Hash: secret.Hash(key), Prefix: gatehouse.KeyPrefix(key), Name: name, IsDefault: isDefault, Created: s.now()}
	if expires != nil {
		e := *expires
		t.Expires = &e
	}
	if isDefault {
		if t.Sealed, err = s.box.Seal([]byte(key)); err != nil {
			return gatehouse.Token{}, "", err
		}
	}
	return t, key, nil
}
