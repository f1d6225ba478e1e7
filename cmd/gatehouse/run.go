package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/internal/buildinfo"
	"github.com/gatehouse-auth/gatehouse/site"
)

// command is one subcommand of gatehouse.
type command struct {
	name  string
	usage string // arguments after the flags
	help  string
	run   func(ctx context.Context, e *env, args []string) error
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
	// hashMemory, set by serve's memory limit, is site.Options.HashMemory.
	hashMemory func(bytes int64)
}

func commands() []command {
	return []command{
		{"serve", "", "run the HTTP server (migrates the database first)", cmdServe},
		{"migrate", "", "apply database migrations and exit", cmdMigrate},
		{"createsuperuser", "", "create a superuser (--username --email --first-name --last-name; password from --password-stdin, GATEHOUSE_PASSWORD or a prompt)", cmdCreateSuperuser},
		{"createuser", "", "create a user (same flags as createsuperuser)", cmdCreateUser},
		{"changepassword", "USERNAME", "set a user's password (revokes the user's tokens)", cmdChangePassword},
		{"createtoken", "USERNAME", "print a new DRF token key for the user (--name, --expires)", cmdCreateToken},
		{"loaddata", "FILE...", "load Django dumpdata files, all in one transaction; rows with a stored primary key are overwritten", cmdLoaddata},
		{"import", "", "copy users, groups, tokens and OAuth rows straight from a Django database (--from URL or SQLite file; read-only), in batches; a stopped import continues (--restart starts over)", cmdImport},
		{"config", "", "print every setting with its variable and default (markdown)", cmdConfig},
		{"createapplication", "", "create an OAuth2 application (--client-id --name --client-type --grant-types --redirect-uris --owner ...); prints its secret once", cmdCreateApplication},
		{"updateapplication", "CLIENT_ID", "change an OAuth2 application: --allowed-origins (the browser origins of its CORS requests; \"\" for none)", cmdUpdateApplication},
		{"listapplications", "", "list OAuth2 applications", cmdListApplications},
		{"deleteapplication", "CLIENT_ID", "delete an OAuth2 application and its tokens", cmdDeleteApplication},
		{"cleartokens", "", "delete expired OAuth2 tokens and codes now (the server also does it in the background)", cmdClearTokens},
		{"audit", "", "print audit log events, newest last (--user --client --event --since --until --limit --format)", cmdAudit},
		{"keys", "list|rotate|retire KID", "list the signing keys of id_tokens and JWT access tokens (kid, algorithm, state, dates), rotate (a new key, signing after the publish-ahead), or retire KID at once", cmdKeys},
		{"django-settings", "[INPUT|-]", "write a configuration file from a Django project's settings (the JSON of the --script lines, or manage.py diffsettings --all) to --out or standard output, listing what is not honoured", cmdDjangoSettings},
		{"version", "", "print the version, commit and build date on one line (also: gatehouse --version)", cmdVersion},
		{"healthcheck", "", "GET /readyz of the server the settings describe (or --url) and exit 0 when it answers 200, else 1: a container's HEALTHCHECK", cmdHealthcheck},
	}
}

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 2 && args[1] == "--version" {
		fmt.Fprintln(stdout, buildinfo.Get())
		return nil
	}
	if len(args) < 2 || args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
		usage(stdout)
		if len(args) < 2 {
			return usagef("missing command")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name != args[1] {
			continue
		}
		e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
		fs := flag.NewFlagSet("gatehouse "+c.name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		extra := registerCommandFlags(c.name, fs)
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: gatehouse %s [flags] %s\n\n%s\n\nflags:\n", c.name, c.usage, c.help)
			fs.PrintDefaults()
		}
		if err := e.cfg.Parse(fs, args[2:], getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usageError{err}
		}
		e.log = newLogger(e.cfg, stderr)
		e.extra = extra
		return e.cfg.Explain(c.run(ctx, e, e.cfg.Args()))
	}
	usage(stderr)
	return usagef("unknown command %q", args[1])
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
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nRun 'gatehouse COMMAND --help' for a command's flags. Every flag can also be set with its GATEHOUSE_* variable.")
}

func newLogger(cfg site.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// options are the site options of a command: its logger, and serve's
// memory limit hook.
func (e *env) options() site.Options {
	return site.Options{Log: e.log, HashMemory: e.hashMemory}
}

func cmdConfig(ctx context.Context, e *env, args []string) error {
	var c site.Config
	sets := c.Settings()
	fmt.Fprintln(e.stdout, "| flag | variable | default | meaning |\n|---|---|---|---|")
	for _, s := range sets {
		fmt.Fprintf(e.stdout, "| `--%s` | `%s` | `%s` | %s |\n", s.Name, s.Env(), s.Default, s.Help)
	}
	return nil
}
