package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
	"github.com/tcpfsm/tcpfsm/tunnet/pcap"
	"github.com/tcpfsm/tcpfsm/tunnet/tundev"
)

const serveHelp = `
usage: tcpfsm serve -tun NAME -addr CIDR -listen IP:PORT [-app echo|discard|http] [flags]

Serve runs the generated TCP state machine on a TUN device in the current
network namespace (it needs CAP_NET_ADMIN, i.e. root) and prints every
transition of every connection as it happens.

The kernel keeps -addr on the TUN (for example 10.77.0.1/24) and routes the
prefix into it; the stack owns the IP of -listen (for example 10.77.0.2),
which must lie in that prefix. Then, from the same namespace:

	curl http://10.77.0.2/

reaches the application (-app) over tcpfsm. Ctrl-C or SIGTERM stops it: open
connections are aborted, the pcap is flushed and the counters printed.

Use a namespace of your own (ip netns add / unshare -n) or "tcpfsm demo",
which makes one for itself.
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve")
	tf := addTunFlags(fs)
	var listens listFlag
	fs.Var(&listens, "listen", "stack `IP:PORT` to serve on, e.g. 10.77.0.2:80 (repeatable)")
	app := fs.String("app", "http", "application: echo, discard, http, or noclose (reads to EOF and never closes: the CLOSE-WAIT leak, on purpose)")
	closeWaitWarn := fs.Duration("closewait-warn", 0, "log a connection still in CLOSE-WAIT after `D` (the application never closed); 0: off")
	statsEvery := fs.Duration("stats", 0, "print connections per state (with the oldest age) and counters every `D` and at exit; 0: only the exit line")
	if code, ok := parse(fs, serveHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected arguments %q", fs.Args())
	}
	if len(tf.addrs) == 0 || len(listens) == 0 {
		return usageError(fs, stderr, "need -addr and -listen")
	}
	handler, ok := appHandler(*app)
	if !ok {
		return usageError(fs, stderr, "-app %q: want echo, discard, http or noclose", *app)
	}
	if *closeWaitWarn < 0 || *statsEvery < 0 {
		return usageError(fs, stderr, "-closewait-warn and -stats take a positive duration (or 0 for off)")
	}
	prefixes, stackAddrs, listenAPs, err := planAddresses(tf.addrs, listens)
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}
	rc, err := tf.runtimeConfig(prefixes, stackAddrs)
	if err != nil {
		return usageError(fs, stderr, "%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	printer := newLinePrinter(stdout)
	defer printer.close()
	if !tf.quiet {
		rc.observe = func(tr tunnet.Transition) { printer.print(formatTransition(tr)) }
	}
	rc.closeWaitWarn = *closeWaitWarn
	rc.warn = func(w tunnet.Warning) { printer.print(formatWarning(w)) }
	rt, err := startRuntime(rc)
	if err != nil {
		return startFailed("serve", err, stderr)
	}
	var lns []net.Listener
	for _, ap := range listenAPs {
		ln, err := rt.stack.Listen("tcp", ap.String())
		if err != nil {
			rt.close()
			fmt.Fprintf(stderr, "tcpfsm serve: %v\n", err)
			return 1
		}
		lns = append(lns, ln)
	}
	fmt.Fprintf(stdout, "tcpfsm serve: %s up, kernel %s, stack %v; app %s on %v; Ctrl-C stops\n",
		tf.tun, strings.Join(tf.addrs, " "), stackAddrs, *app, listenAPs)
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() { defer wg.Done(); handler(ln) }()
	}
	var tick <-chan time.Time
	if *statsEvery > 0 {
		t := time.NewTicker(*statsEvery)
		defer t.Stop()
		tick = t.C
	}
	started := time.Now()
wait:
	for {
		select {
		case <-tick:
			printer.print(formatStats(time.Since(started), rt.stack.States(), rt.stack.Stats()))
		case <-ctx.Done():
			fmt.Fprintln(stdout, "tcpfsm serve: stopping")
			break wait
		case <-rt.stack.Done():
			fmt.Fprintf(stderr, "tcpfsm serve: stack stopped: %v\n", rt.stack.Err())
			break wait
		}
	}
	for _, ln := range lns {
		ln.Close()
	}
	printer.print(formatStats(time.Since(started), rt.stack.States(), rt.stack.Stats()))
	st := rt.stack.Stats()
	err = rt.close()
	wg.Wait()
	printer.close()
	fmt.Fprintf(stdout, "tcpfsm serve: packets in %d, out %d; no-connection segments %d; backlog drops %d; fault drops %d; non-TCP or malformed packets %d\n",
		st.PacketsIn, st.PacketsOut, st.NoConn, st.BacklogFull, st.FaultDrops, sum(st.DecodeErrors[:]))
	if err != nil {
		fmt.Fprintf(stderr, "tcpfsm serve: %v\n", err)
		return 1
	}
	return 0
}

func sum(v []uint64) uint64 {
	var n uint64
	for _, x := range v {
		n += x
	}
	return n
}

// planAddresses checks -addr and -listen: every listen IP lies in an -addr
// prefix and differs from the kernel's address there.
func planAddresses(addrs, listens []string) (prefixes []netip.Prefix, stack []netip.Addr, aps []netip.AddrPort, err error) {
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-addr %q: want a CIDR such as 10.77.0.1/24: %w", a, err)
		}
		prefixes = append(prefixes, p)
	}
	for _, l := range listens {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-listen %q: want IP:PORT such as 10.77.0.2:80: %w", l, err)
		}
		if ap.Port() == 0 {
			return nil, nil, nil, fmt.Errorf("-listen %q: port 0", l)
		}
		ok := false
		for _, p := range prefixes {
			if p.Contains(ap.Addr()) && p.Addr() != ap.Addr() {
				ok = true
			}
		}
		if !ok {
			return nil, nil, nil, fmt.Errorf("-listen %v: the IP must lie in an -addr prefix (%v) and differ from the kernel's address", ap, prefixes)
		}
		aps = append(aps, ap)
		if !slices.Contains(stack, ap.Addr()) {
			stack = append(stack, ap.Addr())
		}
	}
	return prefixes, stack, aps, nil
}

// appHandler returns the application serve runs on a listener.
func appHandler(name string) (func(net.Listener), bool) {
	switch name {
	case "echo":
		return func(ln net.Listener) { acceptLoop(ln, func(c net.Conn) { io.Copy(c, c) }) }, true
	case "discard":
		return func(ln net.Listener) { acceptLoop(ln, func(c net.Conn) { io.Copy(io.Discard, c) }) }, true
	case "http":
		return func(ln net.Listener) { (&http.Server{Handler: http.HandlerFunc(helloHandler)}).Serve(ln) }, true
	case "noclose":
		// The bug, on purpose: read to EOF, then keep the connection
		// (it stays in CLOSE-WAIT until serve stops).
		return func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go io.Copy(io.Discard, c)
			}
		}, true
	}
	return nil, false
}

func acceptLoop(ln net.Listener, h func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			h(c)
		}()
	}
}

// helloHandler answers every request with a short page saying how it
// arrived.
func helloHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Hello from tcpfsm: the TCP under this page is the generated RFC 9293 state machine.\n%s %s from %s\n", r.Method, r.URL.Path, r.RemoteAddr)
}

// tunFlags are the flags serve and dial share: the TUN device, the
// kernel's addresses on it, and what the runtime records and injects.
type tunFlags struct {
	tun, pcap, faults, cc string
	addrs                 listFlag
	msl                   time.Duration
	mtu, queues           int
	quiet                 bool
}

func addTunFlags(fs *flag.FlagSet) *tunFlags {
	f := &tunFlags{}
	fs.StringVar(&f.tun, "tun", "tfsm0", "TUN device `name` to create")
	fs.Var(&f.addrs, "addr", "kernel-side `CIDR` of the TUN, e.g. 10.77.0.1/24 (repeatable: one IPv4, one IPv6)")
	fs.StringVar(&f.pcap, "pcap", "", "write every packet that crosses the TUN to this pcap `file`")
	fs.DurationVar(&f.msl, "msl", 30*time.Second, "maximum segment lifetime; TIME-WAIT lasts 2*MSL")
	fs.StringVar(&f.faults, "faults", "", "inject faults, e.g. loss=5%,dup=2%,reorder=2%,seed=1 (see docs/runtime.md)")
	fs.IntVar(&f.mtu, "mtu", 1500, "TUN MTU in bytes")
	fs.IntVar(&f.queues, "queues", 1, "TUN queues, each read by its own goroutine (IFF_MULTI_QUEUE): `N` cores for the receive path")
	fs.StringVar(&f.cc, "cc", "cubic", "congestion control: cubic (RFC 9438) or reno (RFC 5681)")
	fs.BoolVar(&f.quiet, "q", false, "do not print transitions")
	return f
}

// runtimeConfig is what the flags say the runtime should be, for the
// stack's addresses; a bad -faults is an error.
func (f *tunFlags) runtimeConfig(prefixes []netip.Prefix, stackAddrs []netip.Addr) (runtimeConfig, error) {
	fc, err := faults.Parse(f.faults)
	if err != nil {
		return runtimeConfig{}, fmt.Errorf("-faults: %w", err)
	}
	alg, err := cc.ParseAlgorithm(f.cc)
	if err != nil {
		return runtimeConfig{}, fmt.Errorf("-cc: %w", err)
	}
	if f.queues < 1 || f.queues > 256 {
		return runtimeConfig{}, fmt.Errorf("-queues %d: want 1 to 256", f.queues)
	}
	return runtimeConfig{tun: f.tun, mtu: f.mtu, queues: f.queues, prefixes: prefixes, stackAddrs: stackAddrs, msl: f.msl, cc: alg, faults: fc, pcapPath: f.pcap}, nil
}

// startFailed reports that the runtime did not start, with a hint when the
// reason is a missing privilege; it returns the exit status.
func startFailed(cmd string, err error, stderr io.Writer) int {
	fmt.Fprintf(stderr, "tcpfsm %s: %v\n", cmd, err)
	if errors.Is(err, os.ErrPermission) {
		fmt.Fprintf(stderr, "tcpfsm %s: creating a TUN device needs CAP_NET_ADMIN: run as root, in a network namespace of your own (or try tcpfsm demo)\n", cmd)
	}
	return 1
}

// runtimeConfig is what serve and demo set up: a TUN with the kernel's
// addresses, a stack owning stackAddrs, optional faults and pcap.
type runtimeConfig struct {
	tun        string
	mtu        int
	queues     int // TUN queues (0: one)
	prefixes   []netip.Prefix
	stackAddrs []netip.Addr
	msl        time.Duration
	cc         cc.Algorithm
	faults     faults.Config
	pcapPath   string
	observe    func(tunnet.Transition)
	// closeWaitWarn and warn: tunnet.Config.CloseWaitWarn and Warn.
	closeWaitWarn time.Duration
	warn          func(tunnet.Warning)
	// drop: tunnet.Config.FaultDrop.
	drop func(tunnet.FaultDrop)
}

type tunRuntime struct {
	dev   *tundev.Device
	stack *tunnet.Stack
	pcap  *pcap.Writer
}

// tunTxQueueLen is the TUN's transmit queue (kernel to stack). The default
// of 500 overflows when many sockets send a burst and the reader goroutine
// runs a little late.
const tunTxQueueLen = 10000

func startRuntime(c runtimeConfig) (*tunRuntime, error) {
	dev, err := tundev.OpenQueues(c.tun, c.mtu, max(c.queues, 1))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*tunRuntime, error) {
		dev.Close()
		return nil, err
	}
	for _, p := range c.prefixes {
		if err := dev.AddAddr(p); err != nil {
			return fail(err)
		}
	}
	if err := dev.SetTxQueueLen(tunTxQueueLen); err != nil {
		return fail(err)
	}
	if err := dev.SetUp(); err != nil {
		return fail(err)
	}
	rt := &tunRuntime{dev: dev}
	cfg := tunnet.Config{
		Device:        dev,
		Addrs:         c.stackAddrs,
		Machine:       machine.Config{MSL: c.msl, Congestion: c.cc},
		Faults:        c.faults,
		Observer:      c.observe,
		CloseWaitWarn: c.closeWaitWarn,
		Warn:          c.warn,
		FaultDrop:     c.drop,
	}
	if c.pcapPath != "" {
		if rt.pcap, err = pcap.Create(c.pcapPath, 0); err != nil {
			return fail(err)
		}
		cfg.Pcap = rt.pcap
	}
	if rt.stack, err = tunnet.New(cfg); err != nil {
		if rt.pcap != nil {
			rt.pcap.Close()
		}
		return fail(err)
	}
	return rt, nil
}

// close stops the stack (which closes the TUN) and the pcap.
func (rt *tunRuntime) close() error {
	err := rt.stack.Close()
	if rt.pcap != nil {
		err = errors.Join(err, rt.pcap.Close())
	}
	return err
}

// formatWarning is serve's line for a warning: its kind first (CLOSE-WAIT),
// then the 4-tuple and the age.
func formatWarning(w tunnet.Warning) string {
	t := w.Tuple
	return fmt.Sprintf("%s: %s:%d <- %s:%d in %v for %v: %s", w.Kind, t.LocalAddr, t.LocalPort, t.RemoteAddr, t.RemotePort,
		w.State, w.Age.Round(time.Millisecond), w.Msg)
}

// formatStats is serve's statistics line: connections per state with the
// oldest age in each, then the counters and the drops by reason.
func formatStats(up time.Duration, states [machine.NumStates]tunnet.StateCount, st tunnet.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "stats at %v: connections", up.Round(time.Millisecond))
	n := 0
	for s, c := range states {
		if c.N == 0 {
			continue
		}
		n++
		fmt.Fprintf(&b, " %v %d", machine.State(s), c.N)
		if machine.State(s) != machine.StateListen {
			fmt.Fprintf(&b, " (oldest %v)", c.Oldest.Round(time.Millisecond))
		}
		b.WriteString(",")
	}
	if n == 0 {
		b.WriteString(" none,")
	}
	fmt.Fprintf(&b, " retransmissions %d, half-open evictions %d, challenge ACKs %d, RSTs sent %d received %d;",
		st.Retransmits, st.HalfOpenEvicted, st.ChallengeACKs, st.RSTsSent, st.RSTsRcvd)
	fmt.Fprintf(&b, " drops: malformed %d, not ours %d, no connection %d, backlog full %d, faults %d, write errors %d",
		sum(st.DecodeErrors[:]), st.NotOurs, st.NoConn, st.BacklogFull, st.FaultDrops, st.WriteErrors)
	return b.String()
}

// formatTransition is serve's one-line form of a transition.
func formatTransition(tr tunnet.Transition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%10.3fms %s:%d  %s -%s-> %s  [%s %s]", float64(tr.At.Microseconds())/1000,
		tr.Tuple.RemoteAddr, tr.Tuple.RemotePort, tr.From, tr.Event, tr.To, tr.Rule, tr.Rule.Info().RFC)
	if tr.Scratch {
		b.WriteString(" (no connection)")
	}
	if tr.HasRecv {
		fmt.Fprintf(&b, "  in: %s", formatSeg(tr.Recv))
	}
	for i, s := range tr.Sent {
		if i == 0 {
			b.WriteString("  out:")
		}
		fmt.Fprintf(&b, " %s;", formatSeg(s))
	}
	return strings.TrimSuffix(b.String(), ";")
}

func formatSeg(s tunnet.SegmentInfo) string {
	str := fmt.Sprintf("%v seq=%d", s.Flags, s.Seq)
	if s.Flags&machine.ACK != 0 {
		str += fmt.Sprintf(" ack=%d", s.Ack)
	}
	str += fmt.Sprintf(" win=%d", s.Window)
	if s.Len > 0 {
		str += fmt.Sprintf(" len=%d", s.Len)
	}
	return str
}

// linePrinter prints lines from a goroutine of its own, so that a slow
// terminal never holds a connection's lock; when it falls too far behind it
// drops lines and says how many.
type linePrinter struct {
	w       io.Writer
	lines   chan string
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	dropped int
}

func newLinePrinter(w io.Writer) *linePrinter {
	p := &linePrinter{w: w, lines: make(chan string, 4096), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for l := range p.lines {
			fmt.Fprintln(w, l)
		}
	}()
	return p
}

func (p *linePrinter) print(l string) {
	select {
	case p.lines <- l:
	default:
		p.mu.Lock()
		p.dropped++
		p.mu.Unlock()
	}
}

func (p *linePrinter) close() {
	p.once.Do(func() {
		close(p.lines)
		<-p.done
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.dropped > 0 {
			fmt.Fprintf(p.w, "(%d transition lines dropped: the terminal was too slow)\n", p.dropped)
		}
	})
}
