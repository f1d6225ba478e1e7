package oauth

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse"
)

// Client secrets Django OAuth Toolkit stored hashed. DOT 2 and later keep
// a confidential client's secret as a Django password hash (make_password,
// hash_client_secret on by default), so a project's applications arrive
// with hashes that only its password hashers verify, at the cost of a
// password login (PBKDF2 with hundreds of thousands of iterations, by
// default) on every token request. gatehouse verifies such a hash as DOT
// would, then at once replaces it with SecretHasher's (microseconds), as
// Django upgrades a password hash at login: the client keeps its secret and
// only its first request pays. Until then the verifications run one at a
// time, so that requests with wrong secrets for such a client (whose
// failures the guard also counts) cannot occupy every processor.

// djangoSecrets verifies secrets against Django password hashes.
type djangoSecrets struct {
	verify func(secret, encoded string) bool // nil: none verifies
	slot   chan struct{}                     // one verification at a time
}

func newDjangoSecrets(verify func(secret, encoded string) bool) *djangoSecrets {
	return &djangoSecrets{verify: verify, slot: make(chan struct{}, 1)}
}

// check verifies secret against encoded, waiting for the slot as long as
// ctx allows; ctx's error when it ends first.
func (d *djangoSecrets) check(ctx context.Context, secret, encoded string) (bool, error) {
	if d.verify == nil {
		return false, nil
	}
	select {
	case d.slot <- struct{}{}:
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
	defer func() { <-d.slot }()
	return d.verify(secret, encoded), nil
}

// verifySecret reports whether secret is app's. A Django password hash
// that verifies is replaced in the store by SecretHasher's hash of secret
// (a failure to do so is logged: the next request verifies the Django hash
// again), and the cached application dropped.
func (p *Provider) verifySecret(ctx context.Context, app *gatehouse.Application, secret string) (bool, error) {
	encoded, ok := gatehouse.DjangoSecretEncoded(app.SecretHash)
	if !ok {
		return p.secrets.Verify(secret, app.SecretHash), nil
	}
	if secret == "" {
		return false, nil
	}
	ok, err := p.django.check(ctx, secret, encoded)
	if err != nil || !ok {
		return false, err
	}
	err = p.store.ReplaceSecretHash(ctx, app.ClientID, app.SecretHash, p.secrets.Hash(secret))
	switch {
	case err == nil:
		p.log.Info("client secret rehashed: its Django password hash is replaced by gatehouse's", "client_id", app.ClientID)
	case errors.Is(err, gatehouse.ErrNotFound):
		// Replaced meanwhile: by another request's rehash, or a new secret.
	default:
		p.log.Warn("client secret verified but not rehashed; its Django hash stays", "client_id", app.ClientID, "err", err)
	}
	p.apps.drop(app.ClientID)
	return true, nil
}
