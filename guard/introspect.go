package guard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// maxIntrospection bounds an introspection answer read from gatehouse (a
// superuser's permission list is its largest part).
const maxIntrospection = 1 << 20

// answer is an active introspection answer, as cached. It is never
// modified once made; principals share its slices.
type answer struct {
	kind            Kind
	userID          int64
	djangoPK        string
	username, email string
	staff, super    bool
	scopes          []string
	clientID        string
	groups, perms   []string
	exp             int64 // unix seconds; 0 for a credential that does not expire
}

func (a *answer) principal() *Principal {
	return &Principal{UserID: a.userID, DjangoPK: a.djangoPK, Username: a.username, Email: a.email, IsStaff: a.staff, IsSuperuser: a.super,
		Kind: a.kind, Scopes: a.scopes, ClientID: a.clientID, Known: FieldsAll, Groups: a.groups, Permissions: a.perms}
}

// entry is a cached answer; a nil a is an inactive one.
type entry struct {
	a       *answer
	expires time.Time
}

// flight is one introspection request that callers asking about the same
// token wait for instead of sending their own.
type flight struct {
	done chan struct{}
	a    *answer
	err  error
}

// introspector asks gatehouse about opaque tokens (RFC 7662, with
// gatehouse's extended answer for resource servers) and caches the
// answers by the token's SHA-256, never the token itself: active ones for
// IntrospectionTTL but never past their exp, inactive ones for
// NegativeTTL, each cache bounded by CacheSize.
type introspector struct {
	r       *Remote
	auth    string // the Basic authorization of the client
	mu      sync.Mutex
	pos     map[[32]byte]entry
	neg     map[[32]byte]entry
	flights map[[32]byte]*flight
	joined  atomic.Int64 // callers that waited on another's request (tests read it)
}

func newIntrospector(r *Remote) *introspector {
	// RFC 6749 2.3.1: client id and secret are form-urlencoded, then Basic.
	basic := url.QueryEscape(r.cfg.ClientID) + ":" + url.QueryEscape(r.cfg.ClientSecret)
	return &introspector{r: r, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(basic)),
		pos: map[[32]byte]entry{}, neg: map[[32]byte]entry{}, flights: map[[32]byte]*flight{}}
}

// principal introspects token and returns its principal when it is
// active and of one of kinds (the kinds gatehouse accepts under kw);
// a *Refusal otherwise.
func (in *introspector) principal(ctx context.Context, kw, token string, kinds ...Kind) (*Principal, error) {
	a, err := in.lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	if a == nil || !slices.Contains(kinds, a.kind) {
		return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonCredentialInvalid}
	}
	return a.principal(), nil
}

// lookup returns the cached answer about token, or asks gatehouse (once
// for all concurrent callers); nil for an inactive token.
func (in *introspector) lookup(ctx context.Context, token string) (*answer, error) {
	key := sha256.Sum256([]byte(token))
	now := in.r.now()
	in.mu.Lock()
	if e, ok := in.pos[key]; ok {
		if now.Before(e.expires) {
			in.mu.Unlock()
			return e.a, nil
		}
		delete(in.pos, key)
	}
	if e, ok := in.neg[key]; ok {
		if now.Before(e.expires) {
			in.mu.Unlock()
			return nil, nil
		}
		delete(in.neg, key)
	}
	if f, ok := in.flights[key]; ok {
		in.mu.Unlock()
		in.joined.Add(1)
		select {
		case <-f.done:
			return f.a, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	in.flights[key] = f
	in.mu.Unlock()

	f.a, f.err = in.ask(ctx, token)

	now = in.r.now()
	in.mu.Lock()
	delete(in.flights, key)
	if f.err == nil {
		if f.a == nil {
			in.put(in.neg, key, entry{expires: now.Add(in.r.cfg.NegativeTTL)})
		} else {
			exp := now.Add(in.r.cfg.IntrospectionTTL)
			if f.a.exp != 0 {
				exp = minTime(exp, time.Unix(f.a.exp, 0))
			}
			if now.Before(exp) {
				in.put(in.pos, key, entry{a: f.a, expires: exp})
			}
		}
	}
	in.mu.Unlock()
	close(f.done)
	return f.a, f.err
}

// put adds e to m, first dropping an entry when m is full: an expired one
// if the first few looked at are, else any (Go's map order is random).
func (in *introspector) put(m map[[32]byte]entry, key [32]byte, e entry) {
	if len(m) >= in.r.cfg.CacheSize {
		now, looked := in.r.now(), 0
		var victim [32]byte
		for k, old := range m {
			victim = k
			if !now.Before(old.expires) || looked == 8 {
				break
			}
			looked++
		}
		delete(m, victim)
	}
	m[key] = e
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// wire is gatehouse's introspection answer (docs: the extended answer to
// a resource server).
type wire struct {
	Active      bool     `json:"active"`
	TokenKind   string   `json:"token_kind"`
	Scope       string   `json:"scope"`
	ClientID    string   `json:"client_id"`
	Exp         *int64   `json:"exp"`
	UserID      *int64   `json:"user_id"`
	DjangoPK    string   `json:"django_pk"`
	Username    string   `json:"username"`
	Email       string   `json:"email"`
	IsStaff     bool     `json:"is_staff"`
	IsSuperuser bool     `json:"is_superuser"`
	Groups      []string `json:"groups"`
	Permissions []string `json:"permissions"`
}

// errNotResourceServer explains an active answer without token_kind:
// gatehouse answers DOT's short form to a client that is not registered
// as a resource server.
var errNotResourceServer = errors.New("guard: the introspection answer has no token_kind: register the client as a resource server (gatehouse applications create --resource-server)")

// ask sends one introspection request: nil for an inactive token, an
// error when gatehouse cannot tell (unreachable, an answer other than
// 200, a malformed one).
func (in *introspector) ask(ctx context.Context, token string) (*answer, error) {
	r := in.r
	// Callers waiting on this request share it: one request's
	// cancellation must not fail the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
	defer cancel()
	body := "token=" + url.QueryEscape(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.IntrospectionURL, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("guard: introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", in.auth)
	res, err := r.client.Do(req)
	if err != nil {
		// The error names the URL, never the token (it is in the body).
		return nil, fmt.Errorf("guard: introspection: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, maxIntrospection))
		hint := ""
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			hint = " (are ClientID and ClientSecret those of a resource server?)"
		}
		return nil, fmt.Errorf("guard: introspection at %s answered %d%s", r.cfg.IntrospectionURL, res.StatusCode, hint)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxIntrospection+1))
	if err != nil {
		return nil, fmt.Errorf("guard: reading the introspection answer: %w", err)
	}
	if len(raw) > maxIntrospection {
		return nil, fmt.Errorf("guard: the introspection answer is over %d bytes", maxIntrospection)
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("guard: the introspection answer is not the expected JSON object: %w", err)
	}
	return w.answer()
}

// answer checks an introspection answer and turns it into what is cached.
func (w *wire) answer() (*answer, error) {
	if !w.Active {
		return nil, nil
	}
	a := &answer{kind: Kind(w.TokenKind), djangoPK: w.DjangoPK, username: w.Username, email: w.Email, staff: w.IsStaff, super: w.IsSuperuser,
		clientID: w.ClientID, groups: w.Groups, perms: w.Permissions}
	switch a.kind {
	case KindOAuth, KindJWT, KindToken, KindKnox:
	case "":
		return nil, errNotResourceServer
	default:
		return nil, fmt.Errorf("guard: the introspection answer has an unknown token_kind %q", w.TokenKind)
	}
	if w.UserID != nil {
		if *w.UserID <= 0 {
			return nil, fmt.Errorf("guard: the introspection answer has user_id %d", *w.UserID)
		}
		a.userID = *w.UserID
	} else if a.kind != KindOAuth {
		return nil, fmt.Errorf("guard: the introspection answer for a %s credential has no user_id", a.kind)
	}
	if w.Exp != nil {
		if *w.Exp <= 0 {
			return nil, fmt.Errorf("guard: the introspection answer has exp %d", *w.Exp)
		}
		a.exp = *w.Exp
	}
	if a.kind == KindOAuth {
		a.scopes = strings.Fields(w.Scope)
		if a.scopes == nil {
			a.scopes = []string{}
		}
	}
	if a.groups == nil {
		a.groups = []string{}
	}
	if a.perms == nil {
		a.perms = []string{}
	}
	return a, nil
}
