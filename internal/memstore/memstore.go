// Package memstore keeps users and DRF tokens in memory: a hand-written
// implementation of gatehouse.UserStore and gatehouse.TokenStore for the
// tests of services that need no database. It is held to the same contract
// as the SQL store: its tests run the user and token part of the
// conformance suite (storetest.RunUserTests).
//
// It keeps nothing of OAuth2 or simplejwt, so revoking a user's credentials
// deletes their DRF tokens and moves their AuthEpoch, and that is all.
package memstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Store is an in-memory user and token store. The zero value is an empty
// store ready to use; it is safe for concurrent use. Values go in and come
// out as copies, so no caller can change what is stored through a value it
// holds. Times are kept to the microsecond, as the SQL store keeps them.
//
// The functions passed to UpdateUser run with the store locked: they must
// not call the store.
type Store struct {
	mu        sync.Mutex
	users     map[int64]gatehouse.User
	tokens    map[int64]gatehouse.Token
	lastUser  int64 // ids are never handed out twice, even after a delete
	lastToken int64
}

// New returns an empty Store.
func New() *Store { return &Store{} }

func (s *Store) init() {
	if s.users == nil {
		s.users = map[int64]gatehouse.User{}
		s.tokens = map[int64]gatehouse.Token{}
	}
}

// micro is t as stored: to the microsecond, in UTC.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

func microPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := micro(*t)
	return &v
}

// storedUser is the copy of u the store keeps (and hands out).
func storedUser(u gatehouse.User) gatehouse.User {
	u.DateJoined = micro(u.DateJoined)
	u.LastLogin = microPtr(u.LastLogin)
	u.AuthEpoch = micro(u.AuthEpoch)
	return u
}

// storedToken is the copy of t the store keeps (and hands out).
func storedToken(t gatehouse.Token) gatehouse.Token {
	t.Hash = bytes.Clone(t.Hash)
	t.Sealed = bytes.Clone(t.Sealed)
	t.Created = micro(t.Created)
	t.LastUsed = microPtr(t.LastUsed)
	t.Expires = microPtr(t.Expires)
	return t
}

// usernameTaken reports whether a user other than id has username.
func (s *Store) usernameTaken(username string, id int64) bool {
	for _, u := range s.users {
		if u.Username == username && u.ID != id {
			return true
		}
	}
	return false
}

// tokenClash reports whether t cannot be stored beside the tokens kept:
// its hash is taken, or it is a second default token of its user.
func (s *Store) tokenClash(t *gatehouse.Token) bool {
	for _, x := range s.tokens {
		if bytes.Equal(x.Hash, t.Hash) || (t.IsDefault && x.IsDefault && x.UserID == t.UserID) {
			return true
		}
	}
	return false
}

// CreateUser inserts u and, when tok is not nil, tok as u's token, both or
// neither, and sets u.ID, tok.ID and tok.UserID. A taken username, a taken
// token hash or a second default token is gatehouse.ErrConflict. A zero
// DateJoined (and token Created) is set to the current time.
func (s *Store) CreateUser(_ context.Context, u *gatehouse.User, tok *gatehouse.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if s.usernameTaken(u.Username, 0) {
		return gatehouse.ErrConflict
	}
	if tok != nil {
		if s.tokenClash(tok) {
			return gatehouse.ErrConflict
		}
	}
	if u.DateJoined.IsZero() {
		u.DateJoined = time.Now()
	}
	s.lastUser++
	u.ID = s.lastUser
	s.users[u.ID] = storedUser(*u)
	if tok != nil {
		tok.UserID = u.ID
		s.insertToken(tok)
	}
	return nil
}

// User returns the user with id, or gatehouse.ErrNotFound.
func (s *Store) User(_ context.Context, id int64) (gatehouse.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return gatehouse.User{}, gatehouse.ErrNotFound
	}
	return storedUser(u), nil
}

// UserByUsername returns the user with exactly that username, or
// gatehouse.ErrNotFound.
func (s *Store) UserByUsername(_ context.Context, username string) (gatehouse.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == username {
			return storedUser(u), nil
		}
	}
	return gatehouse.User{}, gatehouse.ErrNotFound
}

// UserIDByDjangoKey returns the id of the user created with that
// DjangoKey, or gatehouse.ErrNotFound.
func (s *Store) UserIDByDjangoKey(_ context.Context, key string) (int64, error) {
	if key == "" {
		return 0, gatehouse.ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.users {
		if u.DjangoKey == key {
			return id, nil
		}
	}
	return 0, gatehouse.ErrNotFound
}

// selected returns the users f selects, in f.Order, or
// gatehouse.ValidUserOrder's error. The fake keeps no groups, so a GroupID
// selects nobody.
func (s *Store) selected(f gatehouse.UserFilter) ([]gatehouse.User, error) {
	if err := gatehouse.ValidUserOrder(f.Order); err != nil {
		return nil, err
	}
	var out []gatehouse.User
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		u := s.users[id]
		if (f.ID == 0 || u.ID == f.ID) && (f.Username == "" || u.Username == f.Username) && (f.Email == "" || u.Email == f.Email) &&
			(f.Active == nil || u.IsActive == *f.Active) && (f.Staff == nil || u.IsStaff == *f.Staff) &&
			(f.Superuser == nil || u.IsSuperuser == *f.Superuser) && f.GroupID == 0 && searched(u, f.Search) {
			out = append(out, storedUser(u))
		}
	}
	name, desc := strings.CutPrefix(f.Order, "-")
	slices.SortStableFunc(out, func(a, b gatehouse.User) int {
		c := compareBy(name, a, b)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			return -c
		}
		return c
	})
	return out, nil
}

// compareBy compares a and b by the column of a UserFilter.Order (without
// its "-"), as the SQL store orders: bytewise, a never-set LastLogin after
// every time.
func compareBy(order string, a, b gatehouse.User) int {
	switch order {
	case "username":
		return strings.Compare(a.Username, b.Username)
	case "email":
		return strings.Compare(a.Email, b.Email)
	case "date_joined":
		return a.DateJoined.Compare(b.DateJoined)
	case "last_login":
		switch {
		case a.LastLogin == nil && b.LastLogin == nil:
			return 0
		case a.LastLogin == nil:
			return 1
		case b.LastLogin == nil:
			return -1
		}
		return a.LastLogin.Compare(*b.LastLogin)
	}
	return 0 // "" and "id": the tie-break
}

// searched reports whether u's username, email or names contain search,
// ignoring ASCII case, as the SQL store's LOWER(...) LIKE does.
func searched(u gatehouse.User, search string) bool {
	if search == "" {
		return true
	}
	search = asciiLower(search)
	for _, v := range []string{u.Username, u.Email, u.FirstName, u.LastName} {
		if strings.Contains(asciiLower(v), search) {
			return true
		}
	}
	return false
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// CountUsers counts the users f selects.
func (s *Store) CountUsers(_ context.Context, f gatehouse.UserFilter) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.selected(f)
	return len(all), err
}

// CountUsersUpTo counts the users f selects, up to max.
func (s *Store) CountUsersUpTo(ctx context.Context, f gatehouse.UserFilter, limit int) (int, error) {
	n, err := s.CountUsers(ctx, f)
	return min(n, max(limit, 0)), err
}

// ListUsers returns up to limit of the users f selects, in f.Order,
// skipping offset.
func (s *Store) ListUsers(_ context.Context, f gatehouse.UserFilter, offset, limit int) ([]gatehouse.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.selected(f)
	if err != nil {
		return nil, err
	}
	offset = min(max(offset, 0), len(all))
	end := min(offset+max(limit, 0), len(all))
	return all[offset:end], nil
}

// UpdateUser reads the user, calls fn with a copy and stores the result,
// under the store's lock: fn's error leaves the user as it was. A missing
// user is gatehouse.ErrNotFound (fn is not called); a username taken by
// another user gatehouse.ErrConflict. With RevokeCredentials the user's
// DRF tokens are deleted and AuthEpoch moved forward to At; a zero At is
// an error.
func (s *Store) UpdateUser(_ context.Context, id int64, fn func(*gatehouse.User) (gatehouse.UserChange, error)) (gatehouse.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return gatehouse.User{}, gatehouse.ErrNotFound
	}
	u := storedUser(old)
	ch, err := fn(&u)
	if err != nil {
		return u, err
	}
	u.ID = id
	u.DateJoined = old.DateJoined // not written by the SQL store either
	if ch.Groups != nil || ch.Permissions != nil {
		return u, errors.New("memstore: keeps no groups or permissions")
	}
	if ch.RevokeCredentials {
		if ch.At.IsZero() {
			return u, errors.New("memstore: UserChange.At is required to revoke credentials")
		}
		if at := micro(ch.At); at.After(u.AuthEpoch) {
			u.AuthEpoch = at
		}
	}
	if s.usernameTaken(u.Username, id) {
		return u, gatehouse.ErrConflict
	}
	if ch.RevokeCredentials {
		s.deleteUserTokens(id)
	}
	s.users[id] = storedUser(u) // fn may have kept &u
	return storedUser(s.users[id]), nil
}

// SetPasswordHash replaces the user's hash with new only while it is old.
func (s *Store) SetPasswordHash(_ context.Context, id int64, old, new string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok && u.Password == old {
		u.Password = new
		s.users[id] = u
	}
	return nil
}

// TouchLogin sets the user's LastLogin to at.
func (s *Store) TouchLogin(_ context.Context, id int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[id]; ok {
		u.LastLogin = microPtr(&at)
		s.users[id] = u
	}
	return nil
}

// DeleteUser removes the user and their tokens; gatehouse.ErrNotFound when
// there is no such user.
func (s *Store) DeleteUser(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return gatehouse.ErrNotFound
	}
	delete(s.users, id)
	s.deleteUserTokens(id)
	return nil
}

// insertToken stores t (already checked) and sets its ID.
func (s *Store) insertToken(t *gatehouse.Token) {
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	s.lastToken++
	t.ID = s.lastToken
	s.tokens[t.ID] = storedToken(*t)
}

// CreateToken stores t and sets t.ID. A taken hash or a second default
// token of the user is gatehouse.ErrConflict; a user that does not exist,
// an error wrapping gatehouse.ErrNotFound.
func (s *Store) CreateToken(_ context.Context, t *gatehouse.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if _, ok := s.users[t.UserID]; !ok {
		return fmt.Errorf("memstore: token of user %d: %w", t.UserID, gatehouse.ErrNotFound)
	}
	if s.tokenClash(t) {
		return gatehouse.ErrConflict
	}
	s.insertToken(t)
	return nil
}

// CreateTokenFrom is CreateToken with gatehouse.TokenStore's checks of the
// origin, under the same lock.
func (s *Store) CreateTokenFrom(_ context.Context, t *gatehouse.Token, o gatehouse.TokenOrigin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	u, ok := s.users[t.UserID]
	if !ok || !u.IsActive || !u.Accepts(o.Issued) {
		return gatehouse.ErrNotFound
	}
	if o.DRFTokenID != 0 {
		if parent, ok := s.tokens[o.DRFTokenID]; !ok || parent.UserID != t.UserID {
			return gatehouse.ErrNotFound
		}
	}
	if s.tokenClash(t) {
		return gatehouse.ErrConflict
	}
	s.insertToken(t)
	return nil
}

// TokenByHash returns the token with that key hash and its user, or
// gatehouse.ErrNotFound.
func (s *Store) TokenByHash(_ context.Context, hash []byte) (gatehouse.Token, gatehouse.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if bytes.Equal(t.Hash, hash) {
			return storedToken(t), storedUser(s.users[t.UserID]), nil
		}
	}
	return gatehouse.Token{}, gatehouse.User{}, gatehouse.ErrNotFound
}

// DefaultToken returns the user's default token, or gatehouse.ErrNotFound.
func (s *Store) DefaultToken(_ context.Context, userID int64) (gatehouse.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.UserID == userID && t.IsDefault {
			return storedToken(t), nil
		}
	}
	return gatehouse.Token{}, gatehouse.ErrNotFound
}

// Tokens lists the user's tokens, oldest (first created) first; an empty,
// non-nil slice when there are none.
func (s *Store) Tokens(_ context.Context, userID int64) ([]gatehouse.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []gatehouse.Token{}
	for _, id := range slices.Sorted(maps.Keys(s.tokens)) {
		if t := s.tokens[id]; t.UserID == userID {
			out = append(out, storedToken(t))
		}
	}
	return out, nil
}

// DeleteToken deletes token id of userID; gatehouse.ErrNotFound when
// userID has no token of that id.
func (s *Store) DeleteToken(_ context.Context, userID, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[id]; !ok || t.UserID != userID {
		return gatehouse.ErrNotFound
	}
	delete(s.tokens, id)
	return nil
}

// DeleteUserTokens deletes every token of the user and returns how many.
func (s *Store) DeleteUserTokens(_ context.Context, userID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteUserTokens(userID), nil
}

func (s *Store) deleteUserTokens(userID int64) int64 {
	var n int64
	for id, t := range s.tokens {
		if t.UserID == userID {
			delete(s.tokens, id)
			n++
		}
	}
	return n
}

// TouchTokens records last-use times, token id to time; a time earlier
// than the one recorded, or an unknown id, is ignored.
func (s *Store) TouchTokens(_ context.Context, used map[int64]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range used {
		t, ok := s.tokens[id]
		if !ok {
			continue
		}
		if at = micro(at); t.LastUsed == nil || t.LastUsed.Before(at) {
			t.LastUsed = &at
			s.tokens[id] = t
		}
	}
	return nil
}
