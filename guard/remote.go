package guard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/jwt"
)

// Defaults of the Config fields left at zero.
const (
	DefaultIntrospectionTTL = 30 * time.Second
	DefaultNegativeTTL      = 5 * time.Second
	DefaultCacheSize        = 10000
	DefaultJWKSRefresh      = 5 * time.Minute
	DefaultJWKSMinInterval  = 10 * time.Second
	DefaultTimeout          = 5 * time.Second
)

// Config configures a Remote. Either BaseURL, or JWKSURL or
// IntrospectionURL, or HMACKey must be set.
type Config struct {
	// BaseURL is gatehouse's address ("https://auth.example.com"). It
	// gives JWKSURL (BaseURL + "/.well-known/jwks.json") and
	// IntrospectionURL (BaseURL + "/o/introspect/") when those are empty.
	BaseURL string
	// JWKSURL is where the public keys of RS256, ES256 and EdDSA simplejwt
	// tokens are published; "" (and no BaseURL) verifies HMAC tokens only.
	JWKSURL string
	// IntrospectionURL is gatehouse's RFC 7662 endpoint, called with
	// ClientID and ClientSecret (an application registered as a resource
	// server) for opaque tokens ("Bearer <oauth token>", "Token <key>")
	// and for the identity a JWT does not carry. Without it, opaque
	// tokens are refused and a JWT's username, email and staff flags stay
	// unknown (checks needing them deny).
	IntrospectionURL       string
	ClientID, ClientSecret string
	// HMACKey is gatehouse's simplejwt signing secret (the Django
	// SECRET_KEY) when tokens are signed with HMACAlgorithm (HS256 when
	// empty; HS384 and HS512 too). Whoever holds it can mint tokens: a
	// service that should not, verifies RS256/ES256/EdDSA tokens with the
	// JWKS instead.
	HMACKey       []byte
	HMACAlgorithm string
	// Claims names the token type and user id claims as gatehouse's
	// GATEHOUSE_JWT_*_CLAIM settings do; GroupsClaim and PermissionsClaim
	// name the optional claims listing the user's groups and permissions.
	Claims                        jwt.ClaimNames
	GroupsClaim, PermissionsClaim string
	// Issuer, Audience and Leeway are checked as gatehouse checks them:
	// configure them as gatehouse is configured.
	Issuer, Audience string
	Leeway           time.Duration
	// IntrospectionTTL bounds how long an active introspection answer is
	// reused (never past the token's exp): a revocation is seen by this
	// Remote at most that long after it happened. NegativeTTL is how long
	// an inactive answer is reused. CacheSize bounds each of the two
	// caches (entries).
	IntrospectionTTL, NegativeTTL time.Duration
	CacheSize                     int
	// JWKSRefresh is how often the JWKS is fetched again when its answer
	// has no Cache-Control max-age. JWKSMinInterval is the least time
	// between two fetches caused by unknown key ids, so that tokens with
	// invented kids cannot make this Remote hammer gatehouse.
	JWKSRefresh, JWKSMinInterval time.Duration
	// Timeout bounds each call to gatehouse.
	Timeout time.Duration
	// HTTPClient makes the calls; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives the failures that do not fail a request (a JWKS
	// refresh that keeps the keys fetched before); nil discards them.
	Log *slog.Logger
}

// Remote authenticates the credentials gatehouse issues from another
// program: simplejwt access tokens are verified locally (JWKS or HMAC
// key), opaque tokens (OAuth access tokens, DRF keys, knox tokens) by
// introspection with a cache. It parses the Authorization header as
// gatehouse's views do. Safe for concurrent use.
//
// What it cannot see as gatehouse does:
//
//   - A locally verified JWT cannot show a revocation (password change,
//     deactivation, deleted user) before it expires: gatehouse's
//     access-token lifetime (10 minutes by default) bounds that delay. A
//     check that needs the JWT's identity (IsAdminUser, HasPermission
//     without a permissions claim) introspects it, and so sees the
//     revocation once the cached answer is older than IntrospectionTTL.
//   - Opaque tokens show a revocation after at most IntrospectionTTL.
//   - Introspection tells only "inactive": a DRF key or knox token of an
//     inactive user is answered "Invalid token." where gatehouse says
//     "User inactive or deleted.".
//   - A new signing key is seen at the first token naming it, unless a
//     fetch for an unknown kid happened less than JWKSMinInterval before
//     (tokens with invented kids can cause that; its tokens are then
//     refused until that interval has passed). gatehouse's JWKS answers
//     carry max-age=300: a key published as a verification key at least
//     5 minutes before it signs is known before its first token.
//   - Only the Authorization header is read, with simplejwt's default
//     keyword "Bearer" (gatehouse's GATEHOUSE_JWT_AUTH_HEADER_NAME and
//     _TYPES are not followed), never an access_token query parameter.
type Remote struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	keys   *keySet
	intro  *introspector // nil without introspection
	hmac   []jwt.Key
	log    *slog.Logger
}

// NewRemote validates cfg and returns a Remote. It makes no network call:
// the JWKS is fetched on the first token that needs it (or by Refresh).
func NewRemote(cfg Config) (*Remote, error) {
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("guard: BaseURL %q is not an http(s) URL", cfg.BaseURL)
		}
		base := strings.TrimSuffix(cfg.BaseURL, "/")
		if cfg.JWKSURL == "" {
			cfg.JWKSURL = base + "/.well-known/jwks.json"
		}
		if cfg.IntrospectionURL == "" {
			cfg.IntrospectionURL = base + "/o/introspect/"
		}
	}
	for name, v := range map[string]string{"JWKSURL": cfg.JWKSURL, "IntrospectionURL": cfg.IntrospectionURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("guard: %s %q is not an http(s) URL", name, v)
		}
	}
	if cfg.IntrospectionURL != "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
		return nil, errors.New("guard: introspection needs ClientID and ClientSecret (an application registered as a resource server)")
	}
	if cfg.JWKSURL == "" && cfg.IntrospectionURL == "" && len(cfg.HMACKey) == 0 {
		return nil, errors.New("guard: nothing to verify tokens with: set BaseURL, JWKSURL, IntrospectionURL or HMACKey")
	}
	for name, d := range map[string]time.Duration{"IntrospectionTTL": cfg.IntrospectionTTL, "NegativeTTL": cfg.NegativeTTL,
		"JWKSRefresh": cfg.JWKSRefresh, "JWKSMinInterval": cfg.JWKSMinInterval, "Timeout": cfg.Timeout} {
		if d < 0 {
			return nil, fmt.Errorf("guard: %s is negative (%v)", name, d)
		}
	}
	if cfg.CacheSize < 0 {
		return nil, fmt.Errorf("guard: CacheSize is negative (%d)", cfg.CacheSize)
	}
	for _, c := range []string{cfg.GroupsClaim, cfg.PermissionsClaim} {
		if c == "" {
			continue
		}
		if err := jwt.CheckClaimName(c); err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
	}
	if cfg.GroupsClaim != "" && cfg.GroupsClaim == cfg.PermissionsClaim {
		return nil, fmt.Errorf("guard: GroupsClaim and PermissionsClaim are both %q", cfg.GroupsClaim)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.IntrospectionTTL, DefaultIntrospectionTTL)
	def(&cfg.NegativeTTL, DefaultNegativeTTL)
	def(&cfg.JWKSRefresh, DefaultJWKSRefresh)
	def(&cfg.JWKSMinInterval, DefaultJWKSMinInterval)
	def(&cfg.Timeout, DefaultTimeout)
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	r := &Remote{cfg: cfg, client: cfg.HTTPClient, now: cfg.Now, log: cfg.Log}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	if r.now == nil {
		r.now = time.Now
	}
	if len(cfg.HMACKey) > 0 {
		alg := cfg.HMACAlgorithm
		if alg == "" {
			alg = jwt.HS256
		}
		switch alg {
		case jwt.HS256, jwt.HS384, jwt.HS512:
		default:
			return nil, fmt.Errorf("guard: HMACAlgorithm %q is not HS256, HS384 or HS512", alg)
		}
		r.hmac = []jwt.Key{{Algorithm: alg, Secret: cfg.HMACKey}}
	}
	// A verifier built now refuses a weak key, a bad leeway or claim names
	// at start rather than on the first token.
	v, err := r.verifier(nil)
	if err != nil {
		return nil, err
	}
	r.keys = &keySet{r: r}
	r.keys.cur.Store(&keys{v: v})
	if cfg.IntrospectionURL != "" {
		r.intro = newIntrospector(r)
	}
	return r, nil
}

// verifier builds the verifier of the HMAC key and the JWKS keys; nil
// (and no error) when there is no key at all.
func (r *Remote) verifier(published []jwt.Key) (*jwt.Verifier, error) {
	all := append(append([]jwt.Key{}, r.hmac...), published...)
	if len(all) == 0 {
		// Checked with a dummy key, so that settings errors still show.
		_, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: []jwt.Key{{Algorithm: jwt.HS256, Secret: make([]byte, 32)}},
			Issuer: r.cfg.Issuer, Audience: r.cfg.Audience, Leeway: r.cfg.Leeway, Claims: r.cfg.Claims})
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		return nil, nil
	}
	v, err := jwt.NewVerifier(jwt.VerifierConfig{Keys: all, Issuer: r.cfg.Issuer, Audience: r.cfg.Audience,
		Leeway: r.cfg.Leeway, Claims: r.cfg.Claims, Now: r.now})
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	return v, nil
}

// Refresh fetches the JWKS now, as a service may do at start so that its
// first request does not wait for it.
func (r *Remote) Refresh(ctx context.Context) error {
	if r.cfg.JWKSURL == "" {
		return nil
	}
	return r.keys.fetch(ctx)
}

// Authenticate implements Authenticator, reading the Authorization header
// as gatehouse's views do (DRF, DOT and simplejwt in that order):
//
//   - "Bearer <jwt>" (exactly "Bearer", a value with dots): a simplejwt
//     access token verified locally;
//   - "Bearer <token>" (the keyword in any case): an OAuth access token,
//     introspected; refused with simplejwt's body when the keyword is
//     exactly "Bearer", otherwise (another case, as DOT alone reads it)
//     the request goes on as anonymous with the invalid_token challenge
//     (ReasonBearerRejected);
//   - "Token <key>" (any case): a DRF key or knox token, introspected,
//     with DRF's two refusals of a malformed header;
//   - anything else: anonymous.
func (r *Remote) Authenticate(req *http.Request) (*Principal, error) {
	var buf [3]string
	// Several Authorization headers are joined with ",", as a WSGI server
	// hands them to Django: no scheme parses that, so the request is
	// refused rather than judged by one of them.
	fields := splitFields(strings.Join(req.Header.Values("Authorization"), ","), &buf)
	if len(fields) == 0 {
		return nil, nil
	}
	kw := fields[0]
	switch {
	case kw == "Bearer":
		if len(fields) != 2 {
			return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonBadHeader}
		}
		if strings.IndexByte(fields[1], '.') >= 0 && !gatehouse.MayBeOAuthAccessToken(fields[1]) {
			return r.verifyJWT(req.Context(), kw, fields[1])
		}
		// An opaque OAuth token, or an RFC 9068 JWT access token: asked
		// about by introspection, which also sees its revocation.
		return r.opaque(req.Context(), kw, fields[1], KindOAuth)
	case strings.EqualFold(kw, "bearer"):
		if len(fields) != 2 {
			return nil, nil
		}
		p, err := r.opaque(req.Context(), kw, fields[1], KindOAuth)
		var ref *Refusal
		if errors.As(err, &ref) {
			return nil, &Refusal{Keyword: kw, Reason: ReasonBearerRejected}
		}
		return p, err
	case strings.EqualFold(kw, "token"):
		switch len(fields) {
		case 1:
			return nil, &Refusal{Keyword: kw, Reason: ReasonTokenHeaderEmpty}
		case 2:
			if !utf8.ValidString(fields[1]) {
				return nil, &Refusal{Keyword: kw, Reason: ReasonTokenHeaderChars}
			}
			return r.opaque(req.Context(), kw, fields[1], KindToken, KindKnox)
		}
		return nil, &Refusal{Keyword: kw, Reason: ReasonTokenHeaderSpaces}
	}
	return nil, nil
}

// verifyJWT verifies a simplejwt access token with the current keys,
// fetching the JWKS again when the token names a key not seen yet.
func (r *Remote) verifyJWT(ctx context.Context, kw, token string) (*Principal, error) {
	if len(r.hmac) == 0 && r.cfg.JWKSURL == "" {
		// No key to verify with here: gatehouse tells.
		return r.opaque(ctx, kw, token, KindJWT)
	}
	k, err := r.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := k.parse(token)
	if err != nil {
		if k, err = r.keys.forUnknownKey(ctx, k, token); err != nil {
			return nil, err
		}
		switch claims, err = k.parse(token); {
		case errors.Is(err, jwt.ErrNoExp):
			return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonNoExp}
		case errors.Is(err, jwt.ErrNoID):
			return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonNoJTI}
		case err != nil:
			return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonCredentialInvalid}
		}
	}
	switch claims.TokenType {
	case jwt.Access:
	case "":
		return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonNoTokenType}
	default:
		return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonWrongTokenType}
	}
	// A user_id that is a JSON string is a Django key first (a custom
	// user model's UUID or CharField key), digits too, as gatehouse's own
	// views read it. gatehouse names such a user by its key too, with the
	// id beside it (jwt.IDClaim), which a key that is not digits alone
	// cannot be mistaken for. Otherwise (a token Django issued before the
	// move) only gatehouse knows whose it is; without introspection, a
	// string of digits is read as the id it spells.
	byKey := gatehouse.NamesByKey(claims.UserKey)
	if claims.UserKey != "" && (!byKey || !claims.HasUserID) && r.intro != nil {
		return r.intro.principal(ctx, kw, token, KindJWT)
	}
	if !claims.HasUserID {
		if claims.UserIDNull {
			return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonUserNotFound}
		}
		return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonNoUserID}
	}
	p := &Principal{UserID: claims.UserID, Kind: KindJWT}
	if byKey {
		p.DjangoPK = claims.UserKey
	}
	if r.cfg.GroupsClaim != "" || r.cfg.PermissionsClaim != "" {
		r.permissionClaims(token, p)
	}
	if r.intro != nil {
		p.LoadIdentity = func(ctx context.Context) (*Principal, error) {
			return r.intro.principal(ctx, kw, token, KindJWT)
		}
	}
	return p, nil
}

// permissionClaims reads the groups and permissions claims of a verified
// token into p; a claim that is absent or not a list of strings is left
// unknown.
func (r *Remote) permissionClaims(token string, p *Principal) {
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	payload, err := base64.RawURLEncoding.DecodeString(token[i+1 : j])
	if err != nil {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil {
		return
	}
	list := func(name string) ([]string, bool) {
		raw, ok := m[name]
		if name == "" || !ok {
			return nil, false
		}
		var l []string
		if json.Unmarshal(raw, &l) != nil || l == nil {
			return nil, false
		}
		return l, true
	}
	if g, ok := list(r.cfg.GroupsClaim); ok {
		p.Groups = g
	}
	if perms, ok := list(r.cfg.PermissionsClaim); ok {
		p.Permissions = perms
		p.Known |= FieldPermissions
	}
}

// opaque authenticates an opaque token by introspection; kinds are the
// credential kinds gatehouse accepts under this keyword.
func (r *Remote) opaque(ctx context.Context, kw, token string, kinds ...Kind) (*Principal, error) {
	if r.intro == nil {
		return nil, &Refusal{Keyword: kw, Reason: gatehouse.ReasonCredentialInvalid}
	}
	return r.intro.principal(ctx, kw, token, kinds...)
}

// splitFields splits h on ASCII white space as Python's bytes.split()
// does, which DRF and simplejwt use; it keeps at most three fields, as the
// callers only ask whether there are one, two or more.
func splitFields(h string, buf *[3]string) []string {
	n := 0
	for i := 0; i < len(h) && n < len(buf); {
		for i < len(h) && isSpace(h[i]) {
			i++
		}
		if i == len(h) {
			break
		}
		j := i
		for j < len(h) && !isSpace(h[j]) {
			j++
		}
		buf[n] = h[i:j]
		n++
		i = j
	}
	return buf[:n]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
