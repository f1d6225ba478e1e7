package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/site"
)

// tokensFlags are the flags of tokens list and tokens revoke.
type tokensFlags struct {
	user, client, kind, id string
	all                    bool
}

func (f *tokensFlags) register(cmd string, fs *flag.FlagSet) {
	fs.StringVar(&f.user, "user", "", "only this user's (username)")
	fs.StringVar(&f.client, "client", "", "only OAuth tokens of this application (client_id)")
	fs.StringVar(&f.kind, "kind", "", "only this kind: "+strings.Join(gatehouse.CredentialKinds(), ", "))
	if cmd == "tokens list" {
		fs.BoolVar(&f.all, "all", false, "include expired and revoked ones")
	} else {
		fs.StringVar(&f.id, "id", "", "only this one (the ID tokens list shows; needs --kind)")
	}
}

// checkKind refuses a --kind that names no credential kind (usage).
func (f *tokensFlags) checkKind() error {
	if f.kind != "" && !slices.Contains(gatehouse.CredentialKinds(), f.kind) {
		return usagef("--kind: want one of %s, not %q", strings.Join(gatehouse.CredentialKinds(), ", "), f.kind)
	}
	return nil
}

// filter turns the flags into a store filter, resolving the username and
// client_id; a bad flag is a usage error, an unknown name exits 1.
func (f *tokensFlags) filter(ctx context.Context, a *site.Services) (gatehouse.CredentialFilter, error) {
	var cf gatehouse.CredentialFilter
	if err := f.checkKind(); err != nil {
		return cf, err
	}
	if f.kind != "" {
		cf.Kinds = []string{f.kind}
	}
	if f.id != "" {
		if f.kind == "" {
			return cf, usagef("--id needs --kind: ids are per kind")
		}
		cf.ID = f.id
	}
	if f.user != "" {
		u, err := a.Store.UserByUsername(ctx, f.user)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return cf, fmt.Errorf("user %q does not exist", f.user)
		}
		if err != nil {
			return cf, err
		}
		cf.UserID = u.ID
	}
	if f.client != "" {
		app, err := a.Store.Application(ctx, f.client)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return cf, fmt.Errorf("application %q does not exist", f.client)
		}
		if err != nil {
			return cf, err
		}
		cf.ApplicationID = app.ID
	}
	cf.Ended = f.all
	return cf, nil
}

func cmdTokensList(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	f, err := e.extra.tokens.filter(ctx, a)
	if err != nil {
		return err
	}
	now := time.Now()
	list, err := a.Store.ListCredentials(ctx, f, now)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tID\tUSER\tCLIENT\tLABEL\tCREATED\tEXPIRES\tSTATE")
	for _, c := range list {
		exp, state := "never", "active"
		if c.Expires != nil {
			exp = c.Expires.UTC().Format(time.RFC3339)
			if !now.Before(*c.Expires) {
				state = "expired"
			}
		}
		if c.Revoked != nil {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Kind, c.ID, orDash(escaped(c.Username)), orDash(escaped(c.ClientID)), orDash(escaped(c.Label)),
			c.Created.UTC().Format(time.RFC3339), exp, state)
	}
	return tw.Flush()
}

func cmdTokensRevoke(ctx context.Context, e *env, args []string) error {
	tf := e.extra.tokens
	if err := tf.checkKind(); err != nil {
		return err
	}
	if tf.user == "" && tf.client == "" && tf.id == "" {
		return usagef("name what to revoke: --user, --client or --kind with --id (all credentials at once: revoke per user)")
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	f, err := tf.filter(ctx, a)
	if err != nil {
		return err
	}
	n, _, err := a.Store.RevokeCredentials(ctx, f, time.Now())
	if err != nil {
		return err
	}
	if n == 0 && tf.id != "" {
		// A mistyped id revokes nothing: say so, as for an unknown user.
		return fmt.Errorf("no live %s credential has the id %q (gatehouse tokens list --all shows them)", tf.kind, tf.id)
	}
	d := map[string]string{"kind": tf.kind, "count": strconv.FormatInt(n, 10), "via": "cli"}
	if tf.id != "" {
		d["id"] = tf.id
	}
	a.Audit.Record(ctx, gatehouse.AuditEvent{Event: gatehouse.AuditTokenRevoked, UserID: f.UserID, ClientID: tf.client, Detail: d})
	fmt.Fprintf(e.stdout, "revoked %d credentials\n", n)
	return nil
}
