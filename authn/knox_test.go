package authn_test

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/authn"
	"github.com/gatehouse-auth/gatehouse/knox"
)

// knoxTok is a knox 5 token: 64 hex characters (AUTH_TOKEN_CHARACTER_LENGTH).
const knoxTok = "3f9c2a7be1d04c58a6e2f0b19d7c8e4a5b6f1029384756abcdef0123456789ab"

// knox5Digest is knox 5's hash_token, written out here rather than taken
// from package knox: hashlib.sha512(token.encode()).hexdigest().
func knox5Digest(token string) string {
	sum := sha512.Sum512([]byte(token))
	return hex.EncodeToString(sum[:])
}

// fakeKnox answers KnoxTokensByKey from rows and records renewals; it
// counts its calls in calls.
type fakeKnox struct {
	rows    []gatehouse.KnoxTokenUser
	err     error
	renewed []time.Time
	keys    []string
}

func (f *fakeKnox) KnoxTokensByKey(_ context.Context, key string) ([]gatehouse.KnoxTokenUser, error) {
	f.keys = append(f.keys, key)
	var out []gatehouse.KnoxTokenUser
	for _, r := range f.rows {
		if r.Token.TokenKey == key {
			out = append(out, r)
		}
	}
	return out, f.err
}

func (f *fakeKnox) RenewKnoxToken(_ context.Context, digest string, expiry time.Time) (bool, error) {
	for i := range f.rows {
		if f.rows[i].Token.Digest == digest {
			f.renewed = append(f.renewed, expiry)
			e := expiry
			f.rows[i].Token.Expiry = &e
			return true, nil
		}
	}
	return false, nil
}

func knoxRow(token string, u gatehouse.User, mod func(*gatehouse.KnoxToken)) gatehouse.KnoxTokenUser {
	k := gatehouse.KnoxToken{Digest: knox5Digest(token), TokenKey: token[:15], UserID: u.ID, Created: epoch.Add(time.Minute)}
	if mod != nil {
		mod(&k)
	}
	return gatehouse.KnoxTokenUser{Token: k, User: u}
}

func TestKnoxToken(t *testing.T) {
	created := epoch.Add(time.Minute)
	errDB := errors.New("database is down")
	other := "3f9c2a7be1d04c5" + strings.Repeat("0", 49) // same token_key, another token
	tests := []struct {
		name   string
		value  string
		rows   []gatehouse.KnoxTokenUser
		dbErr  error
		want   *gatehouse.Principal
		reason string
		err    error
	}{
		{name: "good", value: knoxTok, rows: []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), nil)},
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeKnox, Issued: created}},
		{name: "one of two rows under its token_key",
			value: knoxTok, rows: []gatehouse.KnoxTokenUser{knoxRow(other, alice(), nil), knoxRow(knoxTok, alice(), nil)},
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeKnox, Issued: created}},
		{name: "another token under the same token_key", value: other,
			rows:   []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), func(k *gatehouse.KnoxToken) { k.TokenKey = other[:15] })},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "unknown", value: knoxTok, reason: gatehouse.ReasonCredentialInvalid},
		{name: "expired a microsecond ago", value: knoxTok,
			rows:   []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), func(k *gatehouse.KnoxToken) { k.Expiry = ptr(t0.Add(-time.Microsecond)) })},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "good at its expiry (knox: expiry < now expires)", value: knoxTok,
			rows: []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), func(k *gatehouse.KnoxToken) { k.Expiry = ptr(t0) })},
			want: &gatehouse.Principal{User: alice(), Scheme: gatehouse.SchemeKnox, Issued: created, Expires: t0}},
		{name: "inactive user", value: knoxTok, rows: []gatehouse.KnoxTokenUser{knoxRow(knoxTok, inactive(alice()), nil)},
			reason: gatehouse.ReasonUserInactive},
		{name: "expired, of an inactive user", value: knoxTok,
			rows:   []gatehouse.KnoxTokenUser{knoxRow(knoxTok, inactive(alice()), func(k *gatehouse.KnoxToken) { k.Expiry = ptr(t0.Add(-time.Second)) })},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "created before the auth epoch", value: knoxTok,
			rows:   []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), func(k *gatehouse.KnoxToken) { k.Created = epoch.Add(-time.Microsecond) })},
			reason: gatehouse.ReasonCredentialInvalid},
		{name: "store error", value: knoxTok, dbErr: errDB, err: errDB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kx := &fakeKnox{rows: tc.rows, err: tc.dbErr}
			st := &fakeStore{} // no DRF lookup may happen
			a := authn.New(authn.Deps{Store: st, Knox: kx, Now: (&clock{t0}).now})
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: tc.value})
			check(t, p, err, tc.want, tc.reason, tc.err)
			if len(st.calls) != 0 {
				t.Fatalf("store calls %v for a knox token", st.calls)
			}
			if len(kx.keys) != 1 || kx.keys[0] != tc.value[:15] {
				t.Fatalf("looked up token_keys %q, want the token's first 15 characters", kx.keys)
			}
			a.Close()
		})
	}
}

// Knox 4 (3.0 to 4.2) tokens: token_key of 8 characters, the digest over
// the bytes the hex token encodes, and the row's salt up to 4.1.
func TestKnox4Token(t *testing.T) {
	raw, _ := hex.DecodeString(knoxTok)
	salt := "0011223344556677"
	rawSalt, _ := hex.DecodeString(salt)
	plain := sha512.Sum512(raw)
	salted := sha512.Sum512(append(append([]byte{}, raw...), rawSalt...))
	cfg := knox.DefaultConfig()
	cfg.Version, cfg.Hash = knox.Version4, "cryptography.hazmat.primitives.hashes.SHA512"
	for name, row := range map[string]gatehouse.KnoxToken{
		"knox 4.2":      {Digest: hex.EncodeToString(plain[:]), TokenKey: knoxTok[:8], Created: epoch},
		"knox 4.1 salt": {Digest: hex.EncodeToString(salted[:]), TokenKey: knoxTok[:8], Salt: salt, Created: epoch},
	} {
		t.Run(name, func(t *testing.T) {
			kx := &fakeKnox{rows: []gatehouse.KnoxTokenUser{{Token: row, User: alice()}}}
			a := authn.New(authn.Deps{Store: &fakeStore{}, Knox: kx, KnoxConfig: cfg, Now: (&clock{t0}).now})
			defer a.Close()
			p, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: knoxTok})
			if err != nil || p.Scheme != gatehouse.SchemeKnox || p.User.ID != alice().ID {
				t.Fatalf("%+v %v", p, err)
			}
			// The same row does not verify as a knox 5 token.
			b := authn.New(authn.Deps{Store: &fakeStore{}, Knox: &fakeKnox{rows: kx.rows}, Now: (&clock{t0}).now})
			defer b.Close()
			if _, err := b.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: knoxTok}); err == nil {
				t.Fatal("a knox 4 row verified under knox 5")
			}
		})
	}
}

// The DRF path is untouched: a DRF key (40 characters) never costs a knox
// query, known or not; a value of knox's shape costs no DRF query; a value
// of neither shape is a DRF lookup as before; with knox tokens of 40
// characters, an unknown DRF key is tried as a knox token after.
func TestKnoxDispatchByShape(t *testing.T) {
	const drfKey = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
	notFound := func([]byte) (gatehouse.Token, gatehouse.User, error) {
		return gatehouse.Token{}, gatehouse.User{}, gatehouse.ErrNotFound
	}
	short := knox.DefaultConfig()
	short.Length = 40
	for _, tc := range []struct {
		name             string
		value            string
		cfg              knox.Config
		noKnox           bool
		drfCalls, kCalls int
	}{
		{name: "unknown DRF key", value: drfKey, drfCalls: 1},
		{name: "knox token", value: knoxTok, kCalls: 1},
		{name: "64 characters, not hex", value: strings.Repeat("z", 64), drfCalls: 1},
		{name: "41 hex characters", value: knoxTok[:41], drfCalls: 1},
		{name: "knox token, knox not wired", value: knoxTok, noKnox: true, drfCalls: 1},
		{name: "40-character knox tokens", value: drfKey, cfg: short, drfCalls: 1, kCalls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{tokenByHash: notFound}
			kx := &fakeKnox{}
			d := authn.Deps{Store: st, Knox: kx, KnoxConfig: tc.cfg, Now: (&clock{t0}).now}
			if tc.noKnox {
				d.Knox = nil
			}
			a := authn.New(d)
			defer a.Close()
			_, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: tc.value})
			wantRefused(t, err, gatehouse.ReasonCredentialInvalid)
			if st.calls["TokenByHash"] != tc.drfCalls || len(kx.keys) != tc.kCalls {
				t.Fatalf("DRF lookups %d, knox lookups %d; want %d, %d", st.calls["TokenByHash"], len(kx.keys), tc.drfCalls, tc.kCalls)
			}
		})
	}
}

// A knox token's lookup is cached like a DRF key's: a second use within
// the TTL reads nothing; ForgetUser (a change made through this replica)
// drops it at once.
func TestKnoxCache(t *testing.T) {
	clk := &clock{t0}
	kx := &fakeKnox{rows: []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), nil)}}
	a := authn.New(authn.Deps{Store: &fakeStore{}, Knox: kx, Now: clk.now, CacheTTL: time.Minute})
	defer a.Close()
	use := func() error {
		_, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: knoxTok})
		return err
	}
	for range 3 {
		if err := use(); err != nil {
			t.Fatal(err)
		}
	}
	if len(kx.keys) != 1 {
		t.Fatalf("%d lookups within the TTL, want 1", len(kx.keys))
	}
	kx.rows = nil // revoked, by another replica
	if err := use(); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	clk.t = clk.t.Add(time.Minute)
	wantRefused(t, use(), gatehouse.ReasonCredentialInvalid)
	kx.rows = []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), nil)}
	if err := use(); err != nil {
		t.Fatal(err)
	}
	kx.rows = nil // revoked through this replica
	a.ForgetUser(alice().ID)
	wantRefused(t, use(), gatehouse.ReasonCredentialInvalid)
	// A wrong token is never cached as good.
	wantRefused(t, use(), gatehouse.ReasonCredentialInvalid)
}

// With AUTO_REFRESH each use moves the expiry to TTL from now, but it is
// written only when it moves by more than MIN_REFRESH_INTERVAL, and never
// past AUTO_REFRESH_MAX_TTL from creation; a token without expiry is never
// renewed.
func TestKnoxAutoRefresh(t *testing.T) {
	clk := &clock{t0}
	cfg := knox.DefaultConfig()
	cfg.AutoRefresh, cfg.TTL, cfg.MinRefreshInterval, cfg.MaxTTL = true, 10*time.Hour, time.Minute, 12*time.Hour
	created := t0.Add(-time.Hour) // after alice's epoch
	kx := &fakeKnox{rows: []gatehouse.KnoxTokenUser{
		knoxRow(knoxTok, alice(), func(k *gatehouse.KnoxToken) { k.Created, k.Expiry = created, ptr(t0.Add(10*time.Hour-30*time.Second)) }),
	}}
	a := authn.New(authn.Deps{Store: &fakeStore{}, Knox: kx, KnoxConfig: cfg, Now: clk.now, CacheTTL: time.Minute})
	defer a.Close()
	use := func() {
		t.Helper()
		if _, err := a.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: knoxTok}); err != nil {
			t.Fatal(err)
		}
	}
	use() // moves by 30 s: not written
	if len(kx.renewed) != 0 {
		t.Fatalf("renewed %v", kx.renewed)
	}
	for range 5 {
		clk.t = clk.t.Add(10 * time.Second)
		use()
	}
	// Written once, 40 s after the first use (it moved by 70 s), to 10 h from then.
	if len(kx.renewed) != 1 || !kx.renewed[0].Equal(t0.Add(40*time.Second+10*time.Hour)) {
		t.Fatalf("renewed %v", kx.renewed)
	}
	use()
	if len(kx.renewed) != 1 {
		t.Fatalf("written again at once: %v", kx.renewed)
	}
	// Much later: bounded by MaxTTL from creation.
	clk.t = t0.Add(5 * time.Hour)
	use()
	if len(kx.renewed) != 2 || !kx.renewed[1].Equal(created.Add(12*time.Hour)) {
		t.Fatalf("renewed %v", kx.renewed)
	}

	forever := &fakeKnox{rows: []gatehouse.KnoxTokenUser{knoxRow(knoxTok, alice(), nil)}}
	b := authn.New(authn.Deps{Store: &fakeStore{}, Knox: forever, KnoxConfig: cfg, Now: clk.now})
	defer b.Close()
	if _, err := b.Authenticate(context.Background(), authn.Credential{Scheme: gatehouse.SchemeToken, Value: knoxTok}); err != nil || len(forever.renewed) != 0 {
		t.Fatalf("a token without expiry: %v, renewed %v", err, forever.renewed)
	}
}
