package admin

import (
	"context"

	"github.com/gatehouse-auth/gatehouse"
)

// The signing keys of OpenID Connect's ID tokens and RFC 9068 access
// tokens (package keys): listed with their schedule, never their private
// material, and rotated, by superusers only.

// KeyManager is what the admin needs of the signing keys (keys.Manager).
type KeyManager interface {
	// List returns the stored keys by schedule, without their sealed
	// private keys.
	List(ctx context.Context) ([]gatehouse.SigningKey, error)
	// Rotate makes a new key and returns it (audited key.rotated).
	Rotate(ctx context.Context) (gatehouse.SigningKey, error)
}

// KeyInfo is one signing key as the admin shows it: what it is and when,
// never its private key.
type KeyInfo struct {
	Key   gatehouse.SigningKey // Sealed cleared
	State string               // gatehouse.KeyNext, KeyCurrent, KeyPrevious or KeyRetired
}

// noKeys is the answer when the server has no signing keys.
func noKeys() error { return gatehouse.Errorf(gatehouse.ENOTFOUND, "no signing keys") }

// Keys lists the signing keys by schedule with their state. Superusers
// only; ENOTFOUND when the server has no signing keys.
func (s *Service) Keys(ctx context.Context, a Actor) ([]KeyInfo, error) {
	if err := a.requireSuperuser(); err != nil {
		return nil, err
	}
	if s.d.Keys == nil {
		return nil, noKeys()
	}
	keys, err := s.d.Keys.List(ctx)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	out := make([]KeyInfo, len(keys))
	for i, k := range keys {
		k.Sealed = nil
		out[i] = KeyInfo{Key: k, State: gatehouse.SigningKeyState(keys, k, now)}
	}
	return out, nil
}

// RotateKey makes a new signing key, published now, that takes over
// signing once the publication delay has passed (keys.Manager.Rotate).
// Superusers only; ENOTFOUND when the server has no signing keys.
func (s *Service) RotateKey(ctx context.Context, a Actor) (KeyInfo, error) {
	if err := a.requireSuperuser(); err != nil {
		return KeyInfo{}, err
	}
	if s.d.Keys == nil {
		return KeyInfo{}, noKeys()
	}
	k, err := s.d.Keys.Rotate(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	k.Sealed = nil
	keys, err := s.d.Keys.List(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Key: k, State: gatehouse.SigningKeyState(keys, k, s.d.Now())}, nil
}
