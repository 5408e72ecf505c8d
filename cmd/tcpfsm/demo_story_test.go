package main

import (
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
)

// TestStoryUnderFaults checks that the demo's story never moves the
// kernel's inferred state on a segment the fault injector dropped: tcpfsm
// sends data that is lost, then its FIN (which the kernel must hold out of
// order), then the data again; a kernel ACK is lost on the way in.
func TestStoryUnderFaults(t *testing.T) {
	tuple := machine.Tuple{RemotePort: 5000, LocalPort: 80}
	const x, y = 1000, 9000
	seg := func(f machine.Flags, seq, ack uint32, n int) tunnet.SegmentInfo {
		return tunnet.SegmentInfo{Flags: f, Seq: seq, Ack: ack, Len: n}
	}
	tr := func(from, to machine.State, rule machine.Rule, recv *tunnet.SegmentInfo, sent ...tunnet.SegmentInfo) storyEvent {
		e := storyEvent{tr: tunnet.Transition{Tuple: tuple, From: from, To: to, Rule: rule, Sent: sent}}
		if recv != nil {
			e.tr.Recv, e.tr.HasRecv = *recv, true
		}
		return e
	}
	syn := seg(machine.SYN, x, 0, 0)
	ack := seg(machine.ACK, x+1, y+1, 0)
	data := seg(machine.ACK|machine.PSH, y+1, x+1, 10)
	fin := seg(machine.FIN|machine.ACK, y+11, x+1, 0)
	lostAck := seg(machine.ACK, x+1, y+1, 0)
	evs := []storyEvent{
		tr(machine.StateListen, machine.StateSynReceived, machine.RuleListenRcvSyn, &syn, seg(machine.SYN|machine.ACK, y, x+1, 0)),
		tr(machine.StateSynReceived, machine.StateEstablished, machine.RuleSynRcvdRcvAck, &ack),
		tr(machine.StateEstablished, machine.StateEstablished, machine.RuleOpenSend, nil, data),
		{drop: &tunnet.FaultDrop{Tuple: tuple, Seg: data}},
		tr(machine.StateEstablished, machine.StateFinWait1, machine.RuleEstClose, nil, fin),
		{drop: &tunnet.FaultDrop{Tuple: tuple, Inbound: true, Seg: lostAck}},
		tr(machine.StateFinWait1, machine.StateFinWait1, machine.RuleAnyRexmt, nil, seg(machine.ACK|machine.PSH, y+1, x+1, 10)),
	}
	var b strings.Builder
	printStory(&b, evs, 0)
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	find := func(sub string) string {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return l
			}
		}
		t.Fatalf("no line with %q", sub)
		return ""
	}
	if l := find("len=10 LOST"); !strings.HasPrefix(strings.TrimSpace(l), "0.000  ESTABLISHED ") || strings.Contains(l, "->  ") {
		t.Errorf("the lost data segment moved the kernel or was not marked: %q", l)
	}
	if l := find("FIN+ACK seq=y+11"); strings.Contains(l, "CLOSE-WAIT") {
		t.Errorf("the kernel took a FIN whose data was lost: %q", l)
	}
	if l := find("ack=y+1 LOST"); !strings.Contains(l, "tcpfsm never saw it") {
		t.Errorf("an inbound loss is not told: %q", l)
	}
	if l := find("any_rexmt"); !strings.Contains(l, "ESTABLISHED -> CLOSE-WAIT") {
		t.Errorf("the retransmission that fills the gap must put the kernel in CLOSE-WAIT: %q", l)
	}
}
