package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/internal/jsonlog"
	"github.com/gatehouse-auth/gatehouse/internal/logbuf"
	"github.com/gatehouse-auth/gatehouse/site"
)

// command is one subcommand of gatehouse.
type command struct {
	name  string // one word, or two for a group's subcommand ("users list")
	usage string // arguments after the flags
	help  string // one line
	// nargs bounds the arguments that are not flags: at least nargs[0],
	// at most nargs[1] (-1: no bound). More or fewer is a usage error.
	nargs   [2]int
	run     func(ctx context.Context, e *env, args []string) error
	aliases []string // older names that still work
}

// env is what a subcommand runs with.
type env struct {
	cfg    site.Config
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	extra  *cmdFlags
	// hashMemory and hashesRunning, set by serve's memory limit, are
	// site.Options.HashMemory and HashesRunning.
	hashMemory    func(bytes int64)
	hashesRunning func(running bool)
}

var (
	none   = [2]int{0, 0}
	one    = [2]int{1, 1}
	atMost = func(n int) [2]int { return [2]int{0, n} }
)

func commands() []command {
	return []command{
		{name: "serve", help: "run the HTTP server (migrates the database first)", nargs: none, run: cmdServe},
		{name: "migrate", help: "apply database migrations and exit", nargs: none, run: cmdMigrate},
		{name: "config", help: "print every setting's value and where it came from (--markdown: the reference table)", nargs: none, run: cmdConfig},
		{name: "createsuperuser", help: "create a superuser (password from --password-stdin, GATEHOUSE_PASSWORD(_FILE) or a prompt)", nargs: none, run: cmdCreateSuperuser},
		{name: "createuser", help: "create a user (same flags as createsuperuser)", nargs: none, run: cmdCreateUser},
		{name: "changepassword", usage: "USERNAME", help: "set a user's password (ends every credential of the user)", nargs: one, run: cmdChangePassword},
		{name: "users list", help: "list users (--active, --staff, --search, --page, --per-page)", nargs: none, run: cmdUsersList},
		{name: "users show", usage: "USERNAME", help: "show a user: fields, groups, permissions and how many credentials they hold", nargs: one, run: cmdUsersShow},
		{name: "users activate", usage: "USERNAME", help: "let a deactivated user log in again", nargs: one, run: cmdUsersActivate},
		{name: "users deactivate", usage: "USERNAME", help: "stop a user from logging in and end every credential they hold", nargs: one, run: cmdUsersDeactivate},
		{name: "users logout-everywhere", usage: "USERNAME", help: "end every token and session of a user (the auth epoch moves)", nargs: one, run: cmdUsersLogoutEverywhere},
		{name: "users delete", usage: "USERNAME", help: "delete a user and everything they own (needs --yes)", nargs: one, run: cmdUsersDelete},
		{name: "tokens list", help: "list credentials of every kind, never their secrets (--user, --client, --kind, --all)", nargs: none, run: cmdTokensList},
		{name: "tokens revoke", help: "end the live credentials --user, --client, or --kind with --id select (refresh tokens are marked, so a replay is still caught)", nargs: none, run: cmdTokensRevoke},
		{name: "createtoken", usage: "USERNAME", help: "print a new DRF token key for the user (--name, --expires)", nargs: one, run: cmdCreateToken},
		{name: "loaddata", usage: "FILE...|-", help: "load Django dumpdata files (- reads standard input), all in one transaction", nargs: [2]int{1, -1}, run: cmdLoaddata},
		{name: "import", help: "copy users, groups, tokens and OAuth rows straight from a Django database (--from), read-only, resumable", nargs: none, run: cmdImport},
		{name: "applications create", help: "create an OAuth2 application; prints its secret once", nargs: none, run: cmdCreateApplication, aliases: []string{"createapplication"}},
		{name: "applications list", help: "list OAuth2 applications", nargs: none, run: cmdListApplications, aliases: []string{"listapplications"}},
		{name: "applications update", usage: "CLIENT_ID", help: "change an OAuth2 application: name, redirect URIs, post-logout URIs, default scopes, skip-authorization, allowed origins, access token format (each flag given)", nargs: one, run: cmdUpdateApplication, aliases: []string{"updateapplication"}},
		{name: "applications rotate-secret", usage: "CLIENT_ID", help: "give a confidential application a new secret, printed once; the old one stops working", nargs: one, run: cmdRotateSecret},
		{name: "applications delete", usage: "CLIENT_ID", help: "delete an OAuth2 application and its tokens", nargs: one, run: cmdDeleteApplication, aliases: []string{"deleteapplication"}},
		{name: "cleartokens", help: "delete expired OAuth2 tokens and codes now (the server also does it in the background)", nargs: none, run: cmdClearTokens},
		{name: "audit", help: "print audit log events, newest last (--user --client --event --since --until --limit --format)", nargs: none, run: cmdAudit},
		{name: "keys", usage: "list|rotate|retire KID|import [--inactive] FILE|-", help: "list, rotate, retire or import (a Django project's OIDC_RSA_PRIVATE_KEY) the signing keys of id_tokens and JWT access tokens", nargs: [2]int{0, -1}, run: cmdKeys},
		{name: "backup", usage: "PATH", help: "write a consistent copy of the SQLite database to PATH while it runs (PostgreSQL: use pg_dump)", nargs: one, run: cmdBackup},
		{name: "django-settings", usage: "[INPUT|-]", help: "write a configuration file from a Django project's settings (--out), listing what is not honoured", nargs: atMost(1), run: cmdDjangoSettings},
		{name: "completion", usage: "bash|zsh|fish", help: "print a shell completion script", nargs: one, run: cmdCompletion},
		{name: "version", help: "print the version, commit and build date on one line (also: gatehouse --version)", nargs: none, run: cmdVersion},
		{name: "healthcheck", help: "GET /readyz of the server the settings describe (or --url) and exit 0 when it answers 200, else 1: a container's HEALTHCHECK", nargs: none, run: cmdHealthcheck},
	}
}

// findCommand returns the command args names (its name, an alias, or a
// group and subcommand) and the arguments after it. A group without a
// known subcommand returns the group's name as group.
func findCommand(args []string) (c command, rest []string, group string, ok bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], "", true
		}
		if slices.Contains(c.aliases, args[0]) {
			return c, args[1:], "", true
		}
		if len(words) == 2 && words[0] == args[0] {
			group = words[0]
		}
	}
	return command{}, nil, group, false
}

// run is the whole program; main only calls it. environ (os.Environ) is
// checked for GATEHOUSE_* variables that are no setting.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, environ ...string) error {
	if len(args) == 2 && args[1] == "--version" {
		fmt.Fprintln(stdout, buildinfo.Get())
		return nil
	}
	if len(args) > 2 && args[1] == "help" {
		// gatehouse help COMMAND is gatehouse COMMAND --help.
		args = append(append([]string{args[0]}, args[2:]...), "--help")
	}
	if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		usage(stdout)
		if len(args) < 2 {
			return usagef("missing command")
		}
		return nil
	}
	c, rest, group, ok := findCommand(args[1:])
	if !ok {
		if group != "" && len(args) >= 3 && (args[2] == "-h" || args[2] == "--help") {
			groupUsage(stdout, group) // asked for: the group's subcommands, exit 0
			return nil
		}
		if group != "" {
			groupUsage(stderr, group)
			if len(args) == 2 {
				return usagef("%s: missing subcommand", group)
			}
			return usagef("%s: unknown subcommand %q", group, args[2])
		}
		usage(stderr)
		return usagef("unknown command %q", args[1])
	}
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("gatehouse "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	extra := registerCommandFlags(c.name, fs)
	own := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	fs.Usage = func() { commandUsage(stderr, c, fs, own) }
	if err := e.cfg.Parse(fs, rest, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	// The log is buffered (internal/logbuf): written every
	// logFlushInterval, at once for warnings and errors, and when run
	// returns.
	lw := logbuf.New(stderr, logFlushInterval, 64<<10)
	defer lw.Close()
	e.log = newLogger(e.cfg, lw)
	e.extra = extra
	for _, w := range append(e.cfg.Warnings(), site.UnknownVariables(environ)...) {
		e.log.Warn(w)
	}
	pos := e.cfg.Args()
	if n := len(pos); n < c.nargs[0] || (c.nargs[1] >= 0 && n > c.nargs[1]) {
		switch {
		case c.nargs[1] == 0:
			return usagef("gatehouse %s takes no arguments, got %q (usage: gatehouse %s [flags])", c.name, pos, c.name)
		case n > c.nargs[1] && c.nargs[1] >= 0:
			return usagef("gatehouse %s: unexpected arguments %q (usage: gatehouse %s [flags] %s)", c.name, pos[c.nargs[1]:], c.name, c.usage)
		default:
			return usagef("gatehouse %s: missing %s (usage: gatehouse %s [flags] %s)", c.name, c.usage, c.name, c.usage)
		}
	}
	return e.cfg.Explain(c.run(ctx, e, pos))
}

// commandUsage prints a command's help: its own flags only, except for
// serve, whose flags are the settings.
func commandUsage(w io.Writer, c command, fs *flag.FlagSet, own map[string]bool) {
	fmt.Fprintf(w, "usage: gatehouse %s [flags] %s\n\n%s\n", c.name, c.usage, c.help)
	if len(c.aliases) > 0 {
		fmt.Fprintf(w, "(also: gatehouse %s)\n", strings.Join(c.aliases, ", gatehouse "))
	}
	shown := flag.NewFlagSet(c.name, flag.ContinueOnError)
	shown.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if own[f.Name] || c.name == "serve" {
			shown.Var(f.Value, f.Name, f.Usage)
			shown.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	if c.name == "serve" {
		fmt.Fprintln(w, "\nsettings (each also a GATEHOUSE_* variable and a key of the --config file):")
	} else if len(own) > 0 {
		fmt.Fprintln(w, "\nflags:")
	}
	shown.PrintDefaults()
	if c.name != "serve" {
		fmt.Fprintln(w, "\nThe settings (--database-url, --config, ...) apply too: gatehouse serve --help lists them, gatehouse config shows their values.")
	}
}

func groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: gatehouse %s SUBCOMMAND [flags] [args]\n\nsubcommands:\n", group)
	for _, c := range commands() {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			fmt.Fprintf(w, "  %-18s %s\n", sub, c.help)
		}
	}
}

// usageError is a mistake in how a command was called: a flag, a setting,
// an argument. gatehouse exits with status 2 for it, as the flag package
// does, and 1 for any other failure.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode is the status main exits with after err.
func exitCode(err error) int {
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gatehouse COMMAND [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-27s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nRun 'gatehouse COMMAND --help' for a command's flags, 'gatehouse serve --help' for the settings\n"+
		"(each also a GATEHOUSE_* variable and a configuration file key) and 'gatehouse config' for their values.")
}

// logFlushInterval is how long a log line may wait in the buffer.
const logFlushInterval = 100 * time.Millisecond

func newLogger(cfg site.Config, w *logbuf.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(logbuf.Handler(slog.NewTextHandler(w, opts), w))
	}
	return slog.New(logbuf.Handler(jsonlog.New(w, opts), w))
}

// options are the site options of a command: its logger, and serve's
// memory limit hook.
func (e *env) options() site.Options {
	return site.Options{Log: e.log, HashMemory: e.hashMemory, HashesRunning: e.hashesRunning}
}
