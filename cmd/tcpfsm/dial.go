package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
)

const dialHelp = `
usage: tcpfsm dial -tun NAME -addr CIDR -local IP [-q] [-pcap F] [-msl D] [-faults SPEC] [-cc cubic|reno] REMOTE_IP:PORT

Dial is serve's client twin: it runs the generated TCP state machine on a
TUN device in the current network namespace (it needs CAP_NET_ADMIN, i.e.
root), connects from -local to REMOTE_IP:PORT, copies standard input to the
connection and the connection to standard output, and prints every
transition on standard error.

The kernel keeps -addr on the TUN (for example 10.77.0.1/24) and routes the
prefix into it; the stack owns -local (for example 10.77.0.2), which must
lie in that prefix. REMOTE_IP is usually the kernel's address there, where
a kernel server listens (nc -l, python3 -m http.server, ...).

End of standard input closes our side (CLOSE: FIN after the data, a
half-close: the connection keeps reading). When the peer closes first, dial
closes too once it has copied what arrived (CLOSE-WAIT -> LAST-ACK).

Dial exits when the connection reaches CLOSED: after TIME-WAIT's 2*MSL when
it closed first (-msl shortens that; watch TIME-WAIT ACK a retransmitted
FIN), at once after LAST-ACK when the peer closed first.

Exit status: 0 when the connection closed normally, 1 on a reset, a refused
connection, a timeout or Ctrl-C, 2 on a usage error.
`

func runDial(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("dial")
	tf := addTunFlags(fs)
	localFlag := fs.String("local", "", "the stack's `IP`, in an -addr prefix, e.g. 10.77.0.2")
	if code, ok := parse(fs, dialHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(fs, stderr, "want one REMOTE_IP:PORT, got %q", fs.Args())
	}
	remote, err := netip.ParseAddrPort(fs.Arg(0))
	if err != nil || remote.Port() == 0 {
		return usageError(fs, stderr, "remote %q: want IP:PORT such as 10.77.0.1:80", fs.Arg(0))
	}
	if len(tf.addrs) == 0 || *localFlag == "" {
		return usageError(fs, stderr, "need -addr and -local")
	}
	local, err := netip.ParseAddr(*localFlag)
	if err != nil {
		return usageError(fs, stderr, "-local %q: want an IP such as 10.77.0.2", *localFlag)
	}
	prefixes, stackAddrs, _, err := planAddresses(tf.addrs, []string{netip.AddrPortFrom(local, 1).String()})
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	if remote.Addr().Is4() != local.Is4() {
		return usageError(fs, stderr, "-local %v and %v are not of one address family", local, remote)
	}
	rc, err := tf.runtimeConfig(prefixes, stackAddrs)
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	printer := newLinePrinter(stderr)
	defer printer.close()
	end := newEndWatch()
	rc.observe = func(tr tunnet.Transition) {
		if !tf.quiet {
			printer.print(formatTransition(tr))
		}
		end.see(tr)
	}
	rt, err := startRuntime(rc)
	if err != nil {
		return startFailed("dial", err, stderr)
	}
	defer rt.close()

	conn, err := rt.stack.DialTCP(ctx, "tcp", remote.String())
	if err != nil {
		printer.close()
		fmt.Fprintf(stderr, "tcpfsm dial: %v\n", err)
		return 1
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // standard input to the connection; its end is our FIN
		defer wg.Done()
		io.Copy(conn, stdin)
		conn.CloseWrite()
	}()
	go func() { // the connection to standard output; the peer's FIN ends it
		io.Copy(stdout, conn)
		conn.Close() // the peer closed: close our side too (or, after CloseWrite, let the machine finish)
	}()

	select {
	case <-end.done:
	case <-ctx.Done():
		conn.Close()
		printer.close()
		fmt.Fprintln(stderr, "tcpfsm dial: interrupted")
		return 1
	}
	printer.close()
	if !end.normal {
		fmt.Fprintf(stderr, "tcpfsm dial: the connection ended abnormally, by [%v] (%s)\n", end.rule, end.rule.Info().RFC)
		return 1
	}
	fmt.Fprintf(stderr, "tcpfsm dial: CLOSED by [%v] (%s)\n", end.rule, end.rule.Info().RFC)
	return 0
}

// endWatch waits for the dialed connection's last transition, to CLOSED,
// and tells a normal end (TIME-WAIT's timeout, LAST-ACK's ACK of our FIN)
// from a reset, an abort or a timeout.
type endWatch struct {
	once   sync.Once
	done   chan struct{}
	rule   machine.Rule
	normal bool
}

func newEndWatch() *endWatch { return &endWatch{done: make(chan struct{})} }

func (e *endWatch) see(tr tunnet.Transition) {
	if tr.Scratch || tr.To != machine.StateClosed || tr.From == machine.StateClosed {
		return
	}
	e.once.Do(func() {
		e.rule = tr.Rule
		e.normal = tr.Rule == machine.RuleTimeWaitTimeout || tr.Rule == machine.RuleLastAckRcvAckOfFin
		close(e.done)
	})
}
