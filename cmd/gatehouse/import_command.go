package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse-auth/gatehouse/djangodb"
	"github.com/gatehouse-auth/gatehouse/fixture"
	"github.com/gatehouse-auth/gatehouse/site"
	"github.com/gatehouse-auth/gatehouse/store"

	"golang.org/x/term"
)

// importFlags are the flags of import.
type importFlags struct {
	from        string
	restart     bool
	batch       int
	userModel   string
	userTable   string
	oauthModels oauthModelFlags // a project's own DOT models (oauth_models.go)
	zone        timeZoneFlag    // a project's TIME_ZONE without USE_TZ (timezone_flag.go)
}

func (f *importFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.from, "from", "", "the Django database: a postgres:// or mysql:// URL, or the path of a SQLite file (required; read-only)")
	fs.BoolVar(&f.restart, "restart", false, "start over instead of continuing a stopped import from the same database")
	fs.IntVar(&f.batch, "batch-size", 1000, "rows read and stored per transaction")
	fs.StringVar(&f.userModel, "user-model", "", "the project's AUTH_USER_MODEL (app_label.Model) when it is not auth.User: its table is read instead of auth_user")
	fs.StringVar(&f.userTable, "user-table", "", "that model's table when its Meta.db_table names one (default: app_label_model)")
	f.oauthModels.register(fs, false)
	f.zone.register(fs)
}

// groupBatches is how many batches make one progress line when standard
// error is not a terminal; on a terminal the line is redrawn at most
// every redrawEvery.
const (
	groupBatches = 10
	redrawEvery  = 250 * time.Millisecond
)

// cmdImport copies a Django database's users, groups, tokens and OAuth rows
// into gatehouse, table by table in batches. Each batch is read as the
// objects dumpdata would write for its rows, converted by the fixture
// package as loaddata converts them, and stored in one transaction with the
// import's progress, so that a stopped import run again with the same
// --from continues after the last batch stored.
func cmdImport(ctx context.Context, e *env, args []string) error {
	f := e.extra.imp
	if f.from == "" || len(args) > 0 {
		return usagef("usage: gatehouse import --from DJANGO_DATABASE (a postgres:// or mysql:// URL, or the path of a Django SQLite file)")
	}
	if f.batch < 1 {
		return usagef("--batch-size must be at least 1")
	}
	// The source first: a source that cannot be read changes nothing here.
	oauthModels, err := f.oauthModels.models()
	if err != nil {
		return err
	}
	src, err := djangodb.Open(ctx, f.from, djangodb.Options{UserModel: f.userModel, UserTable: f.userTable, OAuthModels: oauthModels,
		UsernameField: loginField(e.cfg.UsernameField), TimeZone: f.zone.loc})
	if err != nil {
		return err
	}
	defer src.Close()
	a, err := site.OpenServices(ctx, e.cfg, e.options())
	if err != nil {
		return err
	}
	defer a.Close()
	if f.restart {
		if err := a.Store.ForgetImport(ctx, src.Name()); err != nil {
			return err
		}
	}
	marks, err := a.Store.ImportMarks(ctx, src.Name())
	if err != nil {
		return err
	}
	if len(marks) > 0 {
		fmt.Fprintf(e.stderr, "continuing the import from %s where it stopped (--restart starts over)\n", src.Name())
	}
	for _, st := range src.Steps() {
		if st.Absent != "" {
			fmt.Fprintf(e.stderr, "note: %s\n", st.Absent)
		}
	}
	for _, n := range src.Notes() {
		fmt.Fprintf(e.stderr, "note: %s\n", n)
	}
	imp := &importer{src: src, store: a.Store, conv: fixture.Converter{Box: a.Box, ClientSecrets: a.Secrets,
		UserModel: src.UserModel(), UserModelFound: src.UserModelFound(), UsernameField: loginField(e.cfg.UsernameField), OAuthModels: oauthModels},
		batch: f.batch, marks: marks, progress: newProgress(e.stderr, time.Now), sum: newImportSummary()}
	started := time.Now()
	if err := imp.run(ctx); err != nil {
		imp.progress.stop()
		if imp.current != "" {
			fmt.Fprintf(e.stderr, "import stopped in %s; what was stored is kept: run the same command again to continue (--restart starts over)\n", imp.current)
		}
		return err
	}
	// Done: the next import from this source reads every row again.
	if err := a.Store.ForgetImport(ctx, src.Name()); err != nil {
		return err
	}
	imp.sum.print(e.stdout, e.stderr, src.Name(), time.Since(started))
	return nil
}

// importer runs an import: a goroutine reads and converts batches while
// the caller stores the previous one.
type importer struct {
	src      *djangodb.Source
	store    *store.Store
	conv     fixture.Converter
	batch    int
	marks    map[string]store.ImportMark
	progress *progress
	sum      *importSummary
	current  string // the table being imported
}

// piece is what the reader hands the writer: the start of a step, a
// converted batch, or an error.
type piece struct {
	step   djangodb.Step
	start  bool
	total  int64 // at start: the step's rows, those stored before included
	set    fixture.Set
	rows   int
	last   string
	models map[string]int // objects of the batch by model
	err    error
}

func (im *importer) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pieces := make(chan piece, 1)
	// The reader starts each table where the marks stored before this run
	// say; it gets its own copy, since run updates im.marks as batches are
	// stored.
	go im.read(ctx, maps.Clone(im.marks), pieces)
	// The reader uses the source until it returns, which it does once
	// cancelled: wait for it, so that the source is closed after.
	defer func() {
		cancel()
		for range pieces {
		}
	}()
	var done int64
	var step djangodb.Step
	for p := range pieces {
		if p.err != nil {
			return p.err
		}
		if p.start {
			im.progress.finish()
			step, im.current = p.step, p.step.Table
			done = im.marks[step.Table].Rows
			im.progress.begin(step.Table, done, p.total)
			continue
		}
		done += int64(p.rows)
		mark := store.ImportMark{Source: im.src.Name(), Table: step.Table, LastKey: p.last, Rows: done}
		if err := im.store.LoadBatch(ctx, p.set, mark); err != nil {
			return fmt.Errorf("%s: rows after key %s: nothing of this batch stored: %w", step.Table, keyInMessage(im.marks[step.Table].LastKey), err)
		}
		im.marks[step.Table] = mark
		im.sum.add(p.models, p.set)
		im.progress.add(p.rows)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	im.progress.finish()
	im.current = ""
	return nil
}

// keyInMessage shows a key for an error: a long one (a knox digest) by
// its start only.
func keyInMessage(key string) string {
	if key == "" {
		return "(the first)"
	}
	if len(key) > 16 {
		return key[:12] + "…"
	}
	return key
}

// read sends every step's batches, converted, in order, then closes out.
func (im *importer) read(ctx context.Context, marks map[string]store.ImportMark, out chan<- piece) {
	defer close(out)
	send := func(p piece) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, st := range im.src.Steps() {
		if st.Absent != "" {
			continue
		}
		after := marks[st.Table].LastKey
		left, err := im.src.Remaining(ctx, st, after)
		if err != nil {
			send(piece{err: err})
			return
		}
		if !send(piece{step: st, start: true, total: marks[st.Table].Rows + left}) {
			return
		}
		for {
			b, err := im.src.Read(ctx, st, after, im.batch)
			if err != nil {
				send(piece{err: err})
				return
			}
			if b.Rows == 0 {
				break
			}
			set, err := im.conv.Convert(b.Objects)
			if err != nil {
				send(piece{err: fmt.Errorf("%s: rows after key %s: %w", st.Table, keyInMessage(after), err)})
				return
			}
			models := map[string]int{}
			for _, o := range b.Objects {
				models[o.Model]++
			}
			if !send(piece{step: st, set: set, rows: b.Rows, last: b.Last, models: models}) {
				return
			}
			after = b.Last
		}
	}
}

// importSummary counts what was stored, by model, as loaddata reports it.
type importSummary struct {
	stored   map[string]int
	skipped  map[string]int
	warnings []string
	tally    fixture.Tally // warned about once, after the last batch
	hashes   unusableHashes
}

func newImportSummary() *importSummary {
	return &importSummary{stored: map[string]int{}, skipped: map[string]int{}, hashes: unusableHashes{}}
}

// add counts a stored batch: its objects by model, less those of models
// the converter skipped.
func (s *importSummary) add(models map[string]int, set fixture.Set) {
	for m, n := range models {
		if k := set.Skipped[m]; k > 0 {
			s.skipped[m] += k
			n -= k
		}
		if n > 0 {
			s.stored[m] += n
		}
	}
	s.warnings = append(s.warnings, set.Warnings...)
	s.tally.Add(set.Tally)
	s.hashes.add(set.Users)
}

func (s *importSummary) print(stdout, stderr io.Writer, source string, took time.Duration) {
	total := 0
	models := make([]string, 0, len(s.stored))
	for m, n := range s.stored {
		models = append(models, m)
		total += n
	}
	sort.Strings(models)
	fmt.Fprintf(stdout, "imported from %s:\n", source)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, m := range models {
		fmt.Fprintf(tw, "  %s\t%d\t\n", m, s.stored[m])
	}
	tw.Flush()
	rate := 0.0
	if took > 0 {
		rate = float64(total) / took.Seconds()
	}
	fmt.Fprintf(stdout, "Installed %d objects in %s (%.0f objects/s)\n", total, took.Round(time.Millisecond), rate)
	skipped := make([]string, 0, len(s.skipped))
	for m := range s.skipped {
		skipped = append(skipped, m)
	}
	sort.Strings(skipped)
	for _, m := range skipped {
		fmt.Fprintf(stderr, "skipped %d objects of model %s: gatehouse does not keep it\n", s.skipped[m], m)
	}
	for _, w := range append(s.warnings, s.tally.Warnings()...) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	for _, w := range s.hashes.messages() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
}

// progress shows each table's rows stored and rate on standard error: on
// a terminal one line per table, redrawn at most every redrawEvery;
// elsewhere (a log) a line every groupBatches batches and one when the
// table is done.
type progress struct {
	w       io.Writer
	tty     bool
	now     func() time.Time
	table   string
	done    int64 // rows stored, earlier runs' included
	total   int64
	fresh   int64 // rows stored by this run
	batches int
	start   time.Time
	drawn   time.Time
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, now: now, tty: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) begin(table string, done, total int64) {
	*p = progress{w: p.w, tty: p.tty, now: p.now, table: table, done: done, total: total, start: p.now()}
	if p.tty {
		p.draw()
	}
}

func (p *progress) add(rows int) {
	p.done += int64(rows)
	p.fresh += int64(rows)
	p.batches++
	if p.tty {
		if p.now().Sub(p.drawn) >= redrawEvery {
			p.draw()
		}
		return
	}
	if p.batches%groupBatches == 0 {
		fmt.Fprintln(p.w, p.line())
	}
}

// finish ends the current table's line, if any.
func (p *progress) finish() {
	if p.table == "" {
		return
	}
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
	} else {
		fmt.Fprintln(p.w, p.line()+", done")
	}
	p.table = ""
}

// stop ends the line of an import that failed or was stopped.
func (p *progress) stop() {
	if p.table != "" && p.tty {
		fmt.Fprintln(p.w)
	}
	p.table = ""
}

func (p *progress) draw() {
	p.drawn = p.now()
	fmt.Fprint(p.w, "\r\033[K"+p.line())
}

func (p *progress) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d rows", p.table, p.done, p.total)
	if p.total > 0 {
		fmt.Fprintf(&b, " (%d%%)", p.done*100/p.total)
	}
	if el := p.now().Sub(p.start); el > 0 && p.fresh > 0 {
		fmt.Fprintf(&b, ", %.0f rows/s", float64(p.fresh)/el.Seconds())
	}
	return b.String()
}
