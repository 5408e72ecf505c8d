package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/spec"
)

// tcpSpec is the real spec, seen from this package's directory.
const tcpSpec = "../../spec/tcp.yaml"

// call runs args through the top-level dispatcher.
func call(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func loadTCP(t *testing.T) *spec.Machine {
	t.Helper()
	m, err := spec.Load(tcpSpec)
	if err != nil {
		t.Fatalf("load %s: %v", tcpSpec, err)
	}
	return m
}

func needDot(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz 'dot' not in PATH (apt-get install graphviz): skipping the SVG part")
	}
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"--help"}} {
		code, out, errOut := call(args...)
		if code != 0 || errOut != "" {
			t.Errorf("tcpfsm %v: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\t"+c.name+" ") || !strings.Contains(out, c.summary) {
				t.Errorf("tcpfsm %v does not list %s with its summary:\n%s", args, c.name, out)
			}
		}
	}
}

func TestNoCommand(t *testing.T) {
	code, out, errOut := call()
	if code != 2 || out != "" || !strings.Contains(errOut, "Commands:") {
		t.Errorf("tcpfsm with no command: exit %d, stdout %q, stderr %q; want 2 and usage on stderr", code, out, errOut)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, out, errOut := call("frobnicate")
	if code != 2 || out != "" {
		t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
	}
	if !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "Commands:") {
		t.Errorf("stderr does not name the command and show usage:\n%s", errOut)
	}
	code, _, errOut = call("help", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: exit %d, stderr %q; want 2 naming it", code, errOut)
	}
}

// Every subcommand: -h prints help on stdout and exits 0; an unknown flag
// exits 2 naming it; "help CMD" is "CMD -h".
func TestEveryCommandHelpAndBadFlag(t *testing.T) {
	for _, c := range commands() {
		code, out, errOut := call(c.name, "-h")
		if code != 0 || errOut != "" || !strings.Contains(out, "usage: tcpfsm "+c.name) {
			t.Errorf("%s -h: exit %d, stderr %q, stdout %q; want 0 and usage on stdout", c.name, code, errOut, out)
		}
		code2, out2, _ := call("help", c.name)
		if code2 != 0 || out2 != out {
			t.Errorf("help %s: exit %d, output differs from %s -h", c.name, code2, c.name)
		}
		code, out, errOut = call(c.name, "-no-such-flag")
		if code != 2 || out != "" || !strings.Contains(errOut, "-no-such-flag") {
			t.Errorf("%s -no-such-flag: exit %d, stdout %q, stderr %q; want 2 naming the flag", c.name, code, out, errOut)
		}
	}
}
