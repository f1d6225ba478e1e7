package site

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// SplitList splits a list setting's value at commas and white space.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// maxCodeLifetime caps GATEHOUSE_OAUTH_CODE_LIFETIME.
const maxCodeLifetime = 10 * time.Minute

// oauthOptions turns the OAuth settings into the server's options.
func (e *env) oauthOptions() (oauth.Config, error) {
	c := e.cfg
	o := oauth.DefaultConfig()
	o.Scopes = nil
	for _, item := range strings.Split(c.OAuthScopes, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, desc, _ := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, " \t\"\\") {
			return o, fmt.Errorf("GATEHOUSE_OAUTH_SCOPES: bad scope name in %q", item)
		}
		if slices.ContainsFunc(o.Scopes, func(s gatehouse.Scope) bool { return s.Name == name }) {
			// The metadata's scopes_supported listed it twice, and which
			// description the consent page shows was the first's.
			return o, fmt.Errorf("GATEHOUSE_OAUTH_SCOPES: the scope %q is listed twice", name)
		}
		if desc = strings.TrimSpace(desc); desc == "" {
			desc = name
		}
		o.Scopes = append(o.Scopes, gatehouse.Scope{Name: name, Description: desc})
	}
	if len(o.Scopes) == 0 {
		return o, errors.New("GATEHOUSE_OAUTH_SCOPES: at least one scope is required")
	}
	if c.OAuthAccessTokenLifetime <= 0 {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_ACCESS_TOKEN_LIFETIME must be positive, not %v", c.OAuthAccessTokenLifetime)
	}
	if c.OAuthCodeLifetime <= 0 {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_CODE_LIFETIME must be positive, not %v", c.OAuthCodeLifetime)
	}
	if c.OAuthCodeLifetime > maxCodeLifetime {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_CODE_LIFETIME must be at most %v: a code is a bearer secret in a URL (RFC 6749 4.1.2 recommends 10 minutes at most)", maxCodeLifetime)
	}
	o.AccessTokenLifetime = c.OAuthAccessTokenLifetime
	o.RefreshTokenLifetime = c.OAuthRefreshTokenLifetime
	o.RefreshFamilyLifetime = c.OAuthRefreshFamilyLifetime
	o.RefreshGracePeriod = c.OAuthRefreshGracePeriod
	o.CodeLifetime = c.OAuthCodeLifetime
	if err := deviceOptions(c, &o); err != nil {
		return o, err
	}
	o.RequirePKCE = c.OAuthRequirePKCE
	o.RequireScopes = c.OAuthRequireScopes
	if c.OAuthKeepRevoked > 0 {
		o.KeepRevoked = c.OAuthKeepRevoked
	}
	o.CleanupInterval = c.OAuthCleanupInterval
	if c.OAuthCleanupBatch > 0 {
		o.CleanupBatch = c.OAuthCleanupBatch
	}
	if !strings.HasPrefix(c.LoginURL, "/") || !strings.HasSuffix(c.LoginURL, "/") || strings.HasPrefix(c.LoginURL, "/o/") {
		return o, errors.New("GATEHOUSE_LOGIN_URL must be a path starting and ending with / outside /o/")
	}
	o.LoginURL = c.LoginURL
	if c.SessionLifetime > 0 {
		o.SessionLifetime = c.SessionLifetime
	}
	o.SecureCookies = c.CookieSecure
	if ds := SplitList(c.OAuthDefaultScopes); len(ds) > 0 && !slices.Equal(ds, []string{"__all__"}) {
		o.DefaultScopes = ds
		for _, s := range ds {
			if !o.Scopes.Has(s) {
				return o, fmt.Errorf("GATEHOUSE_OAUTH_DEFAULT_SCOPES: %q is not among GATEHOUSE_OAUTH_SCOPES (%s)", s, strings.Join(o.Scopes.Names(), " "))
			}
		}
	}
	o.RedirectSchemes = SplitList(c.OAuthRedirectSchemes)
	for i, s := range o.RedirectSchemes {
		if slices.Contains(o.RedirectSchemes[:i], s) {
			return o, fmt.Errorf("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: %q is listed twice", s)
		}
	}
	if len(o.RedirectSchemes) == 0 {
		return o, errors.New("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: at least one scheme is required")
	}
	if err := (oauth.Config{RedirectSchemes: o.RedirectSchemes}).Check(); err != nil {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: %w", err)
	}
	return o, nil
}

// maxDeviceCodeLifetime caps GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME: a user
// code guessed is worth more the longer it waits.
const maxDeviceCodeLifetime = 30 * time.Minute

// deviceOptions reads the device flow's settings into o.
func deviceOptions(c Config, o *oauth.Config) error {
	if c.OAuthDeviceInterval < time.Second || c.OAuthDeviceInterval%time.Second != 0 || c.OAuthDeviceInterval > time.Minute {
		return errors.New("GATEHOUSE_OAUTH_DEVICE_INTERVAL must be a whole number of seconds from 1 to 60")
	}
	if c.OAuthDeviceCodeLifetime <= c.OAuthDeviceInterval || c.OAuthDeviceCodeLifetime > maxDeviceCodeLifetime {
		return fmt.Errorf("GATEHOUSE_OAUTH_DEVICE_CODE_LIFETIME must be longer than GATEHOUSE_OAUTH_DEVICE_INTERVAL and at most %v", maxDeviceCodeLifetime)
	}
	o.DeviceCodeLifetime, o.DeviceInterval = c.OAuthDeviceCodeLifetime, c.OAuthDeviceInterval
	return nil
}
