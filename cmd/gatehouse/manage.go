package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/accounts"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/internal/smallfile"
	"github.com/gatehouse-auth/gatehouse/password"
	"github.com/gatehouse-auth/gatehouse/site"

	"golang.org/x/term"
)

// cmdFlags are the flags of the user and token commands.
type cmdFlags struct {
	username, email, firstName, lastName string
	passwordStdin                        bool
	name                                 string
	expires                              time.Duration
	app                                  appFlags        // createapplication (oauth_commands.go)
	audit                                auditFlags      // audit (audit_command.go)
	django                               djangoFlags     // django-settings (django_settings.go)
	imp                                  importFlags     // import (import_command.go)
	health                               healthFlags     // healthcheck (ops_commands.go)
	users                                usersFlags      // users (users_command.go)
	tokens                               tokensFlags     // tokens (tokens_command.go)
	markdown                             bool            // config --markdown
	userModel                            string          // loaddata: a custom user model
	oauthModels                          oauthModelFlags // loaddata: a project's own DOT models (oauth_models.go)
	zone                                 timeZoneFlag    // loaddata: a project's TIME_ZONE without USE_TZ (timezone_flag.go)
	inactive                             bool            // keys import --inactive
}

func registerCommandFlags(cmd string, fs *flag.FlagSet) *cmdFlags {
	f := &cmdFlags{}
	switch cmd {
	case "createsuperuser", "createuser":
		fs.StringVar(&f.username, "username", "", "username (required)")
		fs.StringVar(&f.email, "email", "", "email address")
		fs.StringVar(&f.firstName, "first-name", "", "first name")
		fs.StringVar(&f.lastName, "last-name", "", "last name")
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "changepassword":
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "createtoken":
		fs.StringVar(&f.name, "name", "cli", "token name")
		fs.DurationVar(&f.expires, "expires", 0, "lifetime such as 720h (0: never expires)")
	case "applications create":
		f.app.register(fs)
	case "applications update":
		f.app.registerUpdate(fs)
	case "users list", "users delete":
		f.users.register(cmd, fs)
	case "tokens list", "tokens revoke":
		f.tokens.register(cmd, fs)
	case "keys":
		fs.BoolVar(&f.inactive, "inactive", false, "keys import: publish the key for the tokens it signed (for the OAuth access token lifetime plus 1h, as a replaced key) without signing with it")
	case "config":
		fs.BoolVar(&f.markdown, "markdown", false, "print the reference table of every setting (flag, variable, default, meaning) that docs/configuration.md holds")
	case "audit":
		f.audit.register(fs)
	case "django-settings":
		f.django.register(fs)
	case "loaddata":
		fs.StringVar(&f.userModel, "user-model", "", "the project's AUTH_USER_MODEL (app_label.Model) when it is not auth.User; "+
			"default: auth.User, or the one model in the files with AbstractBaseUser's password and last_login")
		f.oauthModels.register(fs, true)
		f.zone.register(fs)
	case "import":
		f.imp.register(fs)
	case "healthcheck":
		f.health.register(fs)
	}
	return f
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Fprintln(e.stdout, "migrations applied")
	return nil
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	undo, err := e.applyMemoryLimit(debug.SetMemoryLimit, debug.SetGCPercent, liveHeap)
	if err != nil {
		return err
	}
	defer undo()
	tlsServe, err := site.NewTLS(e.cfg, e.log) // before Open: a refusal leaves nothing behind
	if err != nil {
		return usageError{err}
	}
	s, err := site.Open(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 2)
	shutdown, err := startServing(hs, ln, tlsServe, e.log, errc) // serve_tls.go
	if err != nil {
		ln.Close()
		return err
	}
	e.log.Info("gatehouse listening", "addr", ln.Addr().String(), "database", s.Store.Dialect(), "tls", tlsServe != nil)
	select {
	case err := <-errc:
		sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
		defer cancel()
		shutdown(sctx)
		return err
	case <-ctx.Done():
	}
	e.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// readPassword takes the password from --password-stdin, GATEHOUSE_PASSWORD
// or, on a terminal, an interactive prompt asked twice.
func (e *env) readPassword() (string, error) {
	if e.extra.passwordStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if path := e.getenv("GATEHOUSE_PASSWORD_FILE"); path != "" {
		if e.getenv("GATEHOUSE_PASSWORD") != "" {
			return "", usagef("GATEHOUSE_PASSWORD and GATEHOUSE_PASSWORD_FILE are both set: set one")
		}
		b, err := smallfile.Read(path, smallfile.Text)
		if err != nil {
			return "", fmt.Errorf("GATEHOUSE_PASSWORD_FILE: %w", err)
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r"), nil
	}
	if p := e.getenv("GATEHOUSE_PASSWORD"); p != "" {
		return p, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no password: use --password-stdin, GATEHOUSE_PASSWORD, or run on a terminal")
	}
	fmt.Fprint(e.stderr, "Password: ")
	p1, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(e.stderr, "Password (again): ")
	p2, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("passwords do not match")
	}
	return string(p1), nil
}

func cmdCreateSuperuser(ctx context.Context, e *env, args []string) error {
	return createUser(ctx, e, true)
}
func cmdCreateUser(ctx context.Context, e *env, args []string) error {
	return createUser(ctx, e, false)
}

func createUser(ctx context.Context, e *env, super bool) error {
	f := e.extra
	n := accounts.NewUser{Username: strings.TrimSpace(f.username), Email: strings.TrimSpace(f.email),
		FirstName: strings.TrimSpace(f.firstName), LastName: strings.TrimSpace(f.lastName), IsStaff: super, IsSuperuser: super}
	if n.Username == "" {
		return errors.New("--username is required")
	}
	pw, err := e.readPassword()
	if err != nil {
		return err
	}
	n.Password = pw
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Accounts.Create(ctx, n)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "created user %s (id %d)\n", u.Username, u.ID)
	return nil
}

// cliError is how a command reports a service's error: the message of an
// application error, the error itself otherwise.
func cliError(err error) error {
	if c := gatehouse.ErrorCode(err); c != gatehouse.EINTERNAL && c != "" {
		return errors.New(gatehouse.ErrorMessage(err))
	}
	return err
}

func cmdChangePassword(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse changepassword USERNAME")
	}
	pw, err := e.readPassword()
	if err != nil {
		return err
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Accounts.ChangePassword(ctx, args[0], pw); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(e.stdout, "password changed for %s; their tokens were revoked\n", args[0])
	return nil
}

func cmdCreateToken(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: gatehouse createtoken USERNAME [--name N] [--expires D]")
	}
	if d := e.extra.expires; d < 0 || d > accounts.MaxTokenLifetime {
		return fmt.Errorf("--expires %s: a lifetime from 1s to %s, or 0 for a token that never expires", d, accounts.MaxTokenLifetime)
	}
	if n := e.extra.name; strings.TrimSpace(n) == "" || gatehouse.Length(n) > accounts.MaxTokenName || !gatehouse.ValidText(n) ||
		strings.ContainsFunc(n, unicode.IsControl) {
		// As POST /api/tokens/ asks (required, at most 100 characters),
		// and no control character a terminal would act on.
		return usagef("--name: 1 to %d characters without control characters", accounts.MaxTokenName)
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	key, err := a.Accounts.IssueToken(ctx, args[0], e.extra.name, e.extra.expires)
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintln(e.stdout, key)
	return nil
}

// unverifiable counts the users whose stored password no hasher here
// verifies (Django's crypt$, or a format Django added later), by format:
// they were loaded, and cannot log in until their password is set again.
// Django's unusable passwords ("!...") are no such case.
func unverifiable(users []gatehouse.User) []string {
	h := unusableHashes{}
	h.add(users)
	return h.messages()
}

// unusableHashes counts those users by format, keeping a few names of
// each, over several batches (import).
type unusableHashes map[string]*hashFormat

type hashFormat struct {
	n    int
	some []string
}

func (h unusableHashes) add(users []gatehouse.User) {
	for _, u := range users {
		p := u.Password
		if p == "" || strings.HasPrefix(p, "!") || password.IsUsable(p) {
			continue
		}
		format, _, found := strings.Cut(p, "$")
		if !found || len(format) > 30 {
			format = "unrecognised"
		}
		f := h[format]
		if f == nil {
			f = &hashFormat{}
			h[format] = f
		}
		f.n++
		if len(f.some) < 5 {
			f.some = append(f.some, u.Username)
		}
	}
}

func (h unusableHashes) messages() []string {
	var out []string
	for format, f := range h {
		out = append(out, fmt.Sprintf("%d users have %s password hashes, which gatehouse cannot verify (e.g. %s): they cannot log in "+
			"until their password is set again (gatehouse changepassword USERNAME, or a password reset)", f.n, format, strings.Join(f.some, ", ")))
	}
	sort.Strings(out)
	return out
}

// loginField is the username-field setting as fixture.Converter takes
// it: its default, username, left for the converter to choose (a custom
// user model without a username field logs in by e-mail).
func loginField(setting string) string {
	if setting == "username" {
		return ""
	}
	return setting
}

func cmdLoaddata(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: gatehouse loaddata FILE... (FILE.json, .jsonl, .xml, .yaml or .yml, optionally .gz, .bz2, .xz, .lzma or .zip; - for standard input)")
	}
	oauthModels, err := e.extra.oauthModels.models()
	if err != nil {
		return err
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	// Every file is read and converted before anything is written, and
	// all of them load in one transaction, as Django's loaddata: a
	// reference may cross files, and a failure leaves nothing half-loaded.
	var objs []fixture.Object
	for _, path := range args {
		more, err := fixture.ReadFile(path, e.stdin)
		if err != nil {
			return fmt.Errorf("nothing loaded: %w", err)
		}
		fmt.Fprintf(e.stdout, "%s: %d objects\n", path, len(more))
		objs = append(objs, more...)
	}
	set, err := fixture.Converter{Box: a.Box, ClientSecrets: a.Secrets, Knox: a.KnoxConfig,
		UserModel: e.extra.userModel, UsernameField: loginField(e.cfg.UsernameField), OAuthModels: oauthModels, TimeZone: e.extra.zone.loc}.Convert(objs)
	if err != nil {
		return fmt.Errorf("nothing loaded: %w", err)
	}
	if err := a.Store.Load(ctx, set); err != nil {
		return fmt.Errorf("nothing loaded: %w", err)
	}
	fmt.Fprintf(e.stdout, "loaded %d users, %d tokens\n", len(set.Users), len(set.Tokens))
	if n := len(set.Applications) + len(set.Grants) + len(set.AccessTokens) + len(set.RefreshTokens); n > 0 {
		fmt.Fprintf(e.stdout, "loaded %d OAuth applications, %d codes, %d access tokens, %d refresh tokens\n",
			len(set.Applications), len(set.Grants), len(set.AccessTokens), len(set.RefreshTokens))
	}
	if len(set.Refresh) > 0 {
		blacklisted := 0
		for _, r := range set.Refresh {
			if r.BlacklistedAt != nil {
				blacklisted++
			}
		}
		fmt.Fprintf(e.stdout, "loaded %d simplejwt outstanding tokens, %d of them blacklisted\n", len(set.Refresh), blacklisted)
	}
	if len(set.Knox) > 0 {
		fmt.Fprintf(e.stdout, "loaded %d knox tokens\n", len(set.Knox))
	}
	if len(set.Groups)+len(set.Permissions) > 0 {
		holders := 0
		for _, m := range set.Memberships {
			if len(m.Groups)+len(m.Permissions) > 0 {
				holders++
			}
		}
		fmt.Fprintf(e.stdout, "loaded %d groups, %d permissions; %d users are in a group or hold a permission\n",
			len(set.Groups), len(set.Permissions), holders)
	}
	models := make([]string, 0, len(set.Skipped))
	for model := range set.Skipped {
		models = append(models, model)
	}
	sort.Strings(models)
	for _, model := range models {
		fmt.Fprintf(e.stderr, "skipped %d objects of model %s: gatehouse does not keep it\n", set.Skipped[model], model)
	}
	for _, w := range append(set.Warnings, set.Tally.Warnings()...) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	for _, w := range unverifiable(set.Users) {
		fmt.Fprintf(e.stderr, "warning: %s\n", w)
	}
	return nil
}
