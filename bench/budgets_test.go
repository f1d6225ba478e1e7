package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const budgetsDoc = `# Performance

## Budgets, issue 20 (runs 5-6)

Each cell: run 5, run 6 (– where the run did not measure it).

| case | SQLite | PostgreSQL | budget |
|---|---|---|---|
| binary size (runs 5, 6: as shipped) | 24.1 MB, 24.1 MB |  | < 30 MB |
| GET /api/me/ (JWT) | 0.85, **0.79** | 0.91, 0.82 | ≥ 0.8 |
| GET /api/me/ (JWT), fresh server, 1M stored tokens of each kind | 1.01, – | 1.03, – | ≥ 0.90 of fixture-only |
| POST /o/introspect/, fresh server, 1M stored tokens of each kind, during cleanup | 1.42×, – | 1.11×, – | p99 ≤ 2× its p99 without cleanup |
| login flood: the real user's p99 while 32 clients send logins | 2.4x, 2.0x | 2.5x, **3.3x** | p99 ≤ 3x idle |
| failed-login time by class (200 each; p5/p50/p95) | overlap, overlap | overlap, overlap | 5-95 % ranges of every pair overlap |
| RSS peak after the login wave (VmHWM) | 155.8 MB, 152.1 MB | 164.6 MB, 152.2 MB | ≤ 150 MB |
| GET /api/me/ (JWT), default throttles | – (401s); run 6: 0.98 | – (401s); run 6: 0.97 | ≥ 0.9 |
| POST /o/token/ (refresh_token, rotated) | **0.09**, **0.10** | **0.08**, **0.07** | ≥ 0.2 |

| budget | SQLite | PostgreSQL | source |
|---|---|---|---|
| import ≥ 2,500 rows/s | 4,916 | 2,960 | elsewhere |

## Security cases

| case | SQLite |
|---|---|
| GET /api/me/ (JWT) | untouched |
`

const budgetsRun = `
16 connections, 2s warm-up.

| server | backend | case | req/s or value | p50 | p99 | errors | vs yardstick | vs Django | budget |
|---|---|---|---:|---:|---:|---:|---|---|---|
| gatehouse | - | binary size as shipped (go build -trimpath) | 24.2 MB |  |  |  |  |  | < 30 MB: met |
| limit | sqlite | GET /jwt | 21354.4 | 597µs | 4.482ms | 0 |  |  |  |
| gatehouse | sqlite | GET /api/me/ (JWT) | 16872.3 | 775µs | 4.947ms | 0 | 0.76 of limit /jwt | 47.9× (Django 352.5/s) | ≥ 0.8: MISSED |
| gatehouse | postgres | GET /api/me/ (JWT) | 16872.3 | 775µs | 4.947ms | 0 | 0.88 of limit /jwt |  | ≥ 0.8: met |
| gatehouse | sqlite | GET /api/me/ (JWT), fresh server, 1M stored tokens of each kind | 17510.2 | 761µs | 4.526ms | 0 | 0.75 of limit /jwt |  | 0.87 of fixture-only in alternating rounds (≥ 0.90: MISSED) |
| gatehouse | postgres | GET /api/me/ (JWT), fresh server, 1M stored tokens of each kind | 17510.2 | 761µs | 4.526ms | 0 | 0.75 of limit /jwt |  | 1.03 of fixture-only in alternating rounds (≥ 0.90: met) |
| gatehouse | sqlite | POST /o/introspect/, fresh server, 1M stored tokens of each kind, during cleanup | 11495.8 | 949µs | 7.633ms | 0 | 0.56 of limit /bare |  | p99 1.63× without cleanup (≤ 2: met) |
| gatehouse | postgres | POST /o/introspect/, fresh server, 1M stored tokens of each kind, during cleanup | 11495.8 | 949µs | 7.633ms | 0 | 0.56 of limit /bare |  | p99 2.10× without cleanup (≤ 2: MISSED) |
| gatehouse | sqlite | login flood: the real user's p99 while 32 clients send logins | 30.7ms / 89.6ms |  |  |  |  |  | p99 2.2x idle, ≤ 3x: met |
| gatehouse | postgres | login flood: the real user's p99 while 32 clients send logins | 30.7ms / 89.6ms |  |  |  |  |  | p99 3.1x idle, ≤ 3x: MISSED |
| gatehouse | sqlite | failed-login time by class (200 each; p5/p50/p95) | unknown user 44.99ms |  |  |  |  |  | 5-95 % ranges of every pair overlap: met |
| gatehouse | postgres | failed-login time by class (200 each; p5/p50/p95) | unknown user 54.77ms |  |  |  |  |  | 5-95 % ranges of every pair overlap: met |
| gatehouse | sqlite | RSS peak after the login wave (VmHWM) | 136.7 MB |  |  |  |  |  | ≤ 150 MB: met |
| gatehouse | postgres | RSS peak after the login wave (VmHWM) | 151.0 MB |  |  |  |  |  | ≤ 150 MB: MISSED |
| gatehouse | sqlite | GET /api/me/ (JWT), default throttles | 21328.3 | 463µs | 4.899ms | 0 | 0.93 of the same case without the flood |  | ≥ 0.9: met |
| gatehouse | postgres | GET /api/me/ (JWT), default throttles | 19673.8 | 475µs | 4.987ms | 0 | 0.86 of the same case without the flood |  | ≥ 0.9: MISSED |
`

// A run's figures go to the end of each budgets cell, bold where missed,
// "–" where the run did not measure the case (reported), the throttles
// row by the run's name; the heading and the legend count the run;
// nothing outside the budgets table changes.
func TestAppendBudgets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "performance.md")
	if err := os.WriteFile(path, []byte(budgetsDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	missing, err := appendBudgets(path, "run 7", budgetsRun)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := strings.NewReplacer(
		"(runs 5-6)", "(runs 5-7)",
		"run 5, run 6 (– where", "run 5, run 6, run 7 (– where",
		"| 24.1 MB, 24.1 MB |  |", "| 24.1 MB, 24.1 MB, 24.2 MB |  |",
		"| 0.85, **0.79** | 0.91, 0.82 |", "| 0.85, **0.79**, **0.76** | 0.91, 0.82, 0.88 |",
		"| 1.01, – | 1.03, – |", "| 1.01, –, **0.87** | 1.03, –, 1.03 |",
		"| 1.42×, – | 1.11×, – |", "| 1.42×, –, 1.63× | 1.11×, –, **2.10×** |",
		"| 2.4x, 2.0x | 2.5x, **3.3x** |", "| 2.4x, 2.0x, 2.2x | 2.5x, **3.3x**, **3.1x** |",
		"| overlap, overlap | overlap, overlap |", "| overlap, overlap, overlap | overlap, overlap, overlap |",
		"| 155.8 MB, 152.1 MB | 164.6 MB, 152.2 MB |", "| 155.8 MB, 152.1 MB, 136.7 MB | 164.6 MB, 152.2 MB, **151.0 MB** |",
		"| – (401s); run 6: 0.98 | – (401s); run 6: 0.97 |", "| – (401s); run 6: 0.98, run 7: 0.93 | – (401s); run 6: 0.97, run 7: **0.86** |",
		"| **0.09**, **0.10** | **0.08**, **0.07** |", "| **0.09**, **0.10**, – | **0.08**, **0.07**, – |",
	).Replace(budgetsDoc)
	if string(got) != want {
		t.Fatalf("the document after run 7:\n%s\nwant:\n%s", got, want)
	}
	wantMissing := []string{"sqlite: POST /o/token/ (refresh_token, rotated)", "postgres: POST /o/token/ (refresh_token, rotated)"}
	if !slices.Equal(missing, wantMissing) {
		t.Fatalf("reported without a figure: %q, want %q", missing, wantMissing)
	}
}

// A document without the budgets heading is refused before a run starts
// (main checks -budgets-doc with budgetsSection) and by appendBudgets,
// which leaves it as it was.
func TestAppendBudgetsNoTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.md")
	const doc = "# Notes\n\n| case | SQLite |\n|---|---|\n| x | 1 |\n"
	os.WriteFile(path, []byte(doc), 0o644)
	if _, _, err := budgetsSection(path); err == nil {
		t.Fatal("a document without the budgets table was accepted")
	}
	if _, err := appendBudgets(path, "run 7", budgetsRun); err == nil {
		t.Fatal("appendBudgets wrote to a document without the budgets table")
	}
	if got, _ := os.ReadFile(path); string(got) != doc {
		t.Fatalf("the document changed:\n%s", got)
	}
	if _, _, err := budgetsSection(filepath.Join(t.TempDir(), "absent.md")); err == nil {
		t.Fatal("a missing document was accepted")
	}
}

// The flags are checked before a run: both or neither, a run name that is
// not blank, a document that has the table.
func TestCheckBudgetsFlags(t *testing.T) {
	good := filepath.Join(t.TempDir(), "performance.md")
	os.WriteFile(good, []byte(budgetsDoc), 0o644)
	other := filepath.Join(t.TempDir(), "other.md")
	os.WriteFile(other, []byte("# Notes\n"), 0o644)
	for _, c := range []struct {
		doc, run string
		ok       bool
	}{
		{"", "", true},
		{good, "run 7", true},
		{good, "", false},
		{good, "  ", false},
		{"", "run 7", false},
		{other, "run 7", false},
		{filepath.Join(t.TempDir(), "absent.md"), "run 7", false},
	} {
		if err := checkBudgetsFlags(c.doc, c.run); (err == nil) != c.ok {
			t.Errorf("-budgets-doc %q -budgets-run %q: %v, want ok %v", c.doc, c.run, err, c.ok)
		}
	}
}
