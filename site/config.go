package site

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/audit"
	"github.com/gatehouse-auth/gatehouse/djangoconf"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"github.com/gatehouse-auth/gatehouse/jwt"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/knox"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/server"
	"github.com/gatehouse-auth/gatehouse/throttle"
)

// Config is every setting of gatehouse. Each is read from its flag, else
// from its GATEHOUSE_* environment variable, else from the configuration
// file, else its default; the table in Settings is the one place they are
// declared (docs/configuration.md is printed from it by `gatehouse
// config`). DefaultConfig and FromEnv give one a Go program can open.
type Config struct {
	ConfigFile      string
	Addr            string
	MountPrefix     string
	Issuer          string
	DatabaseURL     string
	DatabaseWait    time.Duration
	SecretKey       string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	MemoryLimit     string

	PasswordValidation    bool
	PasswordValidators    string
	PasswordMinLength     int
	PasswordSimilarAttrs  string
	PasswordMaxSimilarity float64
	PasswordCommonFile    string
	PasswordHashers       string
	PBKDF2Iterations      int
	BcryptRounds          int
	Argon2Memory          int
	Argon2Time            int
	Argon2Threads         int

	AllowQueryToken bool
	UserList        gatehouse.UserListAccess
	PageSize        int
	AuthCacheTTL    time.Duration
	RequestTimeout  time.Duration
	AllowedHosts    string
	TrustedProxies  string
	CORSOrigins     string
	MaxInFlight     int

	// ForwardAuthPolicy is the policy file of /auth/verify/ ("": not served).
	ForwardAuthPolicy string
	// TemplatesDir replaces the end-user pages' templates ("": built-in).
	TemplatesDir string

	ThrottleRates   string
	ThrottleStore   string
	BackoffAfter    int
	BackoffMax      time.Duration
	LockoutFailures int
	LockoutWindow   time.Duration

	JWTSigningKey      string
	JWTAlgorithm       string
	JWTPrivateKeyFile  string
	JWTPrivateKey      string
	JWTKeyID           string
	JWTVerifyKeyFiles  string
	JWTIssuer          string
	JWTAudience        string
	JWTLeeway          time.Duration
	JWTAccessLifetime  time.Duration
	JWTRefreshLifetime time.Duration
	JWTRotateRefresh   bool
	JWTBlacklistAfter  bool
	JWTUpdateLastLogin bool
	JWTUserIDClaim     string
	JWTTokenTypeClaim  string
	JWTJTIClaim        string
	JWTHeaderTypes     string
	JWTHeaderName      string
	UsernameField      string
	// NewUserKeys gives every user gatehouse makes a random UUID as its
	// Django key (new-user-key uuid; accounts.Deps.NewUserKeys).
	NewUserKeys bool

	OAuthScopes                string
	OAuthDefaultScopes         string
	OAuthRedirectSchemes       string
	OAuthAccessTokenLifetime   time.Duration
	OAuthRefreshTokenLifetime  time.Duration
	OAuthRefreshFamilyLifetime time.Duration
	OAuthRefreshGracePeriod    time.Duration
	OAuthCodeLifetime          time.Duration
	OAuthRequirePKCE           bool
	OAuthRequireScopes         bool
	OAuthKeepRevoked           time.Duration
	OAuthCleanupInterval       time.Duration
	OAuthCleanupBatch          int
	LoginURL                   string
	SessionLifetime            time.Duration
	CookieSecure               bool

	OAuthIntrospectPermissions bool
	AdminClients               string
	OAuthDeviceCodeLifetime    time.Duration
	OAuthDeviceInterval        time.Duration
	JWTGroupsClaim             string
	JWTPermissionsClaim        string

	AuditRetention time.Duration

	KnoxVersion            int
	KnoxHash               string
	KnoxTokenPrefix        string
	KnoxTokenLength        int
	KnoxTokenTTL           time.Duration
	KnoxAutoRefresh        bool
	KnoxAutoRefreshMaxTTL  time.Duration
	KnoxMinRefreshInterval time.Duration

	SigningKeyAlgorithm    string
	SigningKeyRotation     time.Duration
	SigningKeyPublishAhead time.Duration

	OAuthJWTAudience string

	OIDCEnabled         bool
	OIDCIssuer          string
	OIDCIDTokenLifetime time.Duration
	OIDCEmailVerified   bool
	JWTSubjectClaim     bool

	TLSCertFile        string
	TLSKeyFile         string
	TLSReloadInterval  time.Duration
	HSTSMaxAge         time.Duration
	HTTPRedirectAddr   string
	DatabaseCreateDirs bool
	MetricsAddr        string
	MetricsPathOnMain  string
	OTelEndpoint       string
	OTelSampleRatio    float64

	positional []string // arguments that are not flags
	// origin says where each setting read from the configuration file
	// came from ("FILE line N"), by variable name, for error messages.
	origin map[string]string
	// source says where each setting's value came from, by flag name
	// (Source); warnings are Parse's (Warnings). See configfile.go.
	source   map[string]string
	warnings []string
}

// Setting is one row of the settings table: a field of Config with its
// flag name, its meaning and its default.
type Setting struct {
	Name    string // flag name; the variable is GATEHOUSE_ + upper(name with - as _)
	Help    string
	Value   flag.Value // sets and prints the Config field
	Default string
}

// Env is the setting's environment variable (and configuration file name).
func (s Setting) Env() string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
}

// seconds writes a default in seconds, as DOT's *_SECONDS settings are.
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// scopesSetting writes scopes as the oauth-scopes setting reads them.
func scopesSetting(scopes gatehouse.Scopes) string {
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		parts[i] = sc.Name + ":" + sc.Description
	}
	return strings.Join(parts, ",")
}

// Settings lists every setting, its Value bound to c's field. Defaults
// that a package owns (its DefaultConfig, DefaultParams, ...) are read from
// it, not repeated here.
func (c *Config) Settings() []Setting {
	o := oauth.DefaultConfig()
	srv := server.DefaultConfig()
	pw, pol := password.DefaultParams(), password.DefaultPolicy()
	gd := throttle.DefaultGuardConfig()
	kx := knox.DefaultConfig()
	itoa := strconv.Itoa
	return []Setting{
		{"config", "configuration file, TOML with flat keys named as the flags (page-size = 50, addr = \"127.0.0.1:9000\"; a list as a string with commas or an array); an unknown key is an error naming its line. A flag wins over the environment, the environment over the file (gatehouse config shows where each value came from). A file holding secret-key, jwt-signing-key, jwt-private-key or a database-url with a password must be open to its owner alone (chmod 600); NAME-file = \"PATH\" reads one from a file, as the GATEHOUSE_*_FILE variables do. gatehouse django-settings writes one", (*stringValue)(&c.ConfigFile), ""},
		{"addr", "address to listen on", (*addrValue)(&c.Addr), "127.0.0.1:8000"},
		{"issuer", "gatehouse's public URL (https://auth.example.com, with the mount prefix if any), the issuer of the OAuth metadata at /.well-known/oauth-authorization-server; empty: http://ADDR when addr is a loopback address, else no metadata", (*stringValue)(&c.Issuer), ""},
		{"mount-prefix", "the path gatehouse's routes are served under when a reverse proxy (or a Go program embedding gatehouse, with http.StripPrefix) strips it, such as /auth: redirects, form actions, links and cookie paths then carry it. Empty: the root", (*stringValue)(&c.MountPrefix), ""},
		{"database-url", "SQLite file path (or sqlite: URL), or a postgres:// URL", (*stringValue)(&c.DatabaseURL), "gatehouse.db"},
		{"database-wait", "how long serve and every command wait at start for a PostgreSQL server that does not accept connections yet (starting up, shutting down, too many connections, not reachable) or ends their sessions during the start, trying again every 2 s at most and logging each try; a wrong password or database name fails at once (0: no wait)", (*durationValue)(&c.DatabaseWait), "30s"},
		{"secret-key", "server secret; derives the key that seals stored DRF keys and the default HS256 JWT key. Generated beside the SQLite file when unset; required for PostgreSQL", (*stringValue)(&c.SecretKey), ""},
		{"log-level", "debug, info, warn or error", choiceValue{&c.LogLevel, []string{"debug", "info", "warn", "error"}}, "info"},
		{"log-format", "json or text", choiceValue{&c.LogFormat, []string{"json", "text"}}, "json"},
		{"shutdown-timeout", "how long in-flight requests may take to finish on SIGINT/SIGTERM", (*durationValue)(&c.ShutdownTimeout), "15s"},
		{"memory-limit", "soft memory limit of serve (Go's GOMEMLIMIT): auto (64 MiB plus one argon2 hash per CPU plus the live heap beyond 8 MiB besides the hashes, raised for larger stored hashes, and GOGC 400 while serving, 50 while password hashes run, unless GOGC is set; GOMEMLIMIT wins when set), off, or a size such as 512MiB", (*stringValue)(&c.MemoryLimit), "auto"},

		{"password-validation", "apply the password validators (length, common, numeric, similarity) when a password is set", (*boolValue)(&c.PasswordValidation), "true"},
		{"password-validators", "AUTH_PASSWORD_VALIDATORS: the validators that apply, in the order of their messages: similarity (UserAttributeSimilarityValidator), length (MinimumLengthValidator), common (CommonPasswordValidator), numeric (NumericPasswordValidator); none for none", (*stringValue)(&c.PasswordValidators), strings.Join(password.Validators(), ",")},
		{"password-min-length", "minimum password length (MinimumLengthValidator's min_length)", (*intValue)(&c.PasswordMinLength), itoa(pol.MinLength)},
		{"password-similarity-attributes", "UserAttributeSimilarityValidator's user_attributes: the user fields a password must not resemble, in order, among username, first_name, last_name and email", (*stringValue)(&c.PasswordSimilarAttrs), strings.Join(password.SimilarityAttrs(), ",")},
		{"password-max-similarity", "UserAttributeSimilarityValidator's max_similarity, 0.1 to 1", (*floatValue)(&c.PasswordMaxSimilarity), strconv.FormatFloat(pol.MaxSimilarity, 'g', -1, 64)},
		{"password-common-file", "CommonPasswordValidator's password_list_path: a list of common passwords (gzip or text, one a line, lower case) instead of Django's 20,000", (*stringValue)(&c.PasswordCommonFile), ""},
		{"password-hashers", "PASSWORD_HASHERS by algorithm: the first (argon2, pbkdf2_sha256 or bcrypt_sha256) writes new hashes and replaces the others at login; stored hashes of algorithms not listed do not verify, as in Django. Known: " + strings.Join(password.Algorithms(), ", "), (*stringValue)(&c.PasswordHashers), strings.Join(password.Algorithms(), ",")},
		{"pbkdf2-iterations", "iterations of new pbkdf2_sha256 hashes, at least " + itoa(password.MinPBKDF2Iterations) + " (OWASP)", (*intValue)(&c.PBKDF2Iterations), itoa(password.DefaultPBKDF2Iterations)},
		{"bcrypt-rounds", "cost of new bcrypt_sha256 hashes, " + itoa(password.MinBcryptRounds) + " to 16", (*intValue)(&c.BcryptRounds), itoa(password.DefaultBcryptRounds)},
		{"argon2-memory", "argon2id memory for new hashes, KiB", (*intValue)(&c.Argon2Memory), itoa(int(pw.Memory))},
		{"argon2-time", "argon2id passes for new hashes", (*intValue)(&c.Argon2Time), itoa(int(pw.Time))},
		{"argon2-threads", "argon2id parallelism for new hashes", (*intValue)(&c.Argon2Threads), itoa(int(pw.Threads))},

		{"request-timeout", "longest a request may take, database calls and the wait for a password-hash slot included; past it the answer is 503 with Retry-After (0: no bound)", (*durationValue)(&c.RequestTimeout), djangoconf.FormatDuration(srv.RequestTimeout)},
		{"max-in-flight", "requests served at once; more are answered 503 with Retry-After at once (0: no bound)", (*intValue)(&c.MaxInFlight), itoa(srv.MaxInFlight)},
		{"allowed-hosts", "host names requests may name, comma-separated: exact names, .example.com for a domain and its subdomains, or * (Django's ALLOWED_HOSTS); others are answered 400", (*stringValue)(&c.AllowedHosts), strings.Join(srv.AllowedHosts, ",")},
		{"trusted-proxies", "comma-separated IP addresses or CIDR prefixes of the reverse proxies whose X-Forwarded-Proto, -Host and -For are believed", (*stringValue)(&c.TrustedProxies), ""},
		{"cors-allowed-origins", "browser origins (https://app.example.com, comma-separated) whose pages may call the API views (DRF's, simplejwt's and the admin API: /api/..., /access-token/..., /api-token-auth/, /sign_up/) and read the public OAuth documents, as django-cors-headers' CORS_ALLOWED_ORIGINS does; the origins OAuth applications list may too; cookies are never allowed cross-origin", (*stringValue)(&c.CORSOrigins), ""},
		{"throttle-rates", "DRF's DEFAULT_THROTTLE_RATES as scope=N/period pairs, comma-separated (periods s, m, h, d; none: no limit). Scopes: anon and user (every DRF and simplejwt view, per address or per user), login (the four login paths, per address), sign_up, token (/o/token/, /o/revoke_token/, /o/introspect/, per address); scopes not named keep their default", (*stringValue)(&c.ThrottleRates), throttle.DefaultRates().String()},
		{"throttle-store", "where throttle and failed-login counters live: auto (in memory with SQLite, in the database with PostgreSQL, so replicas share them), memory, or database", (*stringValue)(&c.ThrottleStore), "auto"},
		{"backoff-after", "failed logins (or client authentications) per account and source before each further attempt waits, 1 s doubling", (*intValue)(&c.BackoffAfter), itoa(gd.FreeFailures)},
		{"backoff-max", "longest wait between failed attempts from one source on one account", (*durationValue)(&c.BackoffMax), djangoconf.FormatDuration(gd.MaxDelay)},
		{"lockout-failures", "failed logins per account within lockout-window, from all sources, after which the account takes attempts only from sources it logged in from before (ASVS 2.2.1: at most 100 an hour)", (*intValue)(&c.LockoutFailures), itoa(gd.AccountFailures)},
		{"lockout-window", "the window lockout-failures counts in", (*durationValue)(&c.LockoutWindow), djangoconf.FormatDuration(gd.Window)},
		{"allow-query-token", "accept OAuth access tokens in ?access_token= (DOT does; leaks tokens into logs)", (*boolValue)(&c.AllowQueryToken), "false"},
		{"page-size", "REST_FRAMEWORK's PAGE_SIZE: users on one page of GET /api/users/", (*intValue)(&c.PageSize), itoa(srv.PageSize)},
		{"user-list", "who may list users on GET /api/users/: all (any authenticated user sees every user and e-mail address, as the Django project), staff (staff users only; others get 403), or self (each user sees only their own record)", (*userListValue)(&c.UserList), string(srv.UserList)},
		{"auth-cache-ttl", "how long a replica may cache token and user lookups; revocations by other replicas take up to this long", (*durationValue)(&c.AuthCacheTTL), "5s"},
		{"templates-dir", "directory of html/template files replacing the end-user pages (login.html, consent.html, error.html, device.html, device-done.html, logout.html, list.html; an optional base.html shared by all) and of a static/ subdirectory served at /static/branding/ (docs/branding.md). Read and checked at start only: a template that does not parse or names a field its page lacks refuses the start. Empty: the built-in pages", (*stringValue)(&c.TemplatesDir), ""},
		{"forward-auth-policy", "policy file of the forward-auth endpoint /auth/verify/ for reverse proxies (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth, Envoy ext_authz): routes to requirements, default deny (docs/protect-your-api.md). Unset: the endpoint is not served", (*stringValue)(&c.ForwardAuthPolicy), ""},

		{"jwt-signing-key", "HMAC key (HS256, HS384, HS512) for simplejwt tokens, at least 32 bytes (a Django project's SECRET_KEY keeps its tokens valid); defaults to the secret key", (*stringValue)(&c.JWTSigningKey), ""},
		{"jwt-algorithm", "ALGORITHM: HS256, HS384 or HS512 (with jwt-signing-key), RS256, ES256 or EdDSA (with a private key)", (*stringValue)(&c.JWTAlgorithm), "HS256"},
		{"jwt-private-key-file", "PEM private key for RS256/ES256/EdDSA", (*stringValue)(&c.JWTPrivateKeyFile), ""},
		{"jwt-private-key", "the PEM private key itself, instead of jwt-private-key-file (simplejwt's SIGNING_KEY; in the configuration file as a quoted value with \\n)", (*stringValue)(&c.JWTPrivateKey), ""},
		{"jwt-key-id", "kid of the signing key (asymmetric algorithms)", (*stringValue)(&c.JWTKeyID), ""},
		{"jwt-verify-key-files", "comma-separated kid=path.pem of older public keys still accepted (rotation)", (*stringValue)(&c.JWTVerifyKeyFiles), ""},
		{"jwt-issuer", "iss claim to mint and require (empty: none)", (*stringValue)(&c.JWTIssuer), ""},
		{"jwt-audience", "aud claim to mint and require (empty: none)", (*stringValue)(&c.JWTAudience), ""},
		{"jwt-leeway", "clock leeway for exp/nbf, at most 60s", (*durationValue)(&c.JWTLeeway), "0s"},
		{"jwt-access-lifetime", "ACCESS_TOKEN_LIFETIME", (*durationValue)(&c.JWTAccessLifetime), djangoconf.FormatDuration(jwt.DefaultAccessLifetime)},
		{"jwt-refresh-lifetime", "REFRESH_TOKEN_LIFETIME", (*durationValue)(&c.JWTRefreshLifetime), djangoconf.FormatDuration(jwt.DefaultRefreshLifetime)},
		{"jwt-rotate-refresh-tokens", "ROTATE_REFRESH_TOKENS: refresh also answers a new refresh token", (*boolValue)(&c.JWTRotateRefresh), "false"},
		{"jwt-blacklist-after-rotation", "BLACKLIST_AFTER_ROTATION: a rotated refresh token stops working", (*boolValue)(&c.JWTBlacklistAfter), "true"},
		{"jwt-update-last-login", "UPDATE_LAST_LOGIN: JWT logins set last_login", (*boolValue)(&c.JWTUpdateLastLogin), "false"},
		{"username-field", "the user model's USERNAME_FIELD: the field simplejwt's /access-token/ reads the login name from (e.g. email for a custom user model; /api-token-auth/ and the OAuth password grant read username, as DRF's and DOT's do)", (*stringValue)(&c.UsernameField), "username"},
		{"new-user-key", "none, or uuid: every user gatehouse makes gets a random UUID as its Django primary key, which names it on the wire (/api/me/'s and /api/users/' id, simplejwt's user_id, OpenID Connect's sub) as a project whose user model is keyed by UUIDs named its users, as the users imported from it are; none: new users are named by their integer id", (*userKeyValue)(&c.NewUserKeys), "none"},
		{"jwt-user-id-claim", "USER_ID_CLAIM: the claim holding the user's id", (*stringValue)(&c.JWTUserIDClaim), "user_id"},
		{"jwt-token-type-claim", "TOKEN_TYPE_CLAIM: the claim holding access or refresh", (*stringValue)(&c.JWTTokenTypeClaim), "token_type"},
		{"jwt-jti-claim", "JTI_CLAIM: the claim holding the token's id", (*stringValue)(&c.JWTJTIClaim), "jti"},
		{"jwt-auth-header-types", "AUTH_HEADER_TYPES: the keywords before a simplejwt token, comma-separated, compared exactly", (*stringValue)(&c.JWTHeaderTypes), "Bearer"},
		{"jwt-auth-header-name", "AUTH_HEADER_NAME: the request header simplejwt tokens come in (a header name, or Django's HTTP_X_NAME form); the other schemes read Authorization", (*stringValue)(&c.JWTHeaderName), "Authorization"},

		{"oauth-scopes", "OAuth2 SCOPES in order, as name:description pairs separated by commas", (*stringValue)(&c.OAuthScopes), scopesSetting(o.Scopes)},
		{"oauth-default-scopes", "DEFAULT_SCOPES: the scopes granted when a request names none and its application has no default scopes, space- or comma-separated; __all__ for every scope", (*stringValue)(&c.OAuthDefaultScopes), "__all__"},
		{"oauth-allowed-redirect-uri-schemes", "ALLOWED_REDIRECT_URI_SCHEMES: the schemes of redirect URIs, comma-separated (a native app's private-use scheme such as com.example.app)", (*stringValue)(&c.OAuthRedirectSchemes), "http,https"},
		{"oauth-access-token-lifetime", "ACCESS_TOKEN_EXPIRE_SECONDS (a duration or seconds)", (*durationValue)(&c.OAuthAccessTokenLifetime), seconds(o.AccessTokenLifetime)},
		{"oauth-refresh-token-lifetime", "REFRESH_TOKEN_EXPIRE_SECONDS of each refresh token (0: never expires)", (*durationValue)(&c.OAuthRefreshTokenLifetime), djangoconf.FormatDuration(o.RefreshTokenLifetime)},
		{"oauth-refresh-family-lifetime", "absolute lifetime of a chain of rotated refresh tokens from the first grant (0: unbounded)", (*durationValue)(&c.OAuthRefreshFamilyLifetime), djangoconf.FormatDuration(o.RefreshFamilyLifetime)},
		{"oauth-refresh-grace-period", "REFRESH_TOKEN_GRACE_PERIOD_SECONDS: a rotated refresh token still works this long instead of revoking its family", (*durationValue)(&c.OAuthRefreshGracePeriod), djangoconf.FormatDuration(o.RefreshGracePeriod)},
		{"oauth-code-lifetime", "AUTHORIZATION_CODE_EXPIRE_SECONDS", (*durationValue)(&c.OAuthCodeLifetime), seconds(o.CodeLifetime)},
		{"oauth-require-pkce", "require PKCE (S256) from confidential clients too; public clients always need it", (*boolValue)(&c.OAuthRequirePKCE), strconv.FormatBool(o.RequirePKCE)},
		{"oauth-require-scopes", "on /api/, OAuth tokens need the read scope for safe methods and write for the others (DOT's TokenHasReadWriteScope)", (*boolValue)(&c.OAuthRequireScopes), strconv.FormatBool(o.RequireScopes)},
		{"oauth-keep-revoked", "how long rotated refresh tokens are kept to detect replays before cleanup", (*durationValue)(&c.OAuthKeepRevoked), djangoconf.FormatDuration(o.KeepRevoked)},
		{"oauth-cleanup-interval", "how often the server removes expired OAuth rows in the background (0: never; see cleartokens)", (*durationValue)(&c.OAuthCleanupInterval), djangoconf.FormatDuration(o.CleanupInterval)},
		{"oauth-cleanup-batch", "rows removed per cleanup statement", (*intValue)(&c.OAuthCleanupBatch), itoa(o.CleanupBatch)},
		{"login-url", "path of the browser login page used by /o/authorize/", (*stringValue)(&c.LoginURL), o.LoginURL},
		{"session-lifetime", "how long a browser login lasts", (*durationValue)(&c.SessionLifetime), djangoconf.FormatDuration(o.SessionLifetime)},
		{"cookie-secure", "mark session and CSRF cookies Secure (enable behind TLS)", (*boolValue)(&c.CookieSecure), strconv.FormatBool(o.SecureCookies)},

		{"oauth-introspect-permissions", "add the token's user's groups and permissions (app_label.codename) to /o/introspect/ answers as the members groups and permissions, for resource servers that check has_perm (DOT sends neither)", (*boolValue)(&c.OAuthIntrospectPermissions), strconv.FormatBool(o.IntrospectPermissions)},
		{"admin-clients", "OAuth client_ids, comma-separated, that may be granted the admin scope (the admin API /api/admin/) when they ask for it by name; any other client asking gets invalid_scope", (*stringValue)(&c.AdminClients), ""},
		{"oauth-device-code-lifetime", "how long a device code of the device flow (/o/device-authorization/, RFC 8628 expires_in) waits for the user", (*durationValue)(&c.OAuthDeviceCodeLifetime), seconds(o.DeviceCodeLifetime)},
		{"oauth-device-interval", "the least time between two polls of a device (RFC 8628 interval), in whole seconds", (*durationValue)(&c.OAuthDeviceInterval), seconds(o.DeviceInterval)},
		{"jwt-groups-claim", "name of a simplejwt access-token claim listing the user's group names, as a token serializer of the Django project added (empty: none)", (*stringValue)(&c.JWTGroupsClaim), ""},
		{"jwt-permissions-claim", "name of a simplejwt access-token claim listing the user's permissions as app_label.codename, all of them for an active superuser (empty: none)", (*stringValue)(&c.JWTPermissionsClaim), ""},

		{"audit-retention", "how long audit log rows are kept; older ones are deleted by the background cleanup (0: kept forever)", (*durationValue)(&c.AuditRetention), djangoconf.FormatDuration(audit.DefaultConfig().Retention)},

		{"knox-version", "release line of django-rest-knox the loaded knox tokens were made by: 5 (5.0 and later) or 4 (3.0 to 4.2, salted tokens of 4.1 and older included); their digests and token_key differ", (*intValue)(&c.KnoxVersion), itoa(kx.Version)},
		{"knox-hash", "REST_KNOX SECURE_HASH_ALGORITHM, as in the Django settings (hashlib.sha512, cryptography.hazmat.primitives.hashes.SHA512) or bare: " + strings.Join(knox.Hashes(), ", "), (*stringValue)(&c.KnoxHash), kx.Hash},
		{"knox-token-prefix", "REST_KNOX TOKEN_PREFIX (knox 5), at most 10 characters", (*stringValue)(&c.KnoxTokenPrefix), kx.Prefix},
		{"knox-token-length", "REST_KNOX AUTH_TOKEN_CHARACTER_LENGTH: hex characters after the prefix; a Token value of that shape is looked up as a knox token", (*intValue)(&c.KnoxTokenLength), itoa(kx.Length)},
		{"knox-auto-refresh", "REST_KNOX AUTO_REFRESH: each use of a knox token with an expiry moves it to knox-token-ttl from then", (*boolValue)(&c.KnoxAutoRefresh), strconv.FormatBool(kx.AutoRefresh)},
		{"knox-token-ttl", "REST_KNOX TOKEN_TTL, the expiry knox-auto-refresh gives", (*durationValue)(&c.KnoxTokenTTL), djangoconf.FormatDuration(kx.TTL)},
		{"knox-auto-refresh-max-ttl", "REST_KNOX AUTO_REFRESH_MAX_TTL: auto refresh never moves an expiry past this long after the token was created (0: no bound)", (*durationValue)(&c.KnoxAutoRefreshMaxTTL), djangoconf.FormatDuration(kx.MaxTTL)},
		{"knox-min-refresh-interval", "REST_KNOX MIN_REFRESH_INTERVAL (a duration or seconds): an auto-refreshed expiry is written only when it moves by more than this", (*durationValue)(&c.KnoxMinRefreshInterval), seconds(kx.MinRefreshInterval)},

		{"signing-key-algorithm", "algorithm of new signing keys of id_tokens and JWT access tokens (kept in the database, shared by every replica; not the simplejwt key): RS256, ES256 or EdDSA. A change takes effect at the next rotation (gatehouse keys rotate)", (*stringValue)(&c.SigningKeyAlgorithm), keys.RS256},
		{"signing-key-rotation", "how often a new signing key replaces the current one (one replica rotates; 0: only gatehouse keys rotate)", (*durationValue)(&c.SigningKeyRotation), "720h"},
		{"signing-key-publish-ahead", "how long a new signing key is in the JWKS before it signs: at least the JWKS max-age (5m) plus 1m, the interval at which replicas reread the keys. A key that stopped signing stays in the JWKS for the OAuth access token lifetime plus 1h", (*durationValue)(&c.SigningKeyPublishAhead), djangoconf.FormatDuration(keys.DefaultPublishAhead)},

		{"oauth-jwt-access-token-audience", "aud of the RFC 9068 JWT access tokens of applications created with --access-token-format jwt: the API they are for (empty: the issuer)", (*stringValue)(&c.OAuthJWTAudience), ""},
		{"oidc-enabled", "be an OpenID Connect provider (DOT's OIDC_ENABLED): the openid, profile and email scopes, id_tokens, userinfo, discovery at /.well-known/openid-configuration, RP-initiated logout. Needs an issuer (set, or the loopback default)", (*boolValue)(&c.OIDCEnabled), "true"},
		{"oidc-issuer", "the iss of id_tokens and the issuer of the OpenID discovery document: empty for the issuer setting; issuer + /o (https://auth.example.com/o) keeps Django OAuth Toolkit's, its site's URL and /o (OIDC_ISS_ENDPOINT), so that relying parties configured with it and the id_tokens it signed keep verifying (discovery is at /o/.well-known/openid-configuration too). No other value", (*stringValue)(&c.OIDCIssuer), ""},
		{"oidc-id-token-lifetime", "how long an id_token is valid (DOT's ID_TOKEN_EXPIRE_SECONDS, whose default is 10h)", (*durationValue)(&c.OIDCIDTokenLifetime), "1h"},
		{"oidc-email-verified", "assert email_verified: true in id_tokens and userinfo. Django does not record whether an address was verified, so the claim is left out unless sign-up verifies emails", (*boolValue)(&c.OIDCEmailVerified), "false"},
		{"jwt-subject-claim", "also write the user id as a string in a sub claim of simplejwt tokens, after the user id claim, for verifiers that read the standard subject (off: tokens are simplejwt's byte for byte); refused with jwt-user-id-claim sub", (*boolValue)(&c.JWTSubjectClaim), "false"},

		{"tls-cert-file", "PEM certificate (chain) to serve HTTPS with, HTTP/2 and TLS 1.2 or later, on addr; with tls-key-file (both or neither). Empty: plain HTTP, for a TLS proxy in front", (*stringValue)(&c.TLSCertFile), ""},
		{"tls-key-file", "PEM private key of tls-cert-file", (*stringValue)(&c.TLSKeyFile), ""},
		{"tls-reload-interval", "how often the TLS certificate and key files are checked for a change and reloaded (SIGHUP reloads them at once; 0: on SIGHUP only)", (*durationValue)(&c.TLSReloadInterval), "5s"},
		{"hsts-max-age", "max-age of the Strict-Transport-Security header on responses served over TLS (0: no header)", (*durationValue)(&c.HSTSMaxAge), "8760h"},
		{"http-redirect-addr", "with TLS, a second address to listen on with plain HTTP, answering every request with a redirect to https (empty: none)", (*stringValue)(&c.HTTPRedirectAddr), ""},
		{"database-create-dirs", "create the missing parent directories of the SQLite database (mode 0700); without it a missing directory is an error, and only the database file (and its secret file) are created", (*boolValue)(&c.DatabaseCreateDirs), "false"},
		{"metrics-addr", "address of a separate listener serving the Prometheus metrics at /metrics, such as 127.0.0.1:9090 (recommended: a loopback or private address the scraper reaches and clients do not). Empty: no listener. Metrics are off unless this or metrics-path-on-main is set", (*stringValue)(&c.MetricsAddr), ""},
		{"metrics-path-on-main", "also serve the Prometheus metrics on the main listener at this path, such as /metrics, to every client that reaches it (block it at the proxy). Empty: not on the main listener", (*stringValue)(&c.MetricsPathOnMain), ""},
		{"otel-endpoint", "base URL of an OpenTelemetry collector receiving OTLP/HTTP, such as http://127.0.0.1:4318: one trace span per request is sent to its /v1/traces (the OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and TLS variables apply; OTEL_SERVICE_NAME names the service). Needs a binary built with -tags otel. Empty: no tracing", (*stringValue)(&c.OTelEndpoint), ""},
		{"otel-sample-ratio", "share of the traces gatehouse starts that are recorded, 0 to 1; a request carrying a traceparent follows its caller's decision", (*floatValue)(&c.OTelSampleRatio), "1"},
	}
}

// Parse registers every setting on fs, parses args, and fills what no flag
// set from the environment, then from the configuration file (--config or
// GATEHOUSE_CONFIG), then the defaults. The arguments that are not flags
// are kept (Args). A refusal names the flag, variable or file line.
func (c *Config) Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	sets := c.Settings()
	for _, s := range sets {
		if err := s.Value.Set(s.Default); err != nil {
			return fmt.Errorf("default of %s: %w", s.Name, err)
		}
		fs.Var(s.Value, s.Name, s.Help+" (env "+s.Env()+")")
	}
	// Flags may come before or after positional arguments.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	c.positional = positional
	c.source = map[string]string{}
	fs.Visit(func(f *flag.Flag) { c.source[f.Name] = "flag --" + f.Name })
	for _, s := range sets {
		if _, flagged := c.source[s.Name]; flagged {
			continue
		}
		v, from := getenv(s.Env()), s.Env()
		if slices.Contains(fileSecrets, s.Name) {
			fv, name, ok, err := fromSecretFile(s, getenv)
			if err != nil {
				return err
			}
			if ok {
				v, from = fv, name
			}
		}
		if v != "" {
			if err := s.Value.Set(v); err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			c.source[s.Name] = "env " + from
		}
	}
	if c.ConfigFile == "" {
		return nil
	}
	if err := c.readConfigFile(c.ConfigFile, sets, func(s Setting) bool { _, set := c.source[s.Name]; return set }); err != nil {
		return fmt.Errorf("GATEHOUSE_CONFIG: %w", err)
	}
	return nil
}

// secretSettings are the settings whose values are secrets: a
// configuration file holding one must be private to its owner.
var secretSettings = []string{"GATEHOUSE_SECRET_KEY", "GATEHOUSE_JWT_SIGNING_KEY", "GATEHOUSE_JWT_PRIVATE_KEY"}

// readFile reads the configuration file at path: GATEHOUSE_NAME=value
// lines, # comments and blank lines. A name that is unknown, repeated or
// GATEHOUSE_CONFIG itself, a line that is not NAME=value, and a value its
// setting refuses are errors naming the file and line. Settings for which
// overridden reports true (a flag or the environment set them) keep their
// value, but their lines are checked all the same.
func (c *Config) readFile(path string, sets []Setting, overridden func(Setting) bool) error {
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return err
	}
	byEnv := map[string]Setting{}
	for _, s := range sets {
		byEnv[s.Env()] = s
	}
	seen := map[string]int{}
	c.origin = map[string]string{}
	var secrets []string
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s line %d", path, n)
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return fmt.Errorf("%s: want GATEHOUSE_NAME=value", where)
		}
		s, known := byEnv[name]
		switch {
		case name == "GATEHOUSE_CONFIG":
			return fmt.Errorf("%s: GATEHOUSE_CONFIG cannot be set in a configuration file", where)
		case !known:
			return fmt.Errorf("%s: unknown setting %q (gatehouse config lists them)", where, name)
		case seen[name] > 0:
			return fmt.Errorf("%s: %s is set again (first on line %d)", where, name, seen[name])
		}
		seen[name] = n
		if strings.HasPrefix(value, `"`) {
			v, err := strconv.Unquote(value)
			if err != nil {
				return fmt.Errorf("%s: %s: a value starting with \" must be one quoted string with backslash escapes", where, name)
			}
			value = v
		}
		if slices.Contains(secretSettings, name) || (name == "GATEHOUSE_DATABASE_URL" && hasPassword(value)) {
			secrets = append(secrets, name)
		}
		target := s.Value
		if overridden(s) {
			target = scratchValue(s.Name) // checked, then dropped
		} else {
			c.origin[name] = where
			c.source[s.Name] = where
		}
		if err := target.Set(value); err != nil {
			return fmt.Errorf("%s: %s: %w", where, name, err)
		}
	}
	if len(secrets) > 0 {
		return checkPrivate(path, secrets)
	}
	return nil
}

// scratchValue is a fresh value of the setting called name, for checking a
// value that is not used.
func scratchValue(name string) flag.Value {
	var scratch Config
	for _, s := range scratch.Settings() {
		if s.Name == name {
			return s.Value
		}
	}
	return nil
}

// checkPrivate refuses a file holding secrets that its group or others
// may read or change.
func checkPrivate(path string, secrets []string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s holds %s but its mode is %04o, open to its group or others: "+
			"run chmod 600 %s (and keep it owned by the user gatehouse runs as)", path, strings.Join(secrets, " and "), perm, path)
	}
	return nil
}

// Explain adds, to an error naming a setting that came from the
// configuration file, the file and line it was read from.
func (c *Config) Explain(err error) error {
	if err == nil || len(c.origin) == 0 {
		return err
	}
	for _, name := range settingName.FindAllString(err.Error(), -1) {
		if where, ok := c.origin[name]; ok {
			return fmt.Errorf("%w (%s is set in %s)", err, name, where)
		}
	}
	return err
}

// Args are the arguments Parse found that are not flags.
func (c *Config) Args() []string { return c.positional }

// Kind is the type of value the setting takes: "string", "bool", "int",
// "float" or "duration" (a Go duration, or whole seconds).
func (s Setting) Kind() string {
	switch s.Value.(type) {
	case *boolValue:
		return "bool"
	case *intValue:
		return "int"
	case *floatValue:
		return "float"
	case *durationValue:
		return "duration"
	}
	return "string"
}

var settingName = regexp.MustCompile(`GATEHOUSE_[A-Z0-9_]+`)

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

// choiceValue is a string setting that takes one of choices (any case).
type choiceValue struct {
	p       *string
	choices []string
}

func (v choiceValue) String() string { return *v.p }
func (v choiceValue) Set(s string) error {
	for _, c := range v.choices {
		if strings.EqualFold(s, c) {
			*v.p = c
			return nil
		}
	}
	return fmt.Errorf("want %s, got %q", strings.Join(v.choices, ", "), s)
}

// addrValue is a listening address: never empty, which would listen on
// every interface at a random port.
type addrValue string

func (v *addrValue) String() string { return string(*v) }
func (v *addrValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("an address such as 127.0.0.1:8000 (empty would listen on every interface at a random port)")
	}
	*v = addrValue(s)
	return nil
}

type boolValue bool

func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, got %q", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a whole number, 0 or more, got %q", s)
	}
	*v = intValue(n)
	return nil
}

type userListValue gatehouse.UserListAccess

func (v *userListValue) String() string { return string(*v) }
func (v *userListValue) Set(s string) error {
	a, err := gatehouse.ParseUserListAccess(s)
	if err != nil {
		return err
	}
	*v = userListValue(a)
	return nil
}

// userKeyValue is new-user-key: none or uuid.
type userKeyValue bool

func (v *userKeyValue) String() string {
	if *v {
		return "uuid"
	}
	return "none"
}

func (v *userKeyValue) Set(s string) error {
	switch s {
	case "none":
		*v = false
	case "uuid":
		*v = true
	default:
		return fmt.Errorf("want none or uuid, got %q", s)
	}
	return nil
}

type floatValue float64

func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("want a number, 0 or more, got %q", s)
	}
	*v = floatValue(f)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		// A whole number is seconds; one beyond a Duration would wrap around.
		if n, err2 := strconv.ParseInt(s, 10, 64); err2 == nil && n <= math.MaxInt64/int64(time.Second) && n >= math.MinInt64/int64(time.Second) {
			d = time.Duration(n) * time.Second
		} else {
			return fmt.Errorf("want a duration such as 30s or 10m, got %q", s)
		}
	}
	if d < 0 {
		return fmt.Errorf("want a duration of 0 or more, got %q", s)
	}
	*v = durationValue(d)
	return nil
}
