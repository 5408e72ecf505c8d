package mutate

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
)

func TestLookup(t *testing.T) {
	for _, name := range Names() {
		m, ok := Lookup(name)
		if !ok || m.Name != name {
			t.Errorf("Lookup(%q) = %v, %v", name, m.Name, ok)
		}
		if m.Step == nil && m.Rewrite == nil {
			t.Errorf("mutation %q changes nothing", name)
		}
		if m.Invariant < 1 || m.Invariant > 20 {
			t.Errorf("mutation %q names invariant %d", name, m.Invariant)
		}
	}
	if _, ok := Lookup("no-such-mutation"); ok {
		t.Error("Lookup found a mutation that does not exist")
	}
}

func TestSynAckAckX(t *testing.T) {
	m, _ := Lookup("synack-ack-x")
	synack := machine.Segment{Flags: machine.SYN | machine.ACK, Seq: 7, Ack: 0}
	m.Rewrite(&synack)
	if synack.Ack != ^uint32(0) {
		t.Errorf("SYN+ACK ack after rewrite = %d, want 2^32-1 (x instead of x+1, across the wrap)", synack.Ack)
	}
	ack := machine.Segment{Flags: machine.ACK, Seq: 7, Ack: 9}
	m.Rewrite(&ack)
	if ack.Ack != 9 {
		t.Errorf("plain ACK rewritten: ack = %d, want 9", ack.Ack)
	}
}

// fakeActions answers the two guards the LAST-ACK row consults and records
// the actions run; any other method panics through the nil embedded interface.
type fakeActions struct {
	machine.Actions
	inRange, finAcked bool
	ran               []string
}

func (f *fakeActions) AckInRange() bool { return f.inRange }
func (f *fakeActions) FinAcked() bool   { return f.finAcked }
func (f *fakeActions) ProcessAck()      { f.ran = append(f.ran, "process_ack") }
func (f *fakeActions) Start2msl()       { f.ran = append(f.ran, "start_2msl") }

func TestLastAckTimeWait(t *testing.T) {
	m, _ := Lookup("lastack-timewait")
	innerCalls := 0
	inner := func(s machine.State, e machine.Event, a machine.Actions) (machine.State, machine.Rule) {
		innerCalls++
		return s, machine.RuleNone
	}
	step := m.Step(inner)

	a := &fakeActions{inRange: true, finAcked: true}
	to, rule := step(machine.StateLastAck, machine.EventRcvAck, a)
	if to != machine.StateTimeWait || rule != machine.RuleLastAckRcvAckOfFin {
		t.Errorf("mutated LAST-ACK ack of FIN -> %v [%v], want TIME-WAIT [last_ack_rcv_ack_of_fin]", to, rule)
	}
	if len(a.ran) != 2 || a.ran[0] != "process_ack" || a.ran[1] != "start_2msl" {
		t.Errorf("mutated row ran %v, want [process_ack start_2msl]", a.ran)
	}
	if innerCalls != 0 {
		t.Errorf("mutated row also called the real dispatcher %d times", innerCalls)
	}

	// Anything else goes to the real dispatcher untouched.
	b := &fakeActions{inRange: true, finAcked: false}
	step(machine.StateLastAck, machine.EventRcvAck, b)
	step(machine.StateEstablished, machine.EventRcvAck, b)
	if innerCalls != 2 || len(b.ran) != 0 {
		t.Errorf("unmutated events: inner called %d times (want 2), actions ran %v (want none)", innerCalls, b.ran)
	}

	var cfg machine.Config
	m.Apply(&cfg)
	if cfg.Step == nil {
		t.Error("Apply did not install the mutated dispatcher")
	}
}

func TestTimeWaitForever(t *testing.T) {
	m, _ := Lookup("timewait-forever")
	inner := func(s machine.State, e machine.Event, a machine.Actions) (machine.State, machine.Rule) {
		return machine.StateClosed, machine.RuleTimeWaitTimeout
	}
	step := m.Step(inner)
	if to, rule := step(machine.StateTimeWait, machine.EventTimeout2msl, nil); to != machine.StateTimeWait || rule != machine.RuleNone {
		t.Errorf("mutated 2MSL timeout -> %v [%v], want TIME-WAIT [none]", to, rule)
	}
	if to, _ := step(machine.StateTimeWait, machine.EventRcvFin, nil); to != machine.StateClosed {
		t.Errorf("other events must reach the real dispatcher")
	}
}
