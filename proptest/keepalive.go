package proptest

import (
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// This file judges keepalive (invariant 42).

// keepaliveGhost is when one side last heard from its peer and the probes
// it sent since, from the segments.
type keepaliveGhost struct {
	heardValid bool
	heard      time.Duration
	probes     int
	lastProbe  time.Duration
}

// keepaliveOf is k with docs/runtime.md's defaults for its zero fields:
// Idle 2 h, Interval 75 s, Count 9 (RFC 1122 4.2.3.6's two hours; Linux's
// interval and count).
func keepaliveOf(k machine.KeepAlive) machine.KeepAlive {
	if k.Idle <= 0 {
		k.Idle = 2 * time.Hour
	}
	if k.Interval <= 0 {
		k.Interval = 75 * time.Second
	}
	if k.Count <= 0 {
		k.Count = 9
	}
	return k
}

// checkKeepalive is invariant 42 (RFC 9293 3.8.4, RFC 1122 4.2.3.6): a
// keepalive probe (an empty ACK at SND.NXT-1) goes out only with keepalive
// on, nothing outstanding, and Idle since the peer was last heard (the
// first probe) or Interval since the last unanswered one; a connection is
// given up by rule keepalive_dead only after Count unanswered probes and
// another Interval, and then no further probe goes out; and while a
// connection is idle with keepalive on, its timer runs for the next probe
// by the time it is due. With abstract time only the counts are checked.
func (w *World) checkKeepalive(r *simnet.Record, g *flowGhost) {
	k := &g.ka
	in, b := &r.In, &r.Before
	if r.Kind == simnet.Input && len(r.Steps) > 0 && !droppedUnread(r) && !in.Flags.Has(machine.RST) &&
		!(in.Flags.Has(machine.SYN) && !in.Flags.Has(machine.ACK)) {
		k.heardValid, k.heard, k.probes = true, r.Now, 0
	}
	ka := keepaliveOf(w.side[r.Side].keepalive)
	for i := range r.Steps {
		switch r.Steps[i].Rule {
		case machine.RuleKeepaliveProbe:
			switch {
			case !ka.Enable:
				w.fail(42, "%v sent a keepalive probe with keepalive off", r.Side)
			case b.SndUna != b.SndNxt:
				w.fail(42, "%v sent a keepalive probe with %d bytes of sequence space outstanding", r.Side, b.SndNxt-b.SndUna)
			case len(r.Out) != 1 || r.Out[0].Flags != machine.ACK || len(r.Out[0].Payload) != 0 || r.Out[0].Seq != b.SndNxt-1:
				w.fail(42, "%v's keepalive probe is %v, want one empty ACK at SND.NXT-1 = %d", r.Side, formatSegs(r.Out), b.SndNxt-1)
			case k.probes >= ka.Count:
				w.fail(42, "%v sent keepalive probe %d; after Count %d unanswered ones it must give its peer up", r.Side, k.probes+1, ka.Count)
			case w.abstractTime || !k.heardValid:
			case k.probes == 0 && r.Now-k.heard < ka.Idle:
				w.fail(42, "%v probed %v after it last heard from its peer, before Idle %v", r.Side, r.Now-k.heard, ka.Idle)
			case k.probes > 0 && r.Now-k.lastProbe < ka.Interval:
				w.fail(42, "%v probed again %v after its last probe, before Interval %v", r.Side, r.Now-k.lastProbe, ka.Interval)
			}
			k.probes++
			k.lastProbe = r.Now
		case machine.RuleKeepaliveDead:
			switch {
			case k.probes < ka.Count:
				w.fail(42, "%v gave its peer up after %d unanswered keepalive probes; Count is %d", r.Side, k.probes, ka.Count)
			case !w.abstractTime && r.Now-k.lastProbe < ka.Interval:
				w.fail(42, "%v gave its peer up %v after its last probe, before Interval %v", r.Side, r.Now-k.lastProbe, ka.Interval)
			}
		}
		if w.err != nil {
			return
		}
	}
	w.checkKeepaliveArmed(r.Side, r.To, &r.After, r.Now, r.Deadline, r.HasTimer)
}

// checkKeepaliveArmed is invariant 42's liveness half: an idle connection
// (ESTABLISHED or CLOSE-WAIT, nothing outstanding or unsent) with
// keepalive on has a timer armed for its next probe, or for giving up, by
// the time that is due. It runs after every record and after
// SetKeepAlive.
func (w *World) checkKeepaliveArmed(s simnet.Side, state machine.State, a *machine.Vars, now, deadline time.Duration, armed bool) {
	k := &w.side[s].flow.ka
	ka := keepaliveOf(w.side[s].keepalive)
	idle := (state == machine.StateEstablished || state == machine.StateCloseWait) && a.SndUna == a.SndNxt && a.SndQueued == 0
	if !ka.Enable || !idle || !k.heardValid || w.abstractTime {
		return
	}
	due := k.heard + ka.Idle
	if k.probes > 0 {
		due = k.lastProbe + ka.Interval
	}
	if due = max(due, now+1); !armed || deadline > due {
		w.fail(42, "%v is idle with keepalive on (%d probes sent, peer last heard at %v) and its next keepalive event is due at %v, but its next timer is %v (armed %v)",
			s, k.probes, k.heard, due, deadline, armed)
	}
}
