package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// The budgets table of docs/performance.md keeps each budgeted case's
// figure from every full run, one cell per backend: "0.82, 0.85, **0.79**"
// (bold: missed in that run). appendBudgets adds a run's figures to it
// from the run's own table (printTable's text), so that the table is
// regenerated from the benchmark rather than by hand.

// budgetRow is one gatehouse row of a run's table.
type budgetRow struct {
	backend, name, value, vsYardstick, budget string
}

// parseRunTable reads the gatehouse rows of printTable's text.
func parseRunTable(table string) []budgetRow {
	var rows []budgetRow
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| gatehouse |") {
			continue
		}
		c := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(c) < 10 {
			continue
		}
		for i := range c {
			c[i] = strings.TrimSpace(c[i])
		}
		rows = append(rows, budgetRow{backend: c[1], name: c[2], value: c[3], vsYardstick: c[7], budget: c[9]})
	}
	return rows
}

var (
	fixtureRatio = regexp.MustCompile(`^([0-9.]+) of fixture-only`)
	cleanupP99   = regexp.MustCompile(`^p99 ([0-9.]+×) without cleanup`)
	idleP99      = regexp.MustCompile(`^p99 ([0-9.]+x) idle`)
	leadRatio    = regexp.MustCompile(`^([0-9.]+) of `)
)

// figure is a row's figure as the budgets table shows it, bold when
// missed; "" for a row without a budget.
func (r budgetRow) figure() string {
	missed := strings.Contains(r.budget, "MISSED")
	if !missed && !strings.Contains(r.budget, "met") {
		return ""
	}
	f := r.value // a resource: its value
	if m := r.fromBudget(); m != "" {
		f = m
	} else if strings.Contains(r.budget, "overlap") {
		f = "overlap"
	} else if m := leadRatio.FindStringSubmatch(r.vsYardstick); m != nil {
		f = m[1]
	}
	if missed {
		return "**" + f + "**"
	}
	return f
}

// fromBudget is the figure a row's budget verdict states (the 1M-token
// rows' ratio, the p99 factors), "" when it states none.
func (r budgetRow) fromBudget() string {
	for _, re := range []*regexp.Regexp{fixtureRatio, cleanupP99, idleP99} {
		if m := re.FindStringSubmatch(r.budget); m != nil {
			return m[1]
		}
	}
	return ""
}

// budgetKey is the part of a budgets-table case that names the run's row:
// the table's own notes in parentheses on a few rows are not in the run's
// names, and a run's resource rows carry theirs.
func budgetKey(name string) string {
	switch {
	case strings.HasPrefix(name, "binary size"):
		return "binary size"
	case strings.HasPrefix(name, "RSS peak of the server with 1M"):
		return "RSS peak of the server with 1M stored tokens of each kind (VmHWM"
	case strings.HasPrefix(name, "RSS peak after the login wave"):
		return "RSS peak after the login wave (VmHWM)"
	}
	return name
}

func findRow(rows []budgetRow, backend, key string) *budgetRow {
	if key == "binary size" && backend == "sqlite" {
		backend = "-" // measured once, shown in the first column
	}
	for i := range rows {
		r := &rows[i]
		if r.backend == backend && (r.name == key || strings.HasPrefix(r.name, key)) {
			return r
		}
	}
	return nil
}

var budgetsHeading = regexp.MustCompile(`## Budgets, issue 20 \(runs (\d+)-(\d+)\)`)

// checkBudgetsFlags checks -budgets-doc and -budgets-run before the run,
// so that a document without the table is found wanting before the run
// rather than after it.
func checkBudgetsFlags(doc, run string) error {
	if (doc == "") != (strings.TrimSpace(run) == "") {
		return fmt.Errorf("-budgets-doc and -budgets-run go together")
	}
	if doc == "" {
		return nil
	}
	if _, _, err := budgetsSection(doc); err != nil {
		return fmt.Errorf("-budgets-doc: %w", err)
	}
	return nil
}

// budgetsSection reads the document at path and finds its budgets
// section: from its heading to the next heading of its level.
func budgetsSection(path string) (string, [2]int, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return "", [2]int{}, err
	}
	text := string(doc)
	loc := budgetsHeading.FindStringIndex(text)
	if loc == nil {
		return "", [2]int{}, fmt.Errorf("%s: no heading \"## Budgets, issue 20 (runs N-M)\"", path)
	}
	end := strings.Index(text[loc[0]:], "\n## ")
	if end < 0 {
		end = len(text) - loc[0]
	}
	return text, [2]int{loc[0], loc[0] + end}, nil
}

// appendBudgets adds the run labelled label (its table's text) to the
// budgets table of the document at path. A cell of a case the run did not
// measure gets "–"; the row of the flood with default throttles, whose
// cells list runs by name, gets "label: figure". It returns the cases
// left without a figure.
func appendBudgets(path, label, table string) ([]string, error) {
	text, loc, err := budgetsSection(path)
	if err != nil {
		return nil, err
	}
	section := text[loc[0]:loc[1]]
	rows := parseRunTable(table)
	var missing []string
	lines := strings.Split(section, "\n")
	inTable := false
	for i, line := range lines {
		if strings.HasPrefix(line, "| case |") {
			inTable = true
			continue
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "| ") {
			inTable = false
			continue
		}
		c := strings.Split(strings.Trim(line, "|"), "|")
		if len(c) < 4 {
			continue
		}
		name := strings.TrimSpace(c[0])
		for j, backend := range []string{"sqlite", "postgres"} {
			cell := strings.TrimSpace(c[1+j])
			if cell == "" {
				continue
			}
			f := ""
			if r := findRow(rows, backend, budgetKey(name)); r != nil {
				f = r.figure()
			}
			switch {
			case strings.Contains(name, "default throttles"):
				if f != "" {
					cell += ", " + label + ": " + f
				}
			case f == "":
				cell += ", –"
			default:
				cell += ", " + f
			}
			if f == "" {
				missing = append(missing, backend+": "+name)
			}
			c[1+j] = " " + cell + " "
		}
		lines[i] = "|" + strings.Join(c, "|") + "|"
	}
	section = strings.Join(lines, "\n")
	m := budgetsHeading.FindStringSubmatch(section)
	last, _ := strconv.Atoi(m[2]) // digits: the heading matched
	section = strings.Replace(section, m[0], fmt.Sprintf("## Budgets, issue 20 (runs %s-%d)", m[1], last+1), 1)
	section = strings.Replace(section, fmt.Sprintf("run %d (– where", last), fmt.Sprintf("run %d, %s (– where", last, label), 1)
	out := text[:loc[0]] + section + text[loc[1]:]
	return missing, os.WriteFile(path, []byte(out), 0o644)
}
