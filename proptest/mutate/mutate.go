package mutate

import (
	"sort"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Mutation is one deliberate bug.
type Mutation struct {
	Name string // command-line name, e.g. "lastack-timewait"
	Doc  string // what is broken
	// Invariant is the design.md invariant the bug violates.
	Invariant int
	// Step, if set, wraps the dispatcher: pass its result as Config.Step.
	Step func(inner machine.StepFunc) machine.StepFunc
	// Rewrite, if set, alters every segment an endpoint emits before the
	// network sees it.
	Rewrite func(seg *machine.Segment)
}

var all = []Mutation{
	{
		Name:      "lastack-timewait",
		Doc:       "LAST-ACK's ack-of-FIN rule goes to TIME-WAIT (process_ack, start_2msl) instead of deleting the TCB: the passive closer waits 2*MSL",
		Invariant: 8,
		Step:      lastAckTimeWait,
	},
	{
		Name:      "timewait-forever",
		Doc:       "the 2*MSL timeout is ignored in TIME-WAIT: the active closer never reaches CLOSED",
		Invariant: 18,
		Step:      timeWaitForever,
	},
	{
		Name:      "synack-ack-x",
		Doc:       "the SYN+ACK acknowledges the peer's ISN x instead of x+1",
		Invariant: 4,
		Rewrite:   synAckAckX,
	},
}

// All returns the built-in mutations, sorted by name.
func All() []Mutation {
	out := append([]Mutation(nil), all...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the mutation names, sorted.
func Names() []string {
	var names []string
	for _, m := range All() {
		names = append(names, m.Name)
	}
	return names
}

// Lookup finds a mutation by name.
func Lookup(name string) (Mutation, bool) {
	for _, m := range all {
		if m.Name == name {
			return m, true
		}
	}
	return Mutation{}, false
}

// Apply sets cfg.Step to the mutation's dispatcher wrapper, if it has one,
// wrapping whatever cfg.Step was (nil: machine.Step).
func (m Mutation) Apply(cfg *machine.Config) {
	if m.Step == nil {
		return
	}
	inner := cfg.Step
	if inner == nil {
		inner = machine.Step
	}
	cfg.Step = m.Step(inner)
}

func lastAckTimeWait(inner machine.StepFunc) machine.StepFunc {
	return func(s machine.State, e machine.Event, a machine.Actions) (machine.State, machine.Rule) {
		if s == machine.StateLastAck && (e == machine.EventRcvAck || e == machine.EventRcvData || e == machine.EventRcvFin) &&
			a.AckInRange() && a.FinAcked() {
			a.ProcessAck()
			a.Start2msl()
			return machine.StateTimeWait, machine.RuleLastAckRcvAckOfFin
		}
		return inner(s, e, a)
	}
}

func synAckAckX(seg *machine.Segment) {
	if seg.Flags.Has(machine.SYN | machine.ACK) {
		seg.Ack--
	}
}

func timeWaitForever(inner machine.StepFunc) machine.StepFunc {
	return func(s machine.State, e machine.Event, a machine.Actions) (machine.State, machine.Rule) {
		if s == machine.StateTimeWait && e == machine.EventTimeout2msl {
			return s, machine.RuleNone // as if no row applied: nothing runs
		}
		return inner(s, e, a)
	}
}
