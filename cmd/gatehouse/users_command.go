package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/site"
)

// usersFlags are the flags of the users commands.
type usersFlags struct {
	active, staff  optBool
	search         string
	page, pageSize int
	yes            bool
}

// optBool is a boolean flag that may be left unset (no filter).
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}
func (o *optBool) Set(s string) error {
	switch s {
	case "true", "yes":
		b := true
		o.v = &b
	case "false", "no":
		b := false
		o.v = &b
	default:
		return fmt.Errorf("want true or false, got %q", s)
	}
	return nil
}
func (o *optBool) IsBoolFlag() bool { return true }

func (f *usersFlags) register(cmd string, fs *flag.FlagSet) {
	switch cmd {
	case "users list":
		fs.Var(&f.active, "active", "only active users (--active=false: only inactive ones)")
		fs.Var(&f.staff, "staff", "only staff users (--staff=false: only the others)")
		fs.StringVar(&f.search, "search", "", "only users whose username, email or name contains this, ignoring case")
		fs.IntVar(&f.page, "page", 1, "the page to print, from 1")
		fs.IntVar(&f.pageSize, "per-page", 50, "users on a page")
	case "users delete":
		fs.BoolVar(&f.yes, "yes", false, "confirm: the user, their tokens and grants are deleted for good")
	}
}

func cmdUsersList(ctx context.Context, e *env, args []string) error {
	f := e.extra.users
	if f.page < 1 || f.pageSize < 1 || f.pageSize > 1000 || f.page > math.MaxInt32/f.pageSize {
		return usagef("users list: --page must be at least 1 (and its first user at most the 2,147,483,647th) and --per-page between 1 and 1000")
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	filter := gatehouse.UserFilter{Active: f.active.v, Staff: f.staff.v, Search: f.search}
	total, err := a.Accounts.Count(ctx, filter)
	if err != nil {
		return err
	}
	users, err := a.Accounts.List(ctx, filter, (f.page-1)*f.pageSize, f.pageSize)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tACTIVE\tSTAFF\tSUPERUSER\tLAST_LOGIN")
	for _, u := range users {
		last := "-"
		if u.LastLogin != nil {
			last = u.LastLogin.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\t%t\t%s\n", u.ID, escaped(u.Username), orDash(escaped(u.Email)), u.IsActive, u.IsStaff, u.IsSuperuser, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	pages := max(1, (total+f.pageSize-1)/f.pageSize)
	fmt.Fprintf(e.stderr, "page %d of %d (%d users)\n", f.page, pages, total)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdUsersShow(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.User(ctx, args[0])
	if err != nil {
		return cliError(err)
	}
	perms, err := a.Accounts.Permissions(ctx, u)
	if err != nil {
		return err
	}
	toks, err := a.Accounts.Tokens(ctx, u.ID)
	if err != nil {
		return err
	}
	when := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"id", fmt.Sprint(u.ID)}, {"django_pk", orDash(u.DjangoKey)}, {"username", u.Username}, {"email", orDash(u.Email)},
		{"first_name", orDash(u.FirstName)}, {"last_name", orDash(u.LastName)},
		{"is_active", fmt.Sprint(u.IsActive)}, {"is_staff", fmt.Sprint(u.IsStaff)}, {"is_superuser", fmt.Sprint(u.IsSuperuser)},
		{"date_joined", when(&u.DateJoined)}, {"last_login", when(u.LastLogin)},
		{"credentials_since", when(&u.AuthEpoch)},
		{"usable_password", fmt.Sprint(u.Password != "" && !strings.HasPrefix(u.Password, "!"))},
		{"groups", orDash(strings.Join(perms.Groups, ", "))},
		{"permissions", orDash(strings.Join(perms.Permissions, ", "))},
		{"drf_tokens", fmt.Sprint(len(toks))},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], escaped(row[1])) // names may hold control characters
	}
	return tw.Flush()
}

func cmdUsersActivate(ctx context.Context, e *env, args []string) error {
	return setActive(ctx, e, args[0], true)
}

func cmdUsersDeactivate(ctx context.Context, e *env, args []string) error {
	return setActive(ctx, e, args[0], false)
}

func setActive(ctx context.Context, e *env, username string, active bool) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Accounts.SetActive(ctx, username, active); err != nil {
		return cliError(err)
	}
	if active {
		fmt.Fprintf(e.stdout, "user %s is active\n", username)
	} else {
		fmt.Fprintf(e.stdout, "user %s is deactivated; every credential they held was ended\n", username)
	}
	return nil
}

func cmdUsersLogoutEverywhere(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.User(ctx, args[0])
	if err != nil {
		return cliError(err)
	}
	if err := a.Accounts.LogOutEverywhere(ctx, u.ID); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "every token and session of %s was ended\n", u.Username)
	return nil
}

func cmdUsersDelete(ctx context.Context, e *env, args []string) error {
	if !e.extra.users.yes {
		return usagef("users delete: deleting %s removes the user and everything they own for good: add --yes", args[0])
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Accounts.Delete(ctx, args[0]); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "deleted user %s\n", args[0])
	return nil
}

// errNotSQLite is what backup says of a PostgreSQL database.
var errNotSQLite = errors.New("backup copies SQLite databases: back up PostgreSQL with pg_dump (pg_dump --format=custom --file=FILE \"$GATEHOUSE_DATABASE_URL\") and restore with pg_restore")

func cmdBackup(ctx context.Context, e *env, args []string) error {
	if site.IsPostgres(e.cfg.DatabaseURL) {
		return errNotSQLite
	}
	// Never over the database's own files, the secret file among them
	// (free when the secret comes from the environment; a copy there
	// would be read as the secret once the variable is gone).
	db := strings.TrimPrefix(strings.TrimPrefix(e.cfg.DatabaseURL, "sqlite://"), "sqlite:")
	if dest, err := filepath.Abs(args[0]); err == nil {
		if abs, err := filepath.Abs(db); err == nil {
			for _, own := range []string{abs, abs + "-wal", abs + "-shm", abs + "-journal", abs + ".secret"} {
				if dest == own {
					return usagef("backup: %s is one of the database's own files: choose a path beside it", args[0])
				}
			}
		}
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Store.Backup(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up the database to %s (mode 0600); keep the server secret with it (the .secret file beside the database, or GATEHOUSE_SECRET_KEY)\n", args[0])
	return nil
}
