package proptest

import (
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
)

// TestConfigDefaults runs a Conn with a zero Config, which every other test
// of this package fills in: each zero field must take the default its
// documentation gives, as the peer sees it on the wire.
func TestConfigDefaults(t *testing.T) {
	c := machine.NewConn(&machine.Config{}, machine.Tuple{})
	if err := c.Connect(0); err != nil {
		t.Fatal(err)
	}
	out := c.Outbox()
	if len(out) != 1 || !out[0].Flags.Has(machine.SYN) {
		t.Fatalf("CONNECT sent %v, want one SYN", out)
	}
	syn := out[0]
	if syn.MSS != machine.DefaultMSS {
		t.Errorf("the SYN's MSS option is %d, want DefaultMSS %d", syn.MSS, machine.DefaultMSS)
	}
	// The window field's 16 bits, written out here so that a wrong
	// machine.MaxWindow cannot hide.
	const fieldMax = 1<<16 - 1
	if want := min(machine.DefaultRcvBuf, fieldMax); int(syn.Window) != want {
		t.Errorf("the SYN offers a window of %d, want min(DefaultRcvBuf, 65535) = %d", syn.Window, want)
	}
	c.ClearOutbox()
	// A peer announcing a tiny MSS is raised to DefaultMinPeerMSS.
	iss := c.Vars().ISS
	synack := machine.Segment{Flags: machine.SYN | machine.ACK, Seq: 5000, Ack: iss + 1, Window: 60000, MSS: 100}
	c.Input(0, &synack)
	if v := c.Vars(); c.State() != machine.StateEstablished || v.MSS != machine.DefaultMinPeerMSS {
		t.Fatalf("after a SYN+ACK with MSS 100: %v with send MSS %d, want ESTABLISHED with DefaultMinPeerMSS %d", c.State(), v.MSS, machine.DefaultMinPeerMSS)
	}
	c.ClearOutbox()
	// RFC 5961: in-window SYNs get challenge ACKs, DefaultChallengeACKs of
	// them per second.
	acks := 0
	for i := range 2 * machine.DefaultChallengeACKs {
		s := machine.Segment{Flags: machine.SYN, Seq: 5001 + uint32(i), Window: 100}
		c.Input(0, &s)
		acks += len(c.Outbox())
		c.ClearOutbox()
	}
	if acks != machine.DefaultChallengeACKs {
		t.Errorf("%d in-window SYNs within a second got %d challenge ACKs, want DefaultChallengeACKs %d", 2*machine.DefaultChallengeACKs, acks, machine.DefaultChallengeACKs)
	}
}
