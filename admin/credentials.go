package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// Credentials of every kind (gatehouse.CredentialKinds): DRF keys, knox
// tokens, simplejwt refresh tokens, OAuth access and refresh tokens and
// browser sessions (the record of each login's session), each seen and
// revoked under its Django model's permission (sessions: Django's
// sessions.session).
//
// Revocation takes effect on this replica at once: the users whose
// credentials end are dropped from the authentication cache, and so are
// the OAuth access tokens deleted (by hash), as the CLI's tokens revoke
// and OAuth revocation do. Other replicas refuse them within the auth
// cache TTL (GATEHOUSE_AUTH_CACHE_TTL).

// kindPerms are the permissions to view and to revoke each kind.
var kindPerms = map[string][2]string{
	gatehouse.CredentialDRF:          {PermViewDRFToken, PermDeleteDRFToken},
	gatehouse.CredentialKnox:         {PermViewKnoxToken, PermDeleteKnoxToken},
	gatehouse.CredentialJWTRefresh:   {PermViewJWTRefresh, PermDeleteJWTRefresh},
	gatehouse.CredentialOAuthAccess:  {PermViewAccessToken, PermDeleteAccessToken},
	gatehouse.CredentialOAuthRefresh: {PermViewRefreshToken, PermDeleteRefreshToken},
	gatehouse.CredentialSession:      {PermViewSession, PermDeleteSession},
}

// oauthKinds are the kinds an application holds.
var oauthKinds = []string{gatehouse.CredentialOAuthAccess, gatehouse.CredentialOAuthRefresh}

// CredentialQuery selects credentials: zero fields select all.
type CredentialQuery struct {
	UserID   int64
	ClientID string
	Kind     string // one of gatehouse.CredentialKinds; "": every kind
	State    string // StateLive (""), StateEnded or StateAll
}

// badKind is the field error of an unknown kind.
func badKind(field, kind string) error {
	return gatehouse.Invalid(gatehouse.FieldError{Field: field, Code: gatehouse.FieldInvalid,
		Message: "Select a valid choice. " + kind + " is not one of the available choices: " + strings.Join(gatehouse.CredentialKinds(), ", ") + "."})
}

// filter turns q into a store filter, checking its fields (EINVALID
// naming the field: kind, state, user, client_id), and lists the kinds it
// selects.
func (s *Service) filter(ctx context.Context, q CredentialQuery) (gatehouse.CredentialFilter, []string, error) {
	f := gatehouse.CredentialFilter{UserID: q.UserID}
	kinds := gatehouse.CredentialKinds()
	if q.Kind != "" {
		if !slices.Contains(kinds, q.Kind) {
			return f, nil, badKind("kind", q.Kind)
		}
		kinds = []string{q.Kind}
		f.Kinds = kinds
	}
	switch q.State {
	case "", StateLive:
	case StateAll:
		f.Ended = true
	case StateEnded:
		f.Ended, f.EndedOnly = true, true
	default:
		return f, nil, gatehouse.Invalid(gatehouse.FieldError{Field: "state", Code: gatehouse.FieldInvalid,
			Message: "Select a valid choice. " + q.State + " is not one of the available choices: live, ended, all."})
	}
	if q.UserID != 0 {
		if _, err := s.user(ctx, q.UserID); err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
				return f, nil, gatehouse.Invalid(gatehouse.FieldError{Field: "user", Code: gatehouse.FieldInvalid, Message: invalidPK(q.UserID)})
			}
			return f, nil, err
		}
	}
	if q.ClientID != "" {
		app, err := s.application(ctx, q.ClientID)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return f, nil, gatehouse.Invalid(gatehouse.FieldError{Field: "client_id", Code: gatehouse.FieldInvalid,
				Message: "Select a valid choice. That choice is not one of the available choices."})
		}
		if err != nil {
			return f, nil, err
		}
		f.ApplicationID = app.ID
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k string) bool { return !slices.Contains(oauthKinds, k) })
	}
	return f, kinds, nil
}

// Credentials lists the credentials q selects, kind after kind in the
// order of gatehouse.CredentialKinds and newest first within a kind, one
// page at a time; never a secret. A query without a kind lists the kinds
// a may view (view or delete permission of the kind's model:
// authtoken.*_token, knox.*_authtoken, token_blacklist.*_outstandingtoken,
// oauth2_provider.*_accesstoken and *_refreshtoken, sessions.*_session), EFORBIDDEN when
// none; one with a kind needs that kind's. Bad fields are EINVALID.
func (s *Service) Credentials(ctx context.Context, a Actor, q CredentialQuery, p Page) (Listing[gatehouse.CredentialInfo], error) {
	var empty Listing[gatehouse.CredentialInfo]
	mayView := func(k string) bool { return a.CanAny(kindPerms[k][0], kindPerms[k][1]) }
	if !slices.ContainsFunc(gatehouse.CredentialKinds(), mayView) {
		return empty, forbidden()
	}
	if q.Kind != "" && slices.Contains(gatehouse.CredentialKinds(), q.Kind) && !mayView(q.Kind) {
		return empty, forbidden()
	}
	p, err := p.check()
	if err != nil {
		return empty, err
	}
	f, kinds, err := s.filter(ctx, q)
	if err != nil {
		return empty, err
	}
	f.Kinds = slices.DeleteFunc(kinds, func(k string) bool { return !mayView(k) })
	if len(f.Kinds) == 0 {
		return Listing[gatehouse.CredentialInfo]{Page: p.resolve(0), Items: []gatehouse.CredentialInfo{}}, nil
	}
	now := s.d.Now()
	counts, err := s.d.Credentials.CountCredentials(ctx, f, now)
	if err != nil {
		return empty, err
	}
	total := 0
	for _, k := range f.Kinds {
		total += int(counts[k])
	}
	l := Listing[gatehouse.CredentialInfo]{Count: total, Page: p.resolve(total), Items: []gatehouse.CredentialInfo{}}
	l.Next = l.Page.Number < l.Pages()
	if l.OutOfRange() {
		return l, nil
	}
	// The page's window over the kinds laid end to end.
	skip, want := (l.Page.Number-1)*l.Page.Size, l.Page.Size
	for _, k := range gatehouse.CredentialKinds() {
		n := int(counts[k])
		if !slices.Contains(f.Kinds, k) || n == 0 || want == 0 {
			continue
		}
		if skip >= n {
			skip -= n
			continue
		}
		one := f
		one.Kinds, one.Offset, one.Limit = []string{k}, skip, want
		got, err := s.d.Credentials.ListCredentials(ctx, one, now)
		if err != nil {
			return empty, err
		}
		l.Items = append(l.Items, got...)
		skip, want = 0, want-min(want, len(got))
	}
	return l, nil
}

// CredentialRef names one credential: its kind and its id as listed.
type CredentialRef struct {
	Kind, ID string
}

// Revocation is what RevokeCredentials ends: the credentials named (IDs),
// or every live one the query selects (its State is ignored). One of the
// two, not both.
type Revocation struct {
	IDs   []CredentialRef
	Query *CredentialQuery
}

// RevokeCredentials ends live credentials and returns how many ended.
// Each kind touched needs its delete permission (authtoken.delete_token,
// knox.delete_authtoken, token_blacklist.delete_outstandingtoken, sessions.delete_session,
// oauth2_provider.delete_accesstoken, delete_refreshtoken). A query
// naming no user, client or kind is refused (field non_field_errors): a
// revocation of everything is not made by accident. A non-superuser must
// name the user by query, and ends only non-staff users' credentials (as
// users' other changes). Named credentials are all checked first: an
// unknown kind or a credential that is not live is EINVALID (field ids)
// and nothing ends. Audited credentials.revoked with the count.
func (s *Service) RevokeCredentials(ctx context.Context, a Actor, r Revocation) (int64, error) {
	if (r.Query == nil) == (len(r.IDs) == 0) {
		return 0, gatehouse.Invalid(gatehouse.FieldError{Field: "non_field_errors", Code: gatehouse.FieldInvalid,
			Message: "Name the credentials to revoke: ids, or at least one of user, client_id and kind."})
	}
	mayRevoke := func(k string) bool { return a.Can(kindPerms[k][1]) }
	if !slices.ContainsFunc(gatehouse.CredentialKinds(), mayRevoke) {
		return 0, forbidden()
	}
	now := s.d.Now()
	if r.Query != nil {
		q := *r.Query
		if q.UserID == 0 && q.ClientID == "" && q.Kind == "" {
			return 0, gatehouse.Invalid(gatehouse.FieldError{Field: "non_field_errors", Code: gatehouse.FieldInvalid,
				Message: "Name the credentials to revoke: ids, or at least one of user, client_id and kind."})
		}
		q.State = StateLive
		f, kinds, err := s.filter(ctx, q)
		if err != nil {
			return 0, err
		}
		if !a.superuser && (q.UserID == 0 || !s.mayTouch(ctx, a, q.UserID)) {
			return 0, forbidden()
		}
		for _, k := range kinds {
			if !mayRevoke(k) {
				return 0, forbidden()
			}
		}
		if len(kinds) == 0 {
			return 0, nil // a client and a kind it cannot hold: nothing selected
		}
		f.Kinds = kinds
		return s.revoke(ctx, []gatehouse.CredentialFilter{f}, now, map[string]string{"by": "filter", "kinds": strings.Join(kinds, ","),
			"user_id": idOrEmpty(q.UserID), "client_id": q.ClientID})
	}
	// By ids: every one checked before any ends.
	var fs []gatehouse.CredentialFilter
	var kinds []string
	for _, ref := range r.IDs {
		if !slices.Contains(gatehouse.CredentialKinds(), ref.Kind) {
			return 0, badKind("ids", ref.Kind)
		}
		if !mayRevoke(ref.Kind) {
			return 0, forbidden()
		}
		f := gatehouse.CredentialFilter{Kinds: []string{ref.Kind}, ID: ref.ID, Limit: 1}
		found := []gatehouse.CredentialInfo{}
		if ref.ID != "" && gatehouse.ValidText(ref.ID) && len(ref.ID) <= 200 {
			var err error
			if found, err = s.d.Credentials.ListCredentials(ctx, f, now); err != nil {
				return 0, err
			}
		}
		if len(found) == 0 {
			return 0, gatehouse.Invalid(gatehouse.FieldError{Field: "ids", Code: gatehouse.FieldInvalid,
				Message: "No live " + ref.Kind + " credential has the id " + strconv.Quote(ref.ID) + "."})
		}
		if !a.superuser && (found[0].UserID == 0 || !s.mayTouch(ctx, a, found[0].UserID)) {
			return 0, forbidden()
		}
		f.Limit = 0
		fs = append(fs, f)
		if !slices.Contains(kinds, ref.Kind) {
			kinds = append(kinds, ref.Kind)
		}
	}
	return s.revoke(ctx, fs, now, map[string]string{"by": "ids", "kinds": strings.Join(kinds, ",")})
}

// mayTouch reports whether a non-superuser may act on user id's
// credentials: a non-staff user (or themselves).
func (s *Service) mayTouch(ctx context.Context, a Actor, id int64) bool {
	u, err := s.user(ctx, id)
	return err == nil && (!u.IsStaff && !u.IsSuperuser || u.ID == a.User.ID)
}

// revoke ends what each filter selects, drops the users and access tokens
// concerned from this replica's authentication cache, and records one
// credentials.revoked event.
func (s *Service) revoke(ctx context.Context, fs []gatehouse.CredentialFilter, now time.Time, detail map[string]string) (int64, error) {
	var total int64
	for _, f := range fs {
		// The users concerned, read first: their cached credentials go.
		list := f
		list.Limit = MaxPageSize
		live, err := s.d.Credentials.ListCredentials(ctx, list, now)
		if err != nil {
			return total, err
		}
		n, hashes, err := s.d.Credentials.RevokeCredentials(ctx, f, now)
		s.d.ForgetAccess(hashes)
		seen := map[int64]bool{}
		for _, c := range live {
			if c.UserID != 0 && !seen[c.UserID] {
				seen[c.UserID] = true
				s.d.Forget(c.UserID)
			}
		}
		if f.UserID != 0 {
			s.d.Forget(f.UserID)
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	for k, v := range detail {
		if v == "" {
			delete(detail, k)
		}
	}
	detail["count"] = strconv.FormatInt(total, 10)
	e := gatehouse.AuditEvent{Event: gatehouse.AuditCredentialsRevoked, Detail: detail}
	if len(fs) == 1 {
		e.UserID = fs[0].UserID
	}
	s.d.Audit.Record(ctx, e)
	return total, nil
}

// idOrEmpty is id in decimal, "" for 0.
func idOrEmpty(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
