package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcpfsm/tcpfsm/internal/netns"
	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
	"github.com/tcpfsm/tcpfsm/tunnet/faults"
)

const demoHelp = `
usage: tcpfsm demo [-pcap FILE] [-msl D] [-faults SPEC] [-curl=false]

Demo shows the generated TCP state machine carrying real traffic with the
Linux kernel's TCP as the peer, and tells the story of each connection the
way a textbook does.

As root it re-runs itself in a fresh network namespace (which dies with it:
nothing to clean up), creates the TUN device tfsm0 with 10.77.0.1/24 for the
kernel, and starts an HTTP server (net/http) on the generated stack at
10.77.0.2:80. Then the kernel's TCP, inside the namespace:

  1. fetches a page with Go's http.Client with keep-alives off: the request
     says "Connection: close", so the server, tcpfsm, closes first and sits
     in TIME-WAIT for 2*MSL;
  2. fetches a page with curl (or, without curl, a plain keep-alive client),
     which closes first when it is done: tcpfsm goes CLOSE-WAIT, LAST-ACK;
  3. connects to 10.77.0.2:81, where nothing listens: the spec's CLOSED row
     answers with RST and the kernel reports "connection refused".

Every segment is printed with the real sequence numbers (x is the kernel's
ISN, y tcpfsm's), both sides' states and the spec rule that fired with its
RFC 9293 section. tcpfsm's states are the machine's own; the kernel's are
inferred from the segments, as a textbook would (marked "inferred").
Everything that crossed the TUN is written to a pcap file.

Exit status: 0 if every exchange worked and every connection ended in
CLOSED, 1 if not, 2 for bad usage or without root.
`

// Addresses inside the demo's namespace.
var (
	demoKernelAddr = netip.MustParseAddr("10.77.0.1")
	demoStackAddr  = netip.MustParseAddr("10.77.0.2")
)

const (
	demoPort       = 80
	demoClosedPort = 81
	demoTUN        = "tfsm0"
)

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo")
	pcapPath := fs.String("pcap", "demo.pcap", "write every packet that crossed the TUN to this pcap `file` (empty: none)")
	msl := fs.Duration("msl", 500*time.Millisecond, "maximum segment lifetime: TIME-WAIT lasts 2*MSL")
	faultSpec := fs.String("faults", "", "inject faults, e.g. loss=5%,seed=1 (the story then shows retransmissions)")
	useCurl := fs.Bool("curl", true, "use curl for the second exchange when it is installed")
	if code, ok := parse(fs, demoHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, "unexpected arguments %q", fs.Args())
	}
	if *msl <= 0 {
		return usageError(fs, stderr, "-msl %v: want a positive duration", *msl)
	}
	fc, err := faults.Parse(*faultSpec)
	if err != nil {
		return usageError(fs, stderr, "-faults: %v", err)
	}
	inside, code, err := netns.Reexec(netns.EnvMarker)
	switch {
	case errors.Is(err, netns.ErrNotRoot):
		fmt.Fprintln(stderr, "tcpfsm demo: needs root: it creates a network namespace and a TUN device inside it (try: sudo tcpfsm demo)")
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "tcpfsm demo: %v\n", err)
		return 1
	case !inside:
		return code // the child in the namespace did the work
	}
	d := &demo{out: stdout, msl: *msl, pcapPath: *pcapPath, faults: fc, useCurl: *useCurl}
	if err := d.run(); err != nil {
		fmt.Fprintf(stderr, "tcpfsm demo: %v\n", err)
		return 1
	}
	if d.failures > 0 {
		fmt.Fprintf(stdout, "\n%d of the exchanges failed.\n", d.failures)
		return 1
	}
	return 0
}

type demo struct {
	out      io.Writer
	msl      time.Duration
	pcapPath string
	faults   faults.Config
	useCurl  bool
	rt       *tunRuntime
	rec      recorder
	failures int
}

// recorder keeps the transitions of the current exchange and the segments
// the fault injector dropped, in the order they happened.
type recorder struct {
	mu     sync.Mutex
	events []storyEvent
}

func (r *recorder) add(tr tunnet.Transition) {
	tr.Sent = append([]tunnet.SegmentInfo(nil), tr.Sent...)
	r.mu.Lock()
	r.events = append(r.events, storyEvent{tr: tr})
	r.mu.Unlock()
}

func (r *recorder) dropped(d tunnet.FaultDrop) {
	r.mu.Lock()
	r.events = append(r.events, storyEvent{drop: &d})
	r.mu.Unlock()
}

func (r *recorder) take() []storyEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}

func (d *demo) run() error {
	rt, err := startRuntime(runtimeConfig{
		tun: demoTUN, mtu: 1500,
		prefixes:   []netip.Prefix{netip.PrefixFrom(demoKernelAddr, 24)},
		stackAddrs: []netip.Addr{demoStackAddr},
		msl:        d.msl, faults: d.faults, pcapPath: d.pcapPath,
		observe: d.rec.add,
		drop:    d.rec.dropped,
	})
	if err != nil {
		return err
	}
	d.rt = rt
	stackAP := netip.AddrPortFrom(demoStackAddr, demoPort)
	ln, err := rt.stack.Listen("tcp", stackAP.String())
	if err != nil {
		rt.close()
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(helloHandler), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()

	fmt.Fprintf(d.out, "tcpfsm demo: a fresh network namespace; TUN %s with %v/24 for the kernel;\n", demoTUN, demoKernelAddr)
	fmt.Fprintf(d.out, "an HTTP server (net/http) on the generated TCP machine at %v; MSL %v, so TIME-WAIT lasts %v.\n", stackAP, d.msl, 2*d.msl)
	if d.faults.Active() {
		fmt.Fprintf(d.out, "Fault injection between the TUN and the stack: %v\n", d.faults)
	}
	fmt.Fprintln(d.out, "The kernel's states are inferred from the segments (marked \"inferred\"); tcpfsm's are the machine's own.")

	url := fmt.Sprintf("http://%v/", stackAP)
	curl, curlErr := exec.LookPath("curl")
	second := exchange{
		title: "GET " + url + " with a plain HTTP/1.1 keep-alive client",
		why:   "it closes first when done: tcpfsm is the passive closer",
		run:   func() (string, error) { return keepAliveGet(stackAP) },
	}
	if d.useCurl && curlErr == nil {
		second = exchange{
			title: "GET " + url + " with curl",
			why:   "curl keeps the connection alive and closes first when it exits: tcpfsm is the passive closer",
			run:   func() (string, error) { return curlGet(curl, url) },
		}
	}
	exchanges := []exchange{
		{
			title: "GET " + url + " with Go's http.Client, keep-alives off",
			why:   "the request says \"Connection: close\", so the server, tcpfsm, closes first",
			run:   func() (string, error) { return goClientGet(url) },
		},
		second,
		{
			title: fmt.Sprintf("connect to %v", netip.AddrPortFrom(demoStackAddr, demoClosedPort)),
			why:   "nothing listens there",
			run:   refusedConnect,
		},
	}
	for i, ex := range exchanges {
		d.exchange(i+1, ex)
	}

	ln.Close()
	srv.Close()
	<-served
	st := rt.stack.Stats()
	if err := rt.close(); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n%d packets in, %d out over %s.", st.PacketsIn, st.PacketsOut, demoTUN)
	if d.pcapPath != "" {
		fmt.Fprintf(d.out, " Every one is in %s (LINKTYPE_RAW: open it with wireshark or tcpdump -r).", d.pcapPath)
	}
	fmt.Fprintln(d.out)
	return nil
}

// exchange is one thing the kernel's TCP does against the stack. run
// returns what the application saw.
type exchange struct {
	title, why string
	run        func() (string, error)
}

func (d *demo) exchange(n int, ex exchange) {
	fmt.Fprintf(d.out, "\n== Exchange %d: %s\n   (%s)\n", n, ex.title, ex.why)
	start := time.Now()
	saw, err := ex.run()
	switch {
	case err != nil:
		d.failures++
		fmt.Fprintf(d.out, "   FAILED: %v\n", err)
	default:
		fmt.Fprintf(d.out, "   the kernel's application saw: %s\n", saw)
	}
	drained := d.waitDrained(2*d.msl + 5*time.Second)
	elapsed := time.Since(start)
	printStory(d.out, d.rec.take(), d.msl)
	if !drained {
		d.failures++
		fmt.Fprintf(d.out, "   FAILED: connections still open on tcpfsm after %v: %v\n", elapsed.Round(time.Millisecond), d.rt.stack.Snapshot())
	}
}

// waitDrained waits until the stack has no connection left but its listener.
func (d *demo) waitDrained(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		snap := d.rt.stack.Snapshot()
		delete(snap, machine.StateListen)
		if len(snap) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func goClientGet(url string) (string, error) {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return finFirstConn{c}, nil
		},
	}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading the body: %w", err)
	}
	return checkPage(resp.Status, body)
}

// finFirstConn makes the client's Close wait (up to 5 s) for the server's
// FIN. Without it, whether the server's FIN or the client's reaches the
// wire first is a race, and the story would not be the same every run.
type finFirstConn struct{ net.Conn }

func (c finFirstConn) Close() error {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c.Conn)
	return c.Conn.Close()
}

func curlGet(curl, url string) (string, error) {
	out, err := exec.Command(curl, "-sS", "--max-time", "10", "-w", "\n%{http_code}", url).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("curl: %v: %s", err, out)
	}
	body, code, _ := strings.Cut(string(out), "\n200")
	if code != "" || !strings.HasSuffix(string(out), "\n200") {
		return "", fmt.Errorf("curl printed %q", out)
	}
	return checkPage("200 OK (curl)", []byte(body))
}

// keepAliveGet sends one HTTP/1.1 request on a kernel socket, reads the
// response and closes the socket first.
func keepAliveGet(ap netip.AddrPort) (string, error) {
	c, err := net.DialTimeout("tcp", ap.String(), 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %v\r\nUser-Agent: tcpfsm-demo\r\n\r\n", ap)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	return checkPage(resp.Status, body)
}

func checkPage(status string, body []byte) (string, error) {
	first, _, _ := strings.Cut(string(body), "\n")
	if !strings.HasPrefix(status, "200") || !strings.HasPrefix(first, "Hello from tcpfsm") {
		return "", fmt.Errorf("unexpected answer %s %q", status, body)
	}
	return fmt.Sprintf("%s, %d bytes: %q", status, len(body), first), nil
}

func refusedConnect() (string, error) {
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(demoStackAddr, demoClosedPort).String(), 10*time.Second)
	if err == nil {
		c.Close()
		return "", errors.New("the connection to a closed port succeeded")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return "", fmt.Errorf("want connection refused, got %w", err)
	}
	return fmt.Sprintf("connect: %v", err), nil
}
