package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-auth/gatehouse/store"
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
	cfg    config
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	extra  *cmdFlags
	// hashMemory, set by serve's memory limit, is server.Deps.HashMemory.
	hashMemory func(bytes int64)
	// generatedSecret is the secret file this run generated, if any.
	generatedSecret string
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
		{"listapplications", "", "list OAuth2 applications", cmdListApplications},
		{"deleteapplication", "CLIENT_ID", "delete an OAuth2 application and its tokens", cmdDeleteApplication},
		{"cleartokens", "", "delete expired OAuth2 tokens and codes now (the server also does it in the background)", cmdClearTokens},
		{"audit", "", "print audit log events, newest last (--user --client --event --since --until --limit --format)", cmdAudit},
		{"django-settings", "[INPUT|-]", "write a configuration file from a Django project's settings (the JSON of the --script lines, or manage.py diffsettings --all) to --out or standard output, listing what is not honoured", cmdDjangoSettings},
	}
}

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
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
		if err := e.cfg.parse(fs, args[2:], getenv); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return usageError{err}
		}
		e.log = newLogger(e.cfg, stderr)
		e.extra = extra
		return e.cfg.explain(c.run(ctx, e, e.cfg.positional))
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

func newLogger(cfg config, w io.Writer) *slog.Logger {
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

// secretKey returns the server secret: GATEHOUSE_SECRET_KEY when set, else
// for SQLite the secret file beside the database (loadOrCreateSecretFile),
// created on first use. PostgreSQL requires GATEHOUSE_SECRET_KEY: every
// replica needs the same secret.
func (e *env) secretKey() (string, error) {
	if e.cfg.SecretKey != "" {
		if len(e.cfg.SecretKey) < minSecretLen {
			return "", fmt.Errorf("GATEHOUSE_SECRET_KEY must be at least %d characters", minSecretLen)
		}
		return e.cfg.SecretKey, nil
	}
	if isPostgres(e.cfg.DatabaseURL) {
		return "", errors.New("GATEHOUSE_SECRET_KEY is required with PostgreSQL (every replica needs the same one)")
	}
	path := sqlitePath(e.cfg.DatabaseURL) + ".secret"
	key, created, err := loadOrCreateSecretFile(path, e.log)
	if created {
		e.generatedSecret = path
	}
	return key, err
}

// secretMismatch explains a failed check of the server secret against the
// database, removing first a secret file this start generated (the
// database is not new, so that file is wrong and would only be in the way).
func (e *env) secretMismatch(err error) error {
	if !errors.Is(err, store.ErrSecretMismatch) {
		return fmt.Errorf("checking the server secret: %w", err)
	}
	if e.generatedSecret != "" {
		if rmErr := os.Remove(e.generatedSecret); rmErr == nil {
			return fmt.Errorf("%w: the secret file %s was missing, so a new secret was generated (and is now removed again). "+
				"Copy the secret file that belongs to this database beside it, or set GATEHOUSE_SECRET_KEY to the secret it was set up with", err, e.generatedSecret)
		}
	}
	return fmt.Errorf("%w: every stored DRF key and OAuth client secret depends on it. Set GATEHOUSE_SECRET_KEY "+
		"(or, with SQLite, the file beside the database) to the secret the database was set up or loaded with; nothing was changed", err)
}

func isPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func sqlitePath(url string) string {
	return strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
}

func cmdConfig(ctx context.Context, e *env, args []string) error {
	var c config
	sets := c.settings()
	fmt.Fprintln(e.stdout, "| flag | variable | default | meaning |\n|---|---|---|---|")
	for _, s := range sets {
		fmt.Fprintf(e.stdout, "| `--%s` | `%s` | `%s` | %s |\n", s.name, s.env(), s.def, s.help)
	}
	return nil
}
