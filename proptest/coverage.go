package proptest

import "github.com/tcpfsm/tcpfsm/machine"

// Coverage counts how often each rule of the spec fired (invariant 20). It
// is a machine.Observer; one Coverage may watch many Conns and runs.
type Coverage struct {
	hits [machine.NumRules]int
}

// Transition implements machine.Observer.
func (c *Coverage) Transition(_ *machine.Conn, _ machine.State, _ machine.Event, rule machine.Rule, _ machine.State) {
	c.hits[rule]++
}

// Hit records one firing of rule.
func (c *Coverage) Hit(rule machine.Rule) { c.hits[rule]++ }

// Hits is how often rule fired.
func (c *Coverage) Hits(rule machine.Rule) int { return c.hits[rule] }

// Add merges o's counts into c.
func (c *Coverage) Add(o *Coverage) {
	for i, n := range o.hits {
		c.hits[i] += n
	}
}

// Missing returns the spec's rules that never fired, in spec order
// (RuleNone, which means "no rule", is not a row and never missing).
func (c *Coverage) Missing() []machine.Rule {
	var out []machine.Rule
	for r := machine.Rule(1); r < machine.NumRules; r++ {
		if c.hits[r] == 0 {
			out = append(out, r)
		}
	}
	return out
}
