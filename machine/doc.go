// Package machine is the TCP connection state machine of RFC 9293: the
// dispatcher generated from spec/tcp.yaml and the TCB whose guards and actions
// it calls.
//
// machine_gen.go (generated) declares the State, Event and Rule enums, the
// Actions interface (one method per guard, option and action of the spec) and
// Step, a nested switch that fires the first rule on (state, event) whose
// guards hold, runs its actions in spec order and returns the next state and
// the rule, without allocating. stateless_gen.go (generated) builds the same
// table on github.com/qmuntal/stateless; tests use it to cross-check Step.
//
// The TCB holds the RFC 9293 3.3.1 variables and implements Actions. It never
// touches a socket, a clock or a goroutine: time is passed in, so the same code
// runs in the simulator, the model checker and the TUN runtime.
package machine
