package site

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// signingKeyRefresh is how often each replica rereads the signing keys
// (other replicas rotate and retire them).
const signingKeyRefresh = time.Minute

// signingKeyMargin is added to the longest token lifetime to give how
// long a key that stopped signing stays published.
const signingKeyMargin = time.Hour

// signingKeyDeps checks the GATEHOUSE_SIGNING_KEY_* settings and returns
// the keys manager's schedule. A key that stopped signing stays published
// for the longest lifetime of what it signs, the OAuth access token
// lifetime (id_tokens and JWT access tokens live no longer), plus an hour.
func (e *env) signingKeyDeps(ocfg oauth.Config) (keys.Deps, error) {
	c := e.cfg
	if !slices.Contains(keys.Algorithms(), c.SigningKeyAlgorithm) {
		return keys.Deps{}, fmt.Errorf("GATEHOUSE_SIGNING_KEY_ALGORITHM must be one of %s, not %q", strings.Join(keys.Algorithms(), ", "), c.SigningKeyAlgorithm)
	}
	if least := keys.MinPublishAhead(signingKeyRefresh); c.SigningKeyPublishAhead < least {
		return keys.Deps{}, fmt.Errorf("GATEHOUSE_SIGNING_KEY_PUBLISH_AHEAD must be at least %v (the key set's max-age %v plus the %v in which every replica rereads the keys), not %v",
			least, keys.JWKSMaxAge, signingKeyRefresh, c.SigningKeyPublishAhead)
	}
	if c.SigningKeyRotation != 0 && c.SigningKeyRotation <= c.SigningKeyPublishAhead {
		return keys.Deps{}, fmt.Errorf("GATEHOUSE_SIGNING_KEY_ROTATION (%v) must be 0 (no scheduled rotation) or longer than GATEHOUSE_SIGNING_KEY_PUBLISH_AHEAD (%v)",
			c.SigningKeyRotation, c.SigningKeyPublishAhead)
	}
	return keys.Deps{Algorithm: c.SigningKeyAlgorithm, RotateEvery: c.SigningKeyRotation, PublishAhead: c.SigningKeyPublishAhead,
		KeepAfter: ocfg.AccessTokenLifetime + signingKeyMargin, RefreshEvery: signingKeyRefresh, Log: e.log}, nil
}

// signingKeys builds a.Keys: it loads the keys, and makes the first one
// on a database that has none.
func (e *env) signingKeys(ctx context.Context, a *Services, d keys.Deps) error {
	d.Store, d.Box, d.Audit = a.Store, a.Box, e.auditor(a)
	m, err := keys.New(ctx, d)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	a.Keys = m
	return nil
}
