// Command tcpfsm works with the TCP state-machine spec (spec/tcp.yaml):
// it validates it, generates the Go dispatcher and the docs from it, draws
// it, model-checks it, and runs it on real traffic through a TUN device.
//
// Usage:
//
//	tcpfsm <command> [flags] [arguments]
//
// Run "tcpfsm help" for the list of commands and "tcpfsm <command> -h" for
// a command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one subcommand. run gets the arguments after the command name
// and returns the exit code: 0 success, 1 failure (e.g. an invalid spec),
// 2 bad usage.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order help shows them. To add one,
// write its run function in a file of its own and add a row here.
func commands() []command {
	return []command{
		{"validate", "check a spec; report every error as file:line:col", runValidate},
		{"gen", "generate the Go dispatcher and the docs from a spec", runGen},
		{"diagram", "print the state diagram as DOT, Mermaid, Markdown or SVG", runDiagram},
		{"check", "explore every interleaving of two endpoints up to a depth; print a counterexample", runCheck},
		{"bottleneck", "measure congestion control over simulated bottlenecks: smoltcp's loss grid, link utilisation", runBottleneck},
		{"serve", "run the generated TCP on a TUN device and print its transitions", runServe},
		{"dial", "connect over the generated TCP on a TUN device; copy stdin and stdout", func(args []string, stdout, stderr io.Writer) int {
			return runDial(args, os.Stdin, stdout, stderr)
		}},
		{"demo", "show the generated TCP talking to the kernel's TCP, as a textbook story", runDemo},
		{"trace", "judge a packet capture against the spec: both ends' states and the rule behind every segment", runTrace},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			if c, ok := lookup(args[1]); ok {
				return c.run([]string{"-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "tcpfsm help: unknown command %q\n\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "tcpfsm: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage prints the list of commands.
func usage(w io.Writer) {
	fmt.Fprint(w, `tcpfsm works with the TCP state-machine spec (RFC 9293).

Usage:

	tcpfsm <command> [flags] [arguments]

Commands:

`)
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "tcpfsm <command> -h" for a command's flags.
`)
}

// newFlagSet returns a FlagSet for a subcommand that reports nothing by
// itself: parse prints errors and help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("tcpfsm "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a subcommand's flags. help is the text shown above the flag
// list. It returns ok=false and the exit code when the command should stop:
// 0 after -h (help on stdout), 2 after a bad flag (the problem on stderr).
func parse(fs *flag.FlagSet, help string, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		printHelp(fs, help, stdout)
		return 0, false
	default:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		fmt.Fprintf(stderr, "run '%s -h' for help\n", fs.Name())
		return 2, false
	}
}

// printHelp writes the help text and the flags with their defaults.
func printHelp(fs *flag.FlagSet, help string, w io.Writer) {
	fmt.Fprintln(w, strings.TrimSpace(help))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// usageError reports bad arguments (not flags) and returns exit code 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(stderr, "run '%s -h' for help\n", fs.Name())
	return 2
}
