package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/site"
)

// auditFlags are the flags of the audit command.
type auditFlags struct {
	user, client, event, since, until, format string
	limit                                     int
}

// maxAuditLimit bounds --limit: a larger export pages with --until.
const maxAuditLimit = 100_000

func (f *auditFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.user, "user", "", "events about this user: a username, or a user id (a deleted user's events are found by id)")
	fs.StringVar(&f.client, "client", "", "events of this OAuth client_id")
	fs.StringVar(&f.event, "event", "", "events of this name ("+strings.Join(gatehouse.AuditEvents(), ", ")+")")
	fs.StringVar(&f.since, "since", "", "events at or after: an RFC 3339 time, a date (UTC), or a duration ago such as 24h or 7d")
	fs.StringVar(&f.until, "until", "", "events before: same forms as --since")
	fs.IntVar(&f.limit, "limit", 100, fmt.Sprintf("the newest this many matching events are shown (1 to %d)", maxAuditLimit))
	fs.StringVar(&f.format, "format", "json", "json: one JSON object per line; table: aligned columns")
}

// parseWhen reads a --since or --until value: an RFC 3339 time, a date
// (midnight UTC), or a duration before now ("24h", "90m", "7d", "1d12h").
func parseWhen(flagName, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	bad := usagef("--%s %q: want an RFC 3339 time (2026-03-14T15:09:26Z), a date (2026-03-14) or a duration ago (24h, 7d)", flagName, s)
	var d time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return time.Time{}, bad
		}
		d, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		more, err := time.ParseDuration(rest)
		if err != nil || more < 0 {
			return time.Time{}, bad
		}
		d += more
	}
	return now.Add(-d), nil
}

// filter checks the flags and turns them into a filter; the user is
// resolved later, with the store. Every refusal is a usageError.
func (f *auditFlags) filter(now time.Time) (gatehouse.AuditFilter, error) {
	var af gatehouse.AuditFilter
	var err error
	if f.since != "" {
		if af.Since, err = parseWhen("since", f.since, now); err != nil {
			return af, err
		}
	}
	if f.until != "" {
		if af.Until, err = parseWhen("until", f.until, now); err != nil {
			return af, err
		}
	}
	if !af.Since.IsZero() && !af.Until.IsZero() && !af.Since.Before(af.Until) {
		return af, usagef("--since (%s) must be before --until (%s)", af.Since.Format(time.RFC3339), af.Until.Format(time.RFC3339))
	}
	if f.event != "" && !slices.Contains(gatehouse.AuditEvents(), f.event) {
		return af, usagef("--event %q: unknown event; the events are %s", f.event, strings.Join(gatehouse.AuditEvents(), ", "))
	}
	af.Event = f.event
	if len(f.client) > gatehouse.MaxClientID || !gatehouse.ValidText(f.client) {
		return af, usagef("--client: not a client id (at most %d characters of valid UTF-8)", gatehouse.MaxClientID)
	}
	af.ClientID = f.client
	if f.limit < 1 || f.limit > maxAuditLimit {
		return af, usagef("--limit %d: want 1 to %d", f.limit, maxAuditLimit)
	}
	af.Limit = f.limit
	if f.format != "json" && f.format != "table" {
		return af, usagef("--format %q: want json or table", f.format)
	}
	return af, nil
}

// auditUser resolves --user: a username that exists wins; otherwise a
// positive number is a user id, which may be a deleted user's.
func auditUser(ctx context.Context, users interface {
	UserByUsername(context.Context, string) (gatehouse.User, error)
}, s string) (int64, error) {
	if gatehouse.ValidText(s) && gatehouse.Length(s) <= gatehouse.MaxUsername {
		u, err := users.UserByUsername(ctx, s)
		if err == nil {
			return u.ID, nil
		}
		if !errors.Is(err, gatehouse.ErrNotFound) {
			return 0, err
		}
	}
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	return 0, usagef("--user %q: no such user (give the id of a deleted user)", s)
}

func cmdAudit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		return usagef("audit takes no arguments, only flags; got %q", args[0])
	}
	f := e.extra.audit
	af, err := f.filter(time.Now())
	if err != nil {
		return err
	}
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if f.user != "" {
		if af.UserID, err = auditUser(ctx, a.Store, f.user); err != nil {
			return err
		}
	}
	af.Limit++ // one more tells whether more match
	events, err := a.Store.AuditEvents(ctx, af)
	if err != nil {
		return cliError(err)
	}
	more := len(events) > f.limit
	if more {
		events = events[:f.limit]
	}
	slices.Reverse(events) // oldest first, as a log reads
	if f.format == "table" {
		err = writeAuditTable(e.stdout, events)
	} else {
		err = writeAuditJSON(e.stdout, events)
	}
	if err != nil {
		return err
	}
	if more {
		fmt.Fprintf(e.stderr, "gatehouse: these are the newest %d matching events; older ones match too (narrow the filters, raise --limit, or add --until %s)\n",
			f.limit, events[0].At.Format(time.RFC3339Nano))
	}
	return nil
}

// auditLine is an event as `gatehouse audit` prints it: every field, the
// same names as the audit log line.
type auditLine struct {
	ID        int64             `json:"id"`
	At        string            `json:"at"`
	Event     string            `json:"event"`
	UserID    int64             `json:"user_id"`
	ActorID   int64             `json:"actor_id"`
	ClientID  string            `json:"client_id"`
	Source    string            `json:"source"`
	RequestID string            `json:"request_id"`
	Detail    map[string]string `json:"detail"`
}

func source(e gatehouse.AuditEvent) string {
	if e.Source.IsValid() {
		return e.Source.String()
	}
	return ""
}

func writeAuditJSON(w io.Writer, events []gatehouse.AuditEvent) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, e := range events {
		d := e.Detail
		if d == nil {
			d = map[string]string{}
		}
		if err := enc.Encode(auditLine{ID: e.ID, At: e.At.UTC().Format(time.RFC3339Nano), Event: e.Event, UserID: e.UserID,
			ActorID: e.ActorID, ClientID: e.ClientID, Source: source(e), RequestID: e.RequestID, Detail: d}); err != nil {
			return err
		}
	}
	return nil
}

func writeAuditTable(w io.Writer, events []gatehouse.AuditEvent) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tEVENT\tUSER\tACTOR\tCLIENT\tSOURCE\tREQUEST\tDETAIL")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	id := func(n int64) string {
		if n == 0 {
			return "-"
		}
		return strconv.FormatInt(n, 10)
	}
	for _, e := range events {
		var detail []string
		for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
			v := e.Detail[k]
			if q := strconv.Quote(v); v == "" || q[1:len(q)-1] != v || strings.ContainsAny(v, " =") {
				v = q // a value a reader could not tell apart otherwise
			}
			detail = append(detail, k+"="+v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Event, id(e.UserID), id(e.ActorID),
			dash(escaped(e.ClientID)), dash(source(e)), dash(escaped(e.RequestID)), strings.Join(detail, " "))
	}
	return tw.Flush()
}

// escaped is s with Go's escapes for what a terminal would act on (control
// characters, bidirectional overrides) or a reader could not see, so that
// a value an API caller chose (a token's name, a user's first name) cannot
// forge a table row or recolour the administrator's terminal.
func escaped(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
