package spec

import (
	"fmt"
	"strings"
)

// Pos is a position in a spec file.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Machine is a parsed spec: the states, events, guards, options, actions and
// rules of one state machine. Order is the file's order everywhere.
type Machine struct {
	File    string // path the spec was read from, as given
	Name    string // machine name, e.g. "tcp"
	RFC     string // the document the rules cite, e.g. "RFC 9293"
	Go      GoTarget
	Paths   PathNames // how diagrams name the rules' paths
	Initial string    // state a new machine starts in
	Final   string    // state every connection must be able to reach
	States  []State
	Events  []Event
	Guards  []Guard // includes options (Guard.Option == true)
	Actions []Action
	Rules   []Rule
	Pos     Pos
}

// GoTarget is where a machine's generated Go goes: the package, by import
// path, and a prefix for every package-level name the generator declares
// ("" for State, Event, Step; "CC" for CCState, CCEvent, CCStep), so that
// two machines can share a package without their names colliding.
type GoTarget struct {
	Package string // import path, e.g. "github.com/tcpfsm/tcpfsm/machine"
	Prefix  string // an exported Go identifier, or ""
	Pos     Pos    // where the go key is; the zero Pos if it is absent
}

// PackageName is the Go package name: the import path's last element.
func (g GoTarget) PackageName() string {
	return g.Package[strings.LastIndexByte(g.Package, '/')+1:]
}

// PathNames are the legends of the diagrams: what the rules marked
// `path: active` and `path: passive` have in common, and the others.
type PathNames struct {
	Active, Passive, Other string
}

// State is one declared state.
type State struct {
	Name string // as in the RFC, e.g. "SYN-SENT"
	Doc  string
	RFC  string
	Pos  Pos
}

// EventKind says where an event comes from.
type EventKind string

// Event kinds.
const (
	UserEvent    EventKind = "user"
	SegmentEvent EventKind = "segment"
	TimerEvent   EventKind = "timer"
)

// Event is one declared event.
type Event struct {
	Name string
	Kind EventKind
	Doc  string
	Pos  Pos
}

// Guard is a named predicate over the TCB and the current segment. Options
// are guards whose value is configuration.
type Guard struct {
	Name   string
	Doc    string
	Option bool
	Pos    Pos
}

// Action is a named effect on the TCB.
type Action struct {
	Name string
	Doc  string
	Pos  Pos
}

// Cond is one guard reference in a rule: the guard, possibly negated.
type Cond struct {
	Guard string
	Not   bool
	Pos   Pos
}

func (c Cond) String() string {
	if c.Not {
		return "!" + c.Guard
	}
	return c.Guard
}

// Rule is one row of the transition table. A rule with several From states
// or several Events stands for the same row on each (state, event) pair.
type Rule struct {
	ID      string
	From    []string
	On      []string
	If      []Cond
	Do      []string
	To      string // a state name; equal to the source when Same is set
	Same    bool   // `to: same`: the state does not change
	RFC     string
	Path    string // "active", "passive" or ""
	Pos     Pos
	FromPos []Pos // positions of each From entry
	OnPos   []Pos // positions of each On entry
	DoPos   []Pos // positions of each Do entry
	ToPos   Pos
}

// Target is the state the rule leads to from the given source state.
func (r *Rule) Target(from string) string {
	if r.Same {
		return from
	}
	return r.To
}

// Label renders the rule as "event [guard] / actions" for diagrams.
func (r *Rule) Label() string {
	var b strings.Builder
	b.WriteString(strings.Join(r.On, ", "))
	if len(r.If) > 0 {
		conds := make([]string, len(r.If))
		for i, c := range r.If {
			conds[i] = c.String()
		}
		b.WriteString(" [" + strings.Join(conds, " && ") + "]")
	}
	if len(r.Do) > 0 {
		b.WriteString(" / " + strings.Join(r.Do, ", "))
	}
	return b.String()
}

// StateIndex returns the index of the named state, or -1.
func (m *Machine) StateIndex(name string) int {
	for i := range m.States {
		if m.States[i].Name == name {
			return i
		}
	}
	return -1
}

// EventIndex returns the index of the named event, or -1.
func (m *Machine) EventIndex(name string) int {
	for i := range m.Events {
		if m.Events[i].Name == name {
			return i
		}
	}
	return -1
}

// GuardIndex returns the index of the named guard or option, or -1.
func (m *Machine) GuardIndex(name string) int {
	for i := range m.Guards {
		if m.Guards[i].Name == name {
			return i
		}
	}
	return -1
}

// ActionIndex returns the index of the named action, or -1.
func (m *Machine) ActionIndex(name string) int {
	for i := range m.Actions {
		if m.Actions[i].Name == name {
			return i
		}
	}
	return -1
}

// RulesFor returns the rules that apply to (state, event), in spec order.
func (m *Machine) RulesFor(state, event string) []*Rule {
	var out []*Rule
	for i := range m.Rules {
		r := &m.Rules[i]
		if contains(r.From, state) && contains(r.On, event) {
			out = append(out, r)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// GoName turns a spec name ("syn_sent_rcv_syn", "SYN-SENT", "start_2msl")
// into a Go identifier part ("SynSentRcvSyn", "SynSent", "Start2msl"):
// split on '_' and '-', capitalise each part's first letter, lower the rest.
func GoName(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(strings.ToLower(part[1:]))
	}
	return b.String()
}
