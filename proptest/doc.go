// Package proptest checks the TCP machine (package machine) against the
// invariants of design.md by driving two real Conns through a simulated
// network.
//
// A World is the system under test: two machine.Conns (A and B) on a
// deterministic simnet.Net, the applications on both sides, and the ghost
// state the invariants need (who closed first, which FIN sequence numbers
// each side sent, how many bytes each application wrote and read). Every
// move goes through the World: application calls (Listen, Connect, Write,
// Read, Close, Abort), network faults (Deliver any segment in flight, Drop,
// Duplicate), time (Advance to the next deadline) and hostile segments
// (Inject: old SYNs, exact, in-window and out-of-window RSTs, ACKs beyond
// SND.NXT, window shrinks, ...). After each move the World judges every
// call into a Conn (a simnet.Record: states, transitions, variables before
// and after, segments out) against the invariants, each assertion naming
// its invariant ("invariant 3: ..."). Finish ends a run fairly and checks
// liveness and byte-exact delivery.
//
// The tests of this package are:
//
//   - TestProperty: rapid state-machine tests over the actions in actions.go, with the
//     invariants checked after every step and the stateless machine
//     cross-checking the generated dispatcher on every step (Differential,
//     invariant 19). Runs start with ISNs within 1000 of 2^32
//     (StartNearWrap, NearWrapKey).
//   - TestCoverage: seeded random walks over the same actions plus the
//     targeted scenarios; fails listing every spec rule never taken
//     (invariant 20).
//   - TestMutationRapid: each deliberately broken machine of package mutate
//     must make the property fail, on the invariant it breaks.
//   - TestScenarios, TestChallengeACKsPerConnection, TestISNs and the
//     TestRegression tests: fixed move sequences for paths and bugs.
//
// The exhaustive bounded checker over the same World is package check;
// docs/checking.md explains what is checked where and how to run deeper.
package proptest
