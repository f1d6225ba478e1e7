package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"github.com/gatehouse-auth/gatehouse/keys"
	"github.com/gatehouse-auth/gatehouse/site"
)

const keysUsage = "usage: gatehouse keys list | rotate | retire KID | import [--inactive] FILE|-"

// cmdKeys lists, rotates or retires the signing keys in the database. It
// never prints private key material, sealed or not.
func cmdKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand; %s", keysUsage)
	}
	want := map[string]int{"list": 0, "rotate": 0, "retire": 1, "import": 1}
	n, ok := want[args[0]]
	switch {
	case !ok:
		return usagef("keys: unknown subcommand %q; %s", args[0], keysUsage)
	case args[0] == "retire" && len(args) == 1:
		return usagef("keys retire: missing KID (gatehouse keys list shows them); %s", keysUsage)
	case args[0] == "import" && len(args) == 1:
		return usagef("keys import: missing FILE, a PEM private key (- reads standard input); %s", keysUsage)
	case args[0] != "import" && e.extra.inactive:
		return usagef("keys %s: --inactive is a flag of keys import; %s", args[0], keysUsage)
	case len(args)-1 != n:
		return usagef("keys %s: unexpected arguments %q; %s", args[0], args[1+n:], keysUsage)
	}
	var pemData []byte
	if args[0] == "import" {
		// Read before the database opens: a missing file changes nothing.
		var err error
		if pemData, err = readKeyFile(e, args[1]); err != nil {
			return err
		}
		defer clear(pemData)
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	switch args[0] {
	case "import":
		k, err := a.Keys.Import(ctx, pemData, !e.extra.inactive)
		if err != nil {
			return cliError(err)
		}
		if e.extra.inactive {
			fmt.Fprintf(e.stdout, "imported signing key %s (%s): published until %s for the tokens it signed; it never signs here\n",
				k.KID, k.Algorithm, k.PublishedUntil.Format(time.RFC3339))
		} else {
			fmt.Fprintf(e.stdout, "imported signing key %s (%s): signs from now on (running servers follow within a minute); the key it replaces stays published for what it signed\n",
				k.KID, k.Algorithm)
		}
		if strings.HasPrefix(k.KID, "-") {
			fmt.Fprintf(e.stdout, "(its kid starts with \"-\": retire it with gatehouse keys retire -- %s)\n", k.KID)
		}
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

// readKeyFile reads a PEM private key from path, or standard input for
// "-". What it read is never printed.
func readKeyFile(e *env, path string) ([]byte, error) {
	if path == "-" {
		return smallfile.ReadFrom("standard input", e.stdin, smallfile.Text)
	}
	b, err := smallfile.Read(path, smallfile.Text)
	if err != nil {
		return nil, usageError{fmt.Errorf("keys import: %w", err)}
	}
	return b, nil
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
