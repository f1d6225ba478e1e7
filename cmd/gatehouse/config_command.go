package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/gatehouse-auth/gatehouse/site"
)

// cmdConfig prints every setting's value and where it came from (flag,
// variable, file line, default), secrets hidden; --markdown prints the
// reference table of docs/configuration.md instead.
func cmdConfig(ctx context.Context, e *env, args []string) error {
	if e.extra.markdown {
		var c site.Config
		fmt.Fprintln(e.stdout, "| flag | variable | default | meaning |\n|---|---|---|---|")
		for _, s := range c.Settings() {
			fmt.Fprintf(e.stdout, "| `--%s` | `%s` | `%s` | %s |\n", s.Name, s.Env(), s.Default, s.Help)
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE")
	for _, s := range e.cfg.Settings() {
		v := site.RedactedValue(s)
		if v == "" {
			v = `""`
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, oneLine(v), e.cfg.Source(s.Name))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The values are shown all the same; the exit status says whether a
	// start would take them (what needs the database is not checked).
	err := site.CheckSettings(e.cfg)
	if _, _, merr := parseMemoryLimit(e.cfg.MemoryLimit); err == nil && merr != nil {
		err = fmt.Errorf("GATEHOUSE_MEMORY_LIMIT: %w", merr) // serve's own setting (memlimit.go)
	}
	if err != nil {
		return fmt.Errorf("gatehouse serve would refuse these settings: %w", err)
	}
	return nil
}

// oneLine keeps a table row on one line (a PEM key's newlines, say).
func oneLine(s string) string {
	s = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// cmdCompletion prints a completion script for bash, zsh or fish: the
// command names, then each command's flags, from the same table as
// --help.
func cmdCompletion(ctx context.Context, e *env, args []string) error {
	var top []string
	subs := map[string][]string{}
	flagsOf := map[string][]string{}
	seen := map[string]bool{}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if !seen[words[0]] {
			top = append(top, words[0])
			seen[words[0]] = true
		}
		if len(words) == 2 {
			subs[words[0]] = append(subs[words[0]], words[1])
		}
		flagsOf[c.name] = commandFlags(c)
	}
	switch args[0] {
	case "bash":
		return bashCompletion(e.stdout, top, subs, flagsOf)
	case "zsh":
		// zsh runs bash completions through bashcompinit.
		fmt.Fprintln(e.stdout, "#compdef gatehouse\nautoload -U +X bashcompinit && bashcompinit")
		return bashCompletion(e.stdout, top, subs, flagsOf)
	case "fish":
		return fishCompletion(e.stdout, top, subs, flagsOf)
	}
	return usagef("completion: unknown shell %q: want bash, zsh or fish", args[0])
}

// commandFlags are the names of a command's own flags (serve's: the
// settings).
func commandFlags(c command) []string {
	var names []string
	if c.name == "serve" {
		var cfg site.Config
		for _, s := range cfg.Settings() {
			names = append(names, "--"+s.Name)
		}
		return names
	}
	fs := newFlagSet(c.name)
	registerCommandFlags(c.name, fs)
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	return append(names, "--help")
}

func bashCompletion(w io.Writer, top []string, subs map[string][]string, flagsOf map[string][]string) error {
	var b strings.Builder
	b.WriteString("# gatehouse completion for bash: source <(gatehouse completion bash)\n_gatehouse() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} sub=${COMP_WORDS[2]} words\n")
	b.WriteString("  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    words=\"" + strings.Join(top, " ") + " --help\"\n")
	b.WriteString("  else\n    case \"$cmd\" in\n")
	for _, g := range top {
		if s, ok := subs[g]; ok {
			fmt.Fprintf(&b, "      %s)\n        if [ \"$COMP_CWORD\" -eq 2 ]; then words=\"%s\"; else\n          case \"$sub\" in\n", g, strings.Join(s, " "))
			for _, sub := range s {
				fmt.Fprintf(&b, "            %s) words=\"%s\" ;;\n", sub, strings.Join(flagsOf[g+" "+sub], " "))
			}
			b.WriteString("          esac\n        fi ;;\n")
			continue
		}
		fmt.Fprintf(&b, "      %s) words=\"%s\" ;;\n", g, strings.Join(flagsOf[g], " "))
	}
	b.WriteString("    esac\n  fi\n  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n  [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- \"$cur\"))\n  return 0\n}\ncomplete -F _gatehouse gatehouse\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func fishCompletion(w io.Writer, top []string, subs map[string][]string, flagsOf map[string][]string) error {
	var b strings.Builder
	b.WriteString("# gatehouse completion for fish: gatehouse completion fish | source\ncomplete -c gatehouse -f\n")
	fmt.Fprintf(&b, "complete -c gatehouse -n __fish_use_subcommand -a '%s'\n", strings.Join(top, " "))
	for _, g := range top {
		if s, ok := subs[g]; ok {
			fmt.Fprintf(&b, "complete -c gatehouse -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a '%s'\n", g, strings.Join(s, " "), strings.Join(s, " "))
			for _, sub := range s {
				for _, f := range flagsOf[g+" "+sub] {
					fmt.Fprintf(&b, "complete -c gatehouse -n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s' -l %s\n", g, sub, strings.TrimPrefix(f, "--"))
				}
			}
			continue
		}
		for _, f := range flagsOf[g] {
			fmt.Fprintf(&b, "complete -c gatehouse -n '__fish_seen_subcommand_from %s' -l %s\n", g, strings.TrimPrefix(f, "--"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
