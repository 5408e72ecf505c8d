package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/tcpfsm/tcpfsm/trace"
)

const traceHelp = `
usage: tcpfsm trace [-format text|json|mermaid|html] [-conn FILTER] [-at ADDRS] [-o FILE] CAPTURE

Trace judges a packet capture against the spec: both ends of every TCP
connection run the generated machine as observers; every segment must be
an output the sender's machine can produce and is an input to the
receiver's. For each segment it gives the rule that explains it on each
side (with the hidden event, a user call or a timer, the capture cannot
show) and both ends' states after it; a segment no rule explains is a
deviation naming the side, the rule the spec expected and its RFC section.
Each connection ends with its timeline and findings (CLOSE-WAIT, TIME-WAIT
and who holds it, half-open connections, RSTs and challenge ACKs with
their rules, retransmissions, zero-window episodes, requests on one
connection).

CAPTURE is pcap or pcapng (raw IP, Ethernet, Linux cooked SLL or SLL2,
BSD loopback), read as a stream; "-" reads stdin.

-format text tells the story as the demo does; json writes JSON Lines (one
object per segment, one per connection, a summary); mermaid writes a
sequenceDiagram per connection; html writes one self-contained page (no
network fetches) with the summary, the state diagram with the path each
end took highlighted, and each connection's timelines, findings and
segments (at most 200 connections and 500 segments each in detail).

-conn keeps only connections with an end matching FILTER: comma-separated
ports, addresses or address:port pairs (e.g. 80 or 10.0.0.1:443).

-at names the hosts the capture was taken at (comma-separated addresses):
what they send is seen in the order they sent it, so an ACK of theirs that
goes back is a deviation rather than reordering on the path.

Exit status: 0 when no segment deviates, 1 when some do, 2 on a usage
error or an unreadable, truncated or corrupt capture (named by frame).
`

// traceSink is what the formats write to.
type traceSink interface {
	trace.Sink
	Summary(*trace.Summary) error
}

func runTrace(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("trace")
	format := fs.String("format", "text", "output format: text, json, mermaid or html")
	connFilter := fs.String("conn", "", "only connections with an end matching `FILTER`")
	outPath := fs.String("o", "", "write to `file` instead of stdout")
	at := fs.String("at", "", "the capture was taken at these `addresses` (comma-separated)")
	if code, ok := parse(fs, traceHelp, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(fs, stderr, "want one capture file, got %d arguments", fs.NArg())
	}
	var opts trace.Options
	if *connFilter != "" {
		f, err := trace.ParseFilter(*connFilter)
		if err != nil {
			return usageError(fs, stderr, "-conn: %v", err)
		}
		opts.Filter = f
	}
	if *at != "" {
		for _, a := range strings.Split(*at, ",") {
			addr, err := netip.ParseAddr(strings.TrimSpace(a))
			if err != nil {
				return usageError(fs, stderr, "-at: %q is not an address", a)
			}
			opts.At = append(opts.At, addr.Unmap())
		}
	}
	var in io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "tcpfsm trace: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	capture, err := trace.OpenCapture(in)
	if err != nil {
		fmt.Fprintf(stderr, "tcpfsm trace: %s: %v\n", fs.Arg(0), err)
		return 2
	}
	out := stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			fmt.Fprintf(stderr, "tcpfsm trace: %v\n", err)
			return 2
		}
		defer f.Close()
		out = f
	}
	var sink traceSink
	switch *format {
	case "text":
		sink = trace.NewTextSink(out)
	case "json":
		sink = trace.NewJSONSink(out)
	case "mermaid":
		sink = trace.NewMermaidSink(out)
	case "html":
		sink = trace.NewHTMLSink(out)
	default:
		return usageError(fs, stderr, "-format %q: want text, json, mermaid or html", *format)
	}
	sum, runErr := trace.New(sink, opts).Run(capture)
	if err := sink.Summary(sum); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "tcpfsm trace: %s: %v\n", fs.Arg(0), runErr)
		return 2
	}
	if sum.Deviations > 0 {
		fmt.Fprintf(stderr, "tcpfsm trace: %d segments deviate from the spec\n", sum.Deviations)
		return 1
	}
	return 0
}
