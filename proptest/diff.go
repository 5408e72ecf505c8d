package proptest

import (
	"fmt"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Differential checks invariant 19: the generated dispatcher and the machine
// built on qmuntal/stateless agree on every event. Install Step as
// Config.Step: before each real step it puts a Stateless in the same state,
// fires the same event against the same Actions (guards only: Stateless
// runs no actions), then runs the inner dispatcher and compares the next
// state and the rule. Disagreements are kept, not panicked on, because Step
// runs inside a Conn.
type Differential struct {
	inner    machine.StepFunc
	machines []diffMachine // one Stateless per Actions value (per TCB)
	steps    int
	errs     []error
}

type diffMachine struct {
	a  machine.Actions
	sl *machine.Stateless
}

// maxDiffErrors bounds the disagreements kept.
const maxDiffErrors = 16

// NewDifferential wraps inner (nil: machine.Step).
func NewDifferential(inner machine.StepFunc) *Differential {
	if inner == nil {
		inner = machine.Step
	}
	return &Differential{inner: inner}
}

// Step is a machine.StepFunc.
func (d *Differential) Step(s machine.State, e machine.Event, a machine.Actions) (machine.State, machine.Rule) {
	sl := d.stateless(a)
	sl.SetState(s)
	wantState, wantRule, fireErr := sl.Fire(e)
	gotState, gotRule := d.inner(s, e, a)
	d.steps++
	if gotState != wantState || gotRule != wantRule || (fireErr != nil) != (gotRule == machine.RuleNone) {
		if len(d.errs) < maxDiffErrors {
			d.errs = append(d.errs, fmt.Errorf("invariant 19: in %v on %v the dispatcher took [%v] to %v, stateless took [%v] to %v (stateless error: %v)",
				s, e, gotRule, gotState, wantRule, wantState, fireErr))
		}
	}
	return gotState, gotRule
}

func (d *Differential) stateless(a machine.Actions) *machine.Stateless {
	for _, m := range d.machines {
		if m.a == a {
			return m.sl
		}
	}
	sl := machine.NewStateless(machine.StateClosed, a)
	d.machines = append(d.machines, diffMachine{a: a, sl: sl})
	return sl
}

// Steps is the number of events compared.
func (d *Differential) Steps() int { return d.steps }

// Err returns the first disagreement, or nil.
func (d *Differential) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return d.errs[0]
}

// Errs returns every disagreement kept (at most 16).
func (d *Differential) Errs() []error { return d.errs }
