// Package trace judges a packet capture against the TCP spec: the fourth
// use of spec/tcp.yaml, after the stack, the model and the docs.
//
// It reads pcap or pcapng as a stream (capture.go: raw IP, Ethernet, Linux
// cooked SLL and SLL2), splits TCP segments into connections by 4-tuple
// and incarnation (conn.go), and runs one observer per end (end.go): the
// generated machine.Step with an Actions implementation that keeps only
// what a capture can show. Every segment is an input to the receiver's
// machine (receive.go) and an output the sender's machine must be able to
// produce (send.go); what the capture cannot show (user calls, timers,
// segments lost before the capture point) is inferred as hidden events. A
// segment no rule explains is a Deviation naming the side, the rule the
// spec expected and its RFC section; the observer then resynchronises from
// the segment and goes on.
//
// Verdicts stream out to a Sink (text.go, json.go) as the capture is read;
// memory is bounded by the connections open at once (Options.MaxConns),
// never by the capture's length.
package trace
