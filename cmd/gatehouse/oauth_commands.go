package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/oauth"
	"github.com/gatehouse-auth/gatehouse/site"
)

// appFlags are the flags of createapplication and updateapplication.
type appFlags struct {
	clientID, name, clientType, grantTypes, redirectURIs, owner, scopes string
	postLogoutURIs, tokenFormat                                         string
	skipAuthorization, resourceServer                                   bool
	origins                                                             setString
	// applications update: each flag given changes its field.
	newName, newRedirectURIs, newLogoutURIs, newScopes, newFormat setString
	newSkip                                                       setString
}

// setString is a string flag that tells whether it was given, so that
// updateapplication --allowed-origins "" clears and no flag keeps.
type setString struct {
	v   string
	set bool
}

func (s *setString) String() string     { return s.v }
func (s *setString) Set(v string) error { s.v, s.set = v, true; return nil }

const originsUsage = "space- or comma-separated browser origins (scheme://host[:port]) that may call /o/token/, /o/revoke_token/ and /o/introspect/ as this client (CORS)"

func (f *appFlags) registerUpdate(fs *flag.FlagSet) {
	fs.Var(&f.origins, "allowed-origins", originsUsage+`; "" removes them all`)
	fs.Var(&f.newName, "name", "display name")
	fs.Var(&f.newRedirectURIs, "redirect-uris", "space- or comma-separated redirect URIs (replace the registered ones)")
	fs.Var(&f.newLogoutURIs, "post-logout-redirect-uris", `space- or comma-separated URIs OpenID Connect logout may return to; "" removes them`)
	fs.Var(&f.newScopes, "default-scopes", `space-separated scopes granted when a request names none; "" for every scope`)
	fs.Var(&f.newFormat, "access-token-format", `"" (opaque) or jwt (RFC 9068)`)
	fs.Var(&f.newSkip, "skip-authorization", "true: do not ask users for consent; false: ask")
}

// change is the ApplicationChange the update flags given describe.
func (f *appFlags) change() (oauth.ApplicationChange, error) {
	var ch oauth.ApplicationChange
	list := func(v setString, split func(string) []string) *[]string {
		if !v.set {
			return nil
		}
		l := split(v.v)
		return &l
	}
	if f.newName.set {
		ch.Name = &f.newName.v
	}
	if f.newFormat.set {
		ch.TokenFormat = &f.newFormat.v
	}
	if f.newSkip.set {
		b, err := strconv.ParseBool(f.newSkip.v)
		if err != nil {
			return ch, usagef("--skip-authorization: want true or false, not %q", f.newSkip.v)
		}
		ch.SkipAuthorization = &b
	}
	ch.RedirectURIs, ch.PostLogoutRedirectURIs = list(f.newRedirectURIs, site.SplitList), list(f.newLogoutURIs, site.SplitList)
	ch.DefaultScopes, ch.AllowedOrigins = list(f.newScopes, strings.Fields), list(f.origins, site.SplitList)
	return ch, nil
}

func (f *appFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.clientID, "client-id", "", "client_id (generated when empty)")
	fs.StringVar(&f.name, "name", "", "display name")
	fs.StringVar(&f.clientType, "client-type", gatehouse.ClientConfidential, "confidential or public")
	fs.StringVar(&f.grantTypes, "grant-types", "", "comma-separated: authorization-code, password, client-credentials, "+gatehouse.GrantDeviceCode+" (required)")
	fs.StringVar(&f.redirectURIs, "redirect-uris", "", "space- or comma-separated redirect URIs (required with authorization-code)")
	fs.StringVar(&f.owner, "owner", "", "username of the owner")
	fs.StringVar(&f.scopes, "default-scopes", "", "space-separated scopes granted when a request names none (default: all)")
	fs.BoolVar(&f.skipAuthorization, "skip-authorization", false, "do not ask users for consent")
	fs.BoolVar(&f.resourceServer, "resource-server", false, "may introspect tokens issued to other clients")
	fs.StringVar(&f.postLogoutURIs, "post-logout-redirect-uris", "", "space- or comma-separated URIs OpenID Connect logout may return to")
	fs.StringVar(&f.tokenFormat, "access-token-format", "", `access tokens: "" (opaque, as DOT) or jwt (RFC 9068, signed with the signing keys)`)
	fs.Var(&f.origins, "allowed-origins", originsUsage)
}

func cmdCreateApplication(ctx context.Context, e *env, args []string) error {
	f := e.extra.app
	spec := oauth.ApplicationSpec{ClientID: f.clientID, Name: f.name, ClientType: f.clientType, GrantTypes: site.SplitList(f.grantTypes),
		RedirectURIs: site.SplitList(f.redirectURIs), Owner: f.owner, SkipAuthorization: f.skipAuthorization,
		DefaultScopes: strings.Fields(f.scopes), ResourceServer: f.resourceServer, PostLogoutRedirectURIs: site.SplitList(f.postLogoutURIs), TokenFormat: f.tokenFormat,
		AllowedOrigins: site.SplitList(f.origins.v)}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	app, plain, err := a.Clients.Create(ctx, spec)
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

func cmdUpdateApplication(ctx context.Context, e *env, args []string) error {
	ch, err := e.extra.app.change()
	if err != nil {
		return err
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	app, plain, err := a.Clients.Update(ctx, args[0], ch)
	if err != nil {
		return cliError(err)
	}
	if plain != "" {
		fmt.Fprintf(e.stdout, "client_secret: %s\n", plain)
		fmt.Fprintln(e.stderr, "The client secret is shown only now; gatehouse stores a hash of it.")
	}
	origins := strings.Join(app.AllowedOrigins, " ")
	if origins == "" {
		origins = "none"
	}
	fmt.Fprintf(e.stdout, "application %s updated: redirect URIs %s; allowed origins %s; access tokens %s\n", app.ClientID,
		strings.Join(app.RedirectURIs, " "), origins, map[string]string{"": "opaque", "jwt": "jwt"}[app.TokenFormat])
	return nil
}

func cmdRotateSecret(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	plain, err := a.Clients.RotateSecret(ctx, args[0])
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "client_secret: %s\n", plain)
	fmt.Fprintln(e.stderr, "The new client secret is shown only now; the old one no longer works.")
	return nil
}

func cmdListApplications(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	apps, err := a.Store.Applications(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tTYPE\tGRANTS\tREDIRECT_URIS\tOWNER\tNAME\tALLOWED_ORIGINS")
	for _, app := range apps {
		owner := "-"
		if app.UserID != nil {
			owner = fmt.Sprint(*app.UserID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", escaped(app.ClientID), app.ClientType, strings.Join(app.GrantTypes, ","),
			orDash(escaped(strings.Join(app.RedirectURIs, " "))), owner, escaped(app.Name), orDash(escaped(strings.Join(app.AllowedOrigins, " "))))
	}
	return tw.Flush()
}

func cmdDeleteApplication(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse deleteapplication CLIENT_ID")
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Clients.Delete(ctx, args[0]); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "deleted application %s and its tokens\n", args[0])
	return nil
}

func cmdClearTokens(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := oauth.NewCleaner(a.Store, a.OAuthConfig, nil, e.log).ClearTokens(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %d expired or revoked OAuth rows\n", n)
	return nil
}
