package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Exit codes shared by the subcommands.
const (
	exitOK       = 0
	exitFailed   = 1 // the command ran and found a problem (invalid chain, skipped lines)
	exitUnusable = 2 // bad usage, or input that could not be read or judged
)

// A command is one subcommand. To add one, create cmd_<name>.go with a
// constructor returning its *command, and add that constructor to
// allCommands:
//
//	func extractCommand() *command { return &command{name: "extract", summary: "...", usage: "...", run: runExtract} }
type command struct {
	name    string
	summary string // one line, shown by warden -h
	usage   string // the argument synopsis, shown by warden <name> -h
	run     func(ctx context.Context, e *env, args []string) int
}

// allCommands is the registry: every subcommand, one line each.
func allCommands() []*command {
	return []*command{
		chainCommand(),
		verifyCommand(),
		keygenCommand(),
		extractCommand(),
		injectionCommand(),
		alertCommand(),
		ctemCommand(),
	}
}

// lookup returns the subcommand called name.
func lookup(name string) (*command, bool) {
	for _, c := range allCommands() {
		if c.name == name {
			return c, true
		}
	}
	return nil, false
}

// env is what a command may touch: its streams and the clock (tests
// replace both).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	return &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "warden: "+format+"\n", args...)
}

// run dispatches args to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return exitUnusable
		}
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		e.errorf("unknown subcommand %q", args[0])
		usage(e.stderr)
		return exitUnusable
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: warden <subcommand> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "subcommands:")
	cmds := allCommands()
	slices.SortFunc(cmds, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "run 'warden <subcommand> -h' for its flags")
}

// flags returns a FlagSet for c that writes its help to e.stderr.
func (c *command) flags(e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("warden "+c.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: warden %s %s\n\n%s\n\n", c.name, c.usage, c.summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; done is true when the command should return code at
// once (help or a usage error).
func parse(fs *flag.FlagSet, args []string) (done bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, exitOK
		}
		return true, exitUnusable
	}
	return false, exitOK
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
