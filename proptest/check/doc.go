// Package check is the exhaustive bounded model checker of tcpfsm: it
// explores, breadth first, every interleaving of two endpoints (real
// machine.Conns on a simnet.Net) and the segments in flight between them,
// up to a depth, with at most a few segments in flight and a little data.
//
// At each state the moves are: deliver a segment in flight (the head of
// each direction, or any segment with Reorder), drop one (Loss), duplicate
// one (Dup), fire the next timer of either side (time is abstract: the
// sides' clocks are independent and every armed timer may fire), and the
// applications' calls (connect or listen at the start, one or two small
// writes, reads, close). States are hashed (machine.Conn.AppendKey plus the
// segments in flight and the applications' progress), so each is expanded
// once.
//
// Every state reached is judged by the same invariants as the property
// tests (package proptest). When BFS is done, a reverse search over the
// explored graph checks that from every state both sides can still reach
// CLOSED without giving up (user timeouts do not count): no deadlock, no
// livelock. States at the depth bound, and states whose successors were cut
// by the in-flight bound, count as able to: their future lies outside the
// bound.
//
// A violation comes back as the shortest path to it (BFS order), which
// Mermaid renders as a sequence diagram.
package check
