// Package simnet is a deterministic simulated network for two machine.Conns.
//
// A Net holds endpoint A and endpoint B, one Link per direction and a fake
// clock. Every segment a Conn emits is copied out of its outbox (whose
// payloads alias the Conn's send buffer) into the Link, where the network
// may drop, duplicate, delay or reorder it. Time only moves when the caller
// says so: Advance jumps the clock to the next deadline, the earliest of both
// Conns' timers and (in a random run) the next segment arrival.
//
// Two ways to drive it:
//
//   - Explicitly, one move at a time (Connect, Write, Deliver, Drop,
//     Duplicate, Inject, Advance, ...): the rapid state-machine tests in
//     package proptest choose every move.
//   - Randomly, from a seed (Run, RandomStep): segments suffer the losses
//     described by Faults, and a run is exactly repeatable from its seed.
//
// Each call into a Conn can be recorded (Record): the state before and after,
// the RFC 9293 variables before and after, every transition the Conn took and
// every segment it emitted. The invariant checks of package proptest read
// these records.
package simnet
