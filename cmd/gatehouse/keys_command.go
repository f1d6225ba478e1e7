package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/site"
)

const keysUsage = "usage: gatehouse keys list | rotate | retire KID"

// cmdKeys lists, rotates or retires the signing keys in the database. It
// never prints private key material, sealed or not.
func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand; %s", keysUsage)
	}
	want := map[string]int{"list": 0, "rotate": 0, "retire": 1}
	n, ok := want[args[0]]
	switch {
	case !ok:
		return usagef("keys: unknown subcommand %q; %s", args[0], keysUsage)
	case args[0] == "retire" && len(args) == 1:
		return usagef("keys retire: missing KID (gatehouse keys list shows them); %s", keysUsage)
	case len(args)-1 != n:
		return usagef("keys %s: unexpected arguments %q; %s", args[0], args[1+n:], keysUsage)
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "rotate":
		k, err := a.Keys.Rotate(ctx)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(e.stdout, "new signing key %s (%s): in the key set now, signs from %s; the key it replaces signs until then\n",
			k.KID, k.Algorithm, k.SignsFrom.Format(time.RFC3339))
	case "retire":
		if err := a.Keys.Retire(ctx, args[1]); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(e.stdout, "retired signing key %s: it no longer signs and left the key set (running servers follow within a minute; clients that cached the key set drop it within %v)\n",
			args[1], keys.JWKSMaxAge)
	}
	return listKeys(ctx, e, a)
}

// listKeys prints the keys: kid, algorithm, state and schedule.
func listKeys(ctx context.Context, e *env, a *site.Services) error {
	list, err := a.Keys.List(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALGORITHM\tSTATE\tCREATED\tSIGNS_FROM\tSIGNS_UNTIL\tPUBLISHED_UNTIL")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, gatehouse.SigningKeyState(list, k, now),
			when(&k.Created), when(&k.SignsFrom), when(k.SignsUntil), when(k.PublishedUntil))
	}
	return tw.Flush()
}
