package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
)

// appFlags are the flags of createapplication.
type appFlags struct {
	clientID, name, clientType, grantTypes, redirectURIs, owner, scopes string
	skipAuthorization, resourceServer                                   bool
}

func (f *appFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.clientID, "client-id", "", "client_id (generated when empty)")
	fs.StringVar(&f.name, "name", "", "display name")
	fs.StringVar(&f.clientType, "client-type", gatehouse.ClientConfidential, "confidential or public")
	fs.StringVar(&f.grantTypes, "grant-types", "", "comma-separated: authorization-code, password, client-credentials (required)")
	fs.StringVar(&f.redirectURIs, "redirect-uris", "", "space- or comma-separated redirect URIs (required with authorization-code)")
	fs.StringVar(&f.owner, "owner", "", "username of the owner")
	fs.StringVar(&f.scopes, "default-scopes", "", "space-separated scopes granted when a request names none (default: all)")
	fs.BoolVar(&f.skipAuthorization, "skip-authorization", false, "do not ask users for consent")
	fs.BoolVar(&f.resourceServer, "resource-server", false, "may introspect tokens issued to other clients")
}

func splitList(s string) []string {
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
		if desc = strings.TrimSpace(desc); desc == "" {
			desc = name
		}
		o.Scopes = append(o.Scopes, gatehouse.Scope{Name: name, Description: desc})
	}
	if len(o.Scopes) == 0 {
		return o, errors.New("GATEHOUSE_OAUTH_SCOPES: at least one scope is required")
	}
	if c.OAuthAccessTokenLifetime <= 0 || c.OAuthCodeLifetime <= 0 {
		return o, errors.New("OAuth access token and code lifetimes must be positive")
	}
	if c.OAuthCodeLifetime > maxCodeLifetime {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_CODE_LIFETIME must be at most %v: a code is a bearer secret in a URL (RFC 6749 4.1.2 recommends 10 minutes at most)", maxCodeLifetime)
	}
	o.AccessTokenLifetime = c.OAuthAccessTokenLifetime
	o.RefreshTokenLifetime = c.OAuthRefreshTokenLifetime
	o.RefreshFamilyLifetime = c.OAuthRefreshFamilyLifetime
	o.RefreshGracePeriod = c.OAuthRefreshGracePeriod
	o.CodeLifetime = c.OAuthCodeLifetime
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
	if ds := splitList(c.OAuthDefaultScopes); len(ds) > 0 && !slices.Equal(ds, []string{"__all__"}) {
		o.DefaultScopes = ds
		for _, s := range ds {
			if !o.Scopes.Has(s) {
				return o, fmt.Errorf("GATEHOUSE_OAUTH_DEFAULT_SCOPES: %q is not among GATEHOUSE_OAUTH_SCOPES (%s)", s, strings.Join(o.Scopes.Names(), " "))
			}
		}
	}
	o.RedirectSchemes = splitList(c.OAuthRedirectSchemes)
	if len(o.RedirectSchemes) == 0 {
		return o, errors.New("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: at least one scheme is required")
	}
	if err := (oauth.Config{RedirectSchemes: o.RedirectSchemes}).Check(); err != nil {
		return o, fmt.Errorf("GATEHOUSE_OAUTH_ALLOWED_REDIRECT_URI_SCHEMES: %w", err)
	}
	return o, nil
}

func cmdCreateApplication(ctx context.Context, e *env, args []string) error {
	f := e.extra.app
	spec := oauth.ApplicationSpec{ClientID: f.clientID, Name: f.name, ClientType: f.clientType, GrantTypes: splitList(f.grantTypes),
		RedirectURIs: splitList(f.redirectURIs), Owner: f.owner, SkipAuthorization: f.skipAuthorization,
		DefaultScopes: strings.Fields(f.scopes), ResourceServer: f.resourceServer}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	app, plain, err := a.clients.Create(ctx, spec)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "client_id: %s\n", app.ClientID)
	if plain != "" {
		fmt.Fprintf(e.stdout, "client_secret: %s\n", plain)
		fmt.Fprintln(e.stderr, "The client secret is shown only now; gatehouse stores a hash of it.")
	}
	return nil
}

func cmdListApplications(ctx context.Context, e *env, args []string) error {
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	apps, err := a.store.Applications(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tTYPE\tGRANTS\tREDIRECT_URIS\tOWNER\tNAME")
	for _, app := range apps {
		owner := "-"
		if app.UserID != nil {
			owner = fmt.Sprint(*app.UserID)
		}
		uris := strings.Join(app.RedirectURIs, " ")
		if uris == "" {
			uris = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", app.ClientID, app.ClientType, strings.Join(app.GrantTypes, ","), uris, owner, app.Name)
	}
	return tw.Flush()
}

func cmdDeleteApplication(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse deleteapplication CLIENT_ID")
	}
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	if err := a.clients.Delete(ctx, args[0]); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "deleted application %s and its tokens\n", args[0])
	return nil
}

func cmdClearTokens(ctx context.Context, e *env, args []string) error {
	a, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close(e.log)
	n, err := oauth.NewCleaner(a.store, a.oauthCfg, nil, e.log).ClearTokens(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d expired or revoked OAuth rows\n", n)
	return nil
}
