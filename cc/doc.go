// Package cc is the sender's loss recovery and congestion control: the
// machine generated from spec/cc.yaml and the Controller whose guards and
// actions it calls.
//
// machine_gen.go and stateless_gen.go (generated) declare the State, Event
// and Rule enums, the Actions interface and Step, as package machine's do
// for the TCP machine. The Controller holds cwnd, ssthresh, the recovery
// point and the growth function's state (reno.go, cubic.go); Classify
// (classify.go) turns an ACK, described by the TCP side as an Ack, into
// one of the machine's segment events. What a sender may put in flight is
// Controller.Quota.
//
// Like package machine it never touches a clock, a socket or a goroutine:
// time is an argument.
package cc
