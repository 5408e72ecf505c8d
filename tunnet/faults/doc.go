// Package faults injects network faults in user space, between the TUN
// device and the stack: loss, duplication, reordering and delay, separately
// for each direction, decided by a seeded PRNG so that a run can be repeated.
// (Kernels without sch_netem, like the one this project runs on, cannot do
// this below the TUN.)
//
// A Config comes from a spec string such as
//
//	loss=5%,dup=2%,reorder=2%,delay=1ms..5ms,seed=42
//	in:loss=10%,out:delay=20ms
//
// and an Injector applies it. The Injector starts no goroutines: Process
// passes, drops, duplicates or holds each packet, and the owner's loop calls
// Flush when NextDeadline passes to release delayed packets, typically from
// the same timer wheel that drives the connections' timers.
//
// Decisions in each direction use their own PCG stream seeded from the
// seed, so the fate of the n-th packet in one direction does not depend on
// how traffic in the other direction interleaves with it.
package faults
