package oauth_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/secret"
)

// These tests run the provider and Clients on hand-written doubles of their
// stores and of the password checker; server/ covers the same endpoints
// over HTTP on a real store.

// t0 is the injected clock's time.
var t0 = time.Date(2026, 5, 4, 12, 30, 15, 250_000_000, time.UTC)

var errUnexpected = errors.New("unexpected store call")

// created is one CreateTokens call.
type created struct {
	at            *gatehouse.AccessToken
	rt            *gatehouse.RefreshToken
	familyExpires *time.Time
}

// fakeStore holds applications by client_id and users by username in
// maps, records the tokens and applications created, and answers the
// rotation and redemption methods with function fields; any other method
// fails with errUnexpected.
type fakeStore struct {
	apps   map[string]gatehouse.Application
	users  map[string]gatehouse.User
	tokens []created
	// tokenErrs fail the next writes of a pair (CreateTokens, a poll's
	// tokens) one by one, as a clash of keys does: nothing is written,
	// and the pair is kept in refused.
	tokenErrs []error
	refused   []created
	newApps   []gatehouse.Application
	lookups   int // Application calls

	appErr             error // returned by Application when set
	userErr            error // returned by User when set
	accessTokenByHash  func(hash []byte) (gatehouse.AccessTokenInfo, error)
	refreshTokenByHash func(hash []byte) (gatehouse.RefreshToken, error)
	createApplication  func(a *gatehouse.Application) error
	ahead              *gatehouse.RefreshAhead // the last RotateRefreshToken's
	rotateRefreshToken func(hash []byte, appID int64, now time.Time, grace time.Duration,
		issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error)
	grantByHash func(hash []byte) (gatehouse.Grant, error)
	redeemGrant func(hash []byte, appID int64, now time.Time, check func(gatehouse.Grant, *gatehouse.User) error,
		issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error)) (gatehouse.RevokedAccess, error)

	devices []*gatehouse.DeviceGrant // the device grants, kept as the store keeps them
	// deviceReads are the hashes DeviceGrantByDeviceCode was asked for; deviceRead, when
	// set, changes the copy each returns (as a change made after the read
	// and undone before the poll's lock would).
	deviceReads [][]byte
	deviceRead  func(*gatehouse.DeviceGrant)
	// signer, when set, is told when a poll's callback runs (inside the
	// store's transaction).
	signer *recordingSigner
	// deviceErrs are returned by the next CreateDeviceGrant calls, in order.
	deviceErrs []error
}

func newStore(apps ...gatehouse.Application) *fakeStore {
	f := &fakeStore{apps: map[string]gatehouse.Application{}, users: map[string]gatehouse.User{}}
	for _, a := range apps {
		f.apps[a.ClientID] = a
	}
	return f
}

func (f *fakeStore) CreateApplication(_ context.Context, a *gatehouse.Application) error {
	if f.createApplication != nil {
		if err := f.createApplication(a); err != nil {
			return err
		}
	}
	a.ID = int64(100 + len(f.newApps))
	f.newApps = append(f.newApps, *a)
	return nil
}

func (f *fakeStore) Application(_ context.Context, clientID string) (gatehouse.Application, error) {
	f.lookups++
	if f.appErr != nil {
		return gatehouse.Application{}, f.appErr
	}
	a, ok := f.apps[clientID]
	if !ok {
		return gatehouse.Application{}, gatehouse.ErrNotFound
	}
	return a, nil
}

func (f *fakeStore) UserByUsername(_ context.Context, username string) (gatehouse.User, error) {
	u, ok := f.users[username]
	if !ok {
		return gatehouse.User{}, gatehouse.ErrNotFound
	}
	return u, nil
}

// User finds a user of f.users by id, or the active user of that id
// with no Django key when f.users holds none: the store double's
// rotations and redemptions give their callbacks users that tests make
// up, and a presigned token is used only for the user the callback gets.
func (f *fakeStore) User(_ context.Context, id int64) (gatehouse.User, error) {
	if f.userErr != nil {
		return gatehouse.User{}, f.userErr
	}
	for _, u := range f.users {
		if u.ID == id {
			return u, nil
		}
	}
	return gatehouse.User{ID: id, IsActive: true}, nil
}

func (f *fakeStore) CreateTokens(_ context.Context, at *gatehouse.AccessToken, rt *gatehouse.RefreshToken, familyExpires *time.Time) error {
	if err := f.tokenErr(created{at, rt, familyExpires}); err != nil {
		return err
	}
	f.tokens = append(f.tokens, created{at, rt, familyExpires})
	return nil
}

// tokenErr is the next of tokenErrs, c kept in refused; nil when none is left.
func (f *fakeStore) tokenErr(c created) error {
	if len(f.tokenErrs) == 0 {
		return nil
	}
	err := f.tokenErrs[0]
	f.tokenErrs = f.tokenErrs[1:]
	f.refused = append(f.refused, c)
	return err
}

func (f *fakeStore) RotateRefreshToken(_ context.Context, hash []byte, appID int64, now time.Time, grace time.Duration, ahead *gatehouse.RefreshAhead,
	issue func(gatehouse.RefreshRotation) (*gatehouse.AccessToken, *gatehouse.RefreshToken, error)) (gatehouse.RevokedAccess, error) {
	f.ahead = ahead
	if f.rotateRefreshToken == nil {
		return nil, errUnexpected
	}
	return f.rotateRefreshToken(hash, appID, now, grace, issue)
}

func (f *fakeStore) ApplicationByID(_ context.Context, id int64) (gatehouse.Application, error) {
	for _, a := range f.apps {
		if a.ID == id {
			return a, nil
		}
	}
	return gatehouse.Application{}, gatehouse.ErrNotFound
}
func (f *fakeStore) Applications(context.Context) ([]gatehouse.Application, error) {
	return nil, errUnexpected
}
func (f *fakeStore) DeleteApplication(context.Context, string) error { return errUnexpected }
func (f *fakeStore) UpdateApplication(context.Context, *gatehouse.Application) error {
	return errors.New("fakeStore: UpdateApplication not implemented")
}

func (f *fakeStore) SetAllowedOrigins(context.Context, string, []string, time.Time) error {
	return errUnexpected
}
func (f *fakeStore) ReplaceSecretHash(context.Context, string, []byte, []byte) error {
	return errUnexpected
}
func (f *fakeStore) AccessTokenByHash(_ context.Context, hash []byte) (gatehouse.AccessTokenInfo, error) {
	if f.accessTokenByHash == nil {
		return gatehouse.AccessTokenInfo{}, errUnexpected
	}
	return f.accessTokenByHash(hash)
}
func (f *fakeStore) RefreshTokenByHash(_ context.Context, hash []byte) (gatehouse.RefreshToken, error) {
	if f.refreshTokenByHash == nil {
		return gatehouse.RefreshToken{}, errUnexpected
	}
	return f.refreshTokenByHash(hash)
}
func (f *fakeStore) RevokeAccessToken(context.Context, []byte, int64) (bool, error) {
	return false, errUnexpected
}
func (f *fakeStore) RevokeRefreshToken(context.Context, []byte, int64, time.Time) (gatehouse.RevokedAccess, bool, error) {
	return nil, false, errUnexpected
}
func (f *fakeStore) CreateGrant(context.Context, *gatehouse.Grant) error { return errUnexpected }
func (f *fakeStore) GrantByHash(_ context.Context, hash []byte) (gatehouse.Grant, error) {
	if f.grantByHash == nil {
		return gatehouse.Grant{}, errUnexpected
	}
	return f.grantByHash(hash)
}
func (f *fakeStore) RedeemGrant(_ context.Context, hash []byte, appID int64, now time.Time, check func(gatehouse.Grant, *gatehouse.User) error,
	issue func(gatehouse.Grant) (*gatehouse.AccessToken, *gatehouse.RefreshToken, *time.Time, error)) (gatehouse.RevokedAccess, error) {
	if f.redeemGrant == nil {
		return nil, errUnexpected
	}
	return f.redeemGrant(hash, appID, now, check, issue)
}
func (f *fakeStore) DeleteExpiredOAuth(context.Context, time.Time, time.Time, int) (int64, error) {
	return 0, errUnexpected
}

// passwords is the PasswordChecker double: one known user and password;
// calls records every attempt.
type passwords struct {
	user     gatehouse.User
	password string
	calls    []string
}

func (p *passwords) CheckPassword(_ context.Context, _ gatehouse.LoginVia, username, password string) (gatehouse.User, bool, error) {
	p.calls = append(p.calls, username+":"+password)
	if username == p.user.Username && password == p.password {
		return p.user, true, nil
	}
	return gatehouse.User{}, false, nil
}

// The registered clients. Secrets are hashed with hasher, as the server
// stores them.
var hasher = gatehouse.NewSecretHasher("test-server-secret")

// selectors keys split refresh tokens in these tests, as under a server
// secret.
var selectors = secret.NewSelectors("test-server-secret")

const confSecret = "s3cret-of-the-confidential-client"

func confidential() gatehouse.Application {
	return gatehouse.Application{ID: 1, ClientID: "conf", SecretHash: hasher.Hash(confSecret),
		ClientType:   gatehouse.ClientConfidential,
		GrantTypes:   []string{gatehouse.GrantPassword, gatehouse.GrantAuthorizationCode},
		RedirectURIs: []string{"https://client.example/cb", "https://client.example/cb?tenant=1"}}
}

func public() gatehouse.Application {
	return gatehouse.Application{ID: 2, ClientID: "pub", ClientType: gatehouse.ClientPublic,
		GrantTypes:   []string{gatehouse.GrantAuthorizationCode, gatehouse.GrantPassword, gatehouse.GrantClientCredentials},
		RedirectURIs: []string{"https://app.example/cb"}}
}

const machineSecret = "s3cret-of-the-machine-client"

func machine() gatehouse.Application {
	return gatehouse.Application{ID: 3, ClientID: "machine", SecretHash: hasher.Hash(machineSecret),
		ClientType: gatehouse.ClientConfidential, GrantTypes: []string{gatehouse.GrantClientCredentials}}
}

var alice = gatehouse.User{ID: 42, Username: "alice", IsActive: true}

// env is a Provider on the doubles.
type env struct {
	p         *oauth.Provider
	store     *fakeStore
	pw        *passwords
	forgotten [][]byte
}

func newEnv(t *testing.T, cfg oauth.Config) *env {
	t.Helper()
	e := &env{store: newStore(confidential(), public(), machine()), pw: &passwords{user: alice, password: "correct horse"}}
	p, err := oauth.New(oauth.Deps{Store: e.store, Accounts: e.pw, Secrets: hasher, Selectors: selectors, Config: cfg,
		Now: func() time.Time { return t0 }, Forget: func(h [][]byte) { e.forgotten = append(e.forgotten, h...) }})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

// The device grant methods keep grants in a slice, as the store's
// contract says (storetest checks the real one); the users a poll sees
// are those of users, by ID.

func (f *fakeStore) CreateDeviceGrant(_ context.Context, g *gatehouse.DeviceGrant) error {
	if len(f.deviceErrs) > 0 {
		err := f.deviceErrs[0]
		f.deviceErrs = f.deviceErrs[1:]
		return err
	}
	for _, d := range f.devices {
		if bytes.Equal(d.DeviceCodeHash, g.DeviceCodeHash) || bytes.Equal(d.UserCodeHash, g.UserCodeHash) {
			return gatehouse.ErrConflict
		}
	}
	g.ID = int64(len(f.devices) + 1)
	c := *g
	f.devices = append(f.devices, &c)
	return nil
}

func (f *fakeStore) deviceBy(match func(*gatehouse.DeviceGrant) bool) *gatehouse.DeviceGrant {
	for _, d := range f.devices {
		if match(d) {
			return d
		}
	}
	return nil
}

func (f *fakeStore) DeviceGrantByUserCode(_ context.Context, h []byte) (gatehouse.DeviceGrant, error) {
	d := f.deviceBy(func(d *gatehouse.DeviceGrant) bool { return bytes.Equal(d.UserCodeHash, h) })
	if d == nil {
		return gatehouse.DeviceGrant{}, gatehouse.ErrNotFound
	}
	return *d, nil
}

func (f *fakeStore) DeviceGrantByDeviceCode(_ context.Context, h []byte) (gatehouse.DeviceGrant, error) {
	f.deviceReads = append(f.deviceReads, h)
	d := f.deviceBy(func(d *gatehouse.DeviceGrant) bool { return bytes.Equal(d.DeviceCodeHash, h) })
	if d == nil {
		return gatehouse.DeviceGrant{}, gatehouse.ErrNotFound
	}
	g := *d
	if f.deviceRead != nil {
		f.deviceRead(&g)
	}
	return g, nil
}

func (f *fakeStore) DecideDeviceGrant(_ context.Context, h []byte, decide func(*gatehouse.DeviceGrant) error) (gatehouse.DeviceGrant, error) {
	d := f.deviceBy(func(d *gatehouse.DeviceGrant) bool { return bytes.Equal(d.UserCodeHash, h) })
	if d == nil {
		return gatehouse.DeviceGrant{}, gatehouse.ErrNotFound
	}
	c := *d
	if err := decide(&c); err != nil {
		return gatehouse.DeviceGrant{}, err
	}
	d.Status, d.UserID, d.DecidedAt = c.Status, c.UserID, c.DecidedAt
	return *d, nil
}

func (f *fakeStore) PollDeviceGrant(_ context.Context, h []byte, appID int64, now time.Time,
	poll func(*gatehouse.DeviceGrant, *gatehouse.User) (gatehouse.DeviceTokens, error)) error {
	d := f.deviceBy(func(d *gatehouse.DeviceGrant) bool { return bytes.Equal(d.DeviceCodeHash, h) })
	if d == nil || d.ApplicationID != appID || d.RedeemedAt != nil {
		return gatehouse.ErrInvalidGrant
	}
	var user *gatehouse.User
	for _, u := range f.users {
		if d.UserID != nil && u.ID == *d.UserID {
			user = &u
		}
	}
	c := *d
	if f.signer != nil {
		f.signer.inRotation = true
		defer func() { f.signer.inRotation = false }()
	}
	out, err := poll(&c, user)
	if err == nil && out.Access != nil {
		if err := f.tokenErr(created{out.Access, out.Refresh, out.FamilyExpires}); err != nil {
			return err // the transaction's writes undone, the poll's time too
		}
	}
	d.LastPoll, d.Interval = c.LastPoll, c.Interval
	if err == nil && out.Access != nil {
		d.RedeemedAt = &now
		f.tokens = append(f.tokens, created{out.Access, out.Refresh, out.FamilyExpires})
	}
	return err
}

func (f *fakeStore) DeleteExpiredDeviceGrants(context.Context, time.Time, int) (int64, error) {
	return 0, errUnexpected
}
