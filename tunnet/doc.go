// Package tunnet is the runtime of tcpfsm: it runs the generated TCP state
// machine (package machine) on real packets, so that ordinary Go code
// (net/http, io.Copy, anything written against net.Conn) talks TCP through
// it, with the Linux kernel's TCP or any other stack as the peer.
//
// A [Stack] owns one packet [Device] (a TUN device from package tundev, or
// the in-memory [Pipe] for tests). A reader goroutine per device queue
// ([MultiQueueDevice]) reads packets in batches (a TSO super-segment whole,
// [WholeReader]), decodes them (package header), hands them to the
// connection their 4-tuple names (the demultiplexer), and lets the machine
// classify and step the segment. The segments the machine emits are encoded
// into reusable buffers (a connection's consecutive ones joined into one
// super-segment, [WholeWriter]) and written back to the device in batches.
// One timer goroutine drives one timer wheel (package timerwheel) for every
// connection.
//
// The application side is the standard one: [Stack.Listen] returns a
// net.Listener, [Stack.DialContext] a net.Conn ([*Conn], which adds
// CloseWrite). Segments for which no connection exists are answered as the
// spec's CLOSED and LISTEN rows say, by stepping a scratch machine.Conn.
//
// Observability: [Config.Observer] sees every transition of every
// connection with the segment that caused it and the segments sent in reply;
// [Stack.Snapshot] counts connections per state like `ss -tan`;
// [Stack.Stats] reports packet counters and drop reasons. A fault injector
// (package faults) can sit between the device and the stack in both
// directions, and a pcap writer (package pcap) can record what crossed the
// device.
//
// docs/runtime.md describes the data path file by file.
package tunnet
