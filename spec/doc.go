// Package spec parses and validates tcpfsm's declarative state-machine spec
// (spec/tcp.yaml): states, events, guards, options, actions and the rules that
// tie them together, each rule tied to its RFC 9293 section.
//
// Parse is strict: unknown keys, duplicate keys, wrong types and unresolved
// names are errors, and every error carries file:line:col.
package spec
