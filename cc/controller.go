package cc

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Algorithm is the growth function of congestion avoidance and the factor
// of a reduction.
type Algorithm uint8

// The algorithms. CUBIC is the default, as in Linux, FreeBSD and Windows.
const (
	CUBIC Algorithm = iota // RFC 9438
	Reno                   // RFC 5681 with RFC 3465's byte counting
)

func (a Algorithm) String() string {
	switch a {
	case CUBIC:
		return "cubic"
	case Reno:
		return "reno"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm reads "cubic" or "reno".
func ParseAlgorithm(s string) (Algorithm, error) {
	switch s {
	case "cubic", "":
		return CUBIC, nil
	case "reno":
		return Reno, nil
	}
	return 0, fmt.Errorf("congestion control %q: want cubic or reno", s)
}

// Constants of the RFCs.
const (
	// DupThresh is the number of duplicate ACKs that signal a loss (RFC
	// 5681 3.2, RFC 6675 2).
	DupThresh = 3
	// abcL is RFC 3465's L: slow start grows by at most L*SMSS per ACK.
	abcL = 2
	// maxWindow caps cwnd and ssthresh: the largest window TCP can
	// advertise (65535 << 14) rounded up; an initial ssthresh "arbitrarily
	// high" (RFC 5681 3.1) is this.
	maxWindow = 1 << 30
)

// InitialWindow is RFC 6928's initial window for a sender maximum segment
// size: min(10*SMSS, max(2*SMSS, 14600)).
func InitialWindow(smss uint32) uint32 {
	return min(10*smss, max(2*smss, 14600))
}

// Ack is what the TCP side knows of one acceptable ACK, the input to
// Classify and OnAck. The sequence numbers are the TCB's, before the ACK
// is processed.
type Ack struct {
	Now    time.Duration // the time of the call, as everywhere in tcpfsm
	SndUna uint32        // SND.UNA before the ACK
	SndNxt uint32        // SND.NXT
	SegAck uint32        // SEG.ACK
	// Duplicate says the ACK is a duplicate in RFC 5681 2's sense (data
	// outstanding, no text, no SYN or FIN, SEG.ACK == SND.UNA, the window
	// unchanged) or, with SACK, in RFC 6675 2's (it SACKs new data).
	Duplicate bool
	// SACKLoss says the scoreboard, with this ACK's blocks, declares the
	// first unacknowledged segment lost (RFC 6675 IsLost).
	SACKLoss bool
	// SRTT is the smoothed round-trip time (RFC 6298), 0 before a sample:
	// CUBIC's Reno-friendly region and its target use it.
	SRTT time.Duration
}

// Controller is one connection's congestion state: the machine's state,
// cwnd, ssthresh, the recovery point and the growth function's memory. It
// implements Actions; Step (or OnAck, OnRTO, OnIdle) drives it. The zero
// Controller is not ready: use Init.
type Controller struct {
	state    State
	alg      Algorithm
	sackOn   bool
	smss     uint32
	cwnd     uint32
	ssthresh uint32

	dupAcks    int    // duplicate ACKs in a row
	bytesAcked uint32 // RFC 3465 2.1's counter in congestion avoidance (Reno)
	recover    uint32 // RFC 6582's recovery point: SND.NXT - 1 when the last loss event began
	recoverSet bool   // recover holds a loss event's point (RFC 6582 sets it to ISS first)

	cubic cubicState

	in    Ack    // the ACK being processed
	acked uint32 // bytes it acknowledges (0 for a duplicate)

	// Retransmit is set by the actions that resend the first
	// unacknowledged segment (entering recovery, NewReno's partial ACK);
	// the TCP side reads and clears it after each call.
	Retransmit bool
	// Reductions counts the times ssthresh was set from the flight, once
	// per loss event (invariant 47 reads it). The TCP side counts fast
	// recoveries and timeouts itself: its counters outlive the TCB.
	Reductions uint32
}

// Init readies c for a connection whose sender MSS is smss: state
// SLOW-START, cwnd the initial window, ssthresh arbitrarily high.
func (c *Controller) Init(alg Algorithm, smss uint32, sack bool) {
	smss = max(smss, 1)
	*c = Controller{
		state:    StateSlowStart,
		alg:      alg,
		sackOn:   sack,
		smss:     smss,
		cwnd:     InitialWindow(smss),
		ssthresh: maxWindow,
	}
	c.cubic = cubicState{epochStart: -1}
}

// LossWindow sets cwnd to one segment, for a connection whose SYN or
// SYN+ACK had to be sent again (RFC 5681 3.1: LW).
func (c *Controller) LossWindow() { c.cwnd = c.smss }

// State is the machine's state.
func (c *Controller) State() State { return c.state }

// Cwnd is the congestion window in bytes.
func (c *Controller) Cwnd() uint32 { return c.cwnd }

// Ssthresh is the slow start threshold in bytes.
func (c *Controller) Ssthresh() uint32 { return c.ssthresh }

// SMSS is the sender maximum segment size the window counts in.
func (c *Controller) SMSS() uint32 { return c.smss }

// Algorithm is the growth function.
func (c *Controller) Algorithm() Algorithm { return c.alg }

// DupAcks is the number of duplicate ACKs in a row.
func (c *Controller) DupAcks() int { return c.dupAcks }

// InRecovery reports whether a loss is being repaired (FAST-RECOVERY or
// LOSS-RECOVERY).
func (c *Controller) InRecovery() bool { return inRecovery(c.state) }

// Recover is RFC 6582's recovery point and whether one is set.
func (c *Controller) Recover() (uint32, bool) { return c.recover, c.recoverSet }

// Quota is how many more bytes the sender may put in flight: min(cwnd,
// sndWnd) less inFlight (FlightSize, or RFC 6675's pipe in SACK recovery),
// 0 if that is negative. The first two duplicate ACKs each add one SMSS
// beyond cwnd, never beyond sndWnd (limited transmit, RFC 3042).
func (c *Controller) Quota(inFlight, sndWnd uint32) uint32 {
	w := c.cwnd
	if !c.InRecovery() && c.dupAcks > 0 && c.dupAcks < DupThresh {
		w += uint32(c.dupAcks) * c.smss
	}
	w = min(w, sndWnd)
	if inFlight >= w {
		return 0
	}
	return w - inFlight
}

// OnAck classifies an acceptable ACK and steps the machine with it. It
// returns the rule that fired, RuleNone if the ACK is neither new nor a
// duplicate (a window update, an ACK with text), which ends a run of
// duplicate ACKs.
func (c *Controller) OnAck(a Ack) Rule {
	c.in = a
	c.acked = 0
	e, ok := Classify(c.state, c.recover, a)
	if !ok {
		c.dupAcks = 0 // a window update or text ends a run of duplicates
		return RuleNone
	}
	if e != EventDupAck && e != EventSackLoss {
		c.acked = a.SegAck - a.SndUna
	}
	return c.step(e)
}

// OnRTO steps the machine with a retransmission timeout. a gives SND.UNA
// and SND.NXT at the time (its other fields are ignored).
func (c *Controller) OnRTO(a Ack) Rule {
	c.in, c.acked = a, 0
	return c.step(EventRto)
}

// OnIdle steps the machine with a restart after an idle period longer than
// the RTO (RFC 5681 4.1); the TCP side calls it before sending.
func (c *Controller) OnIdle(now time.Duration) Rule {
	c.in, c.acked = Ack{Now: now}, 0
	return c.step(EventIdleRestart)
}

func (c *Controller) step(e Event) Rule {
	next, r := Step(c.state, e, c)
	if r == RuleNone {
		return r
	}
	if c.acked > 0 && e != EventDupAck {
		c.dupAcks = 0
	}
	c.state = next
	return r
}

// flight is FlightSize at the ACK: bytes sent and not yet acknowledged
// before it.
func (c *Controller) flight() uint32 { return c.in.SndNxt - c.in.SndUna }

// reduced is the ssthresh of a loss event: FlightSize times the
// algorithm's beta (1/2 for Reno, 0.7 for CUBIC), at least 2*SMSS.
func (c *Controller) reduced() uint32 {
	f := c.flight()
	var w uint32
	if c.alg == Reno {
		w = f / 2
	} else {
		w = uint32(uint64(f) * cubicBetaNum / cubicBetaDen)
	}
	return max(w, 2*c.smss)
}

func inRecovery(s State) bool { return s == StateFastRecovery || s == StateLossRecovery }

// ---- guards ----

// CwndLimited implements guard cwnd_limited, from FlightSize before the
// ACK.
func (c *Controller) CwndLimited() bool {
	f := uint64(c.flight())
	if c.state == StateSlowStart {
		return uint64(c.cwnd) < 2*f
	}
	return f+uint64(c.smss) >= uint64(c.cwnd)
}

// ReachesSsthresh implements guard reaches_ssthresh.
func (c *Controller) ReachesSsthresh() bool {
	return uint64(c.cwnd)+uint64(c.slowStartStep()) >= uint64(c.ssthresh)
}

// ThirdDupack implements guard third_dupack.
func (c *Controller) ThirdDupack() bool { return c.dupAcks+1 == DupThresh }

// CoversRecover implements guard covers_recover.
func (c *Controller) CoversRecover() bool {
	return !c.recoverSet || seqGT(c.in.SegAck-1, c.recover)
}

// ExitsBelowSsthresh implements guard exits_below_ssthresh.
func (c *Controller) ExitsBelowSsthresh() bool { return c.exitWindow() < c.ssthresh }

// exitWindow is cwnd after recovery: min(ssthresh, max(FlightSize, SMSS) +
// SMSS), FlightSize once this ACK is in (RFC 6582 3.2 step 3 option 1).
func (c *Controller) exitWindow() uint32 {
	after := c.in.SndNxt - c.in.SegAck
	return max(min(c.ssthresh, max(after, c.smss)+c.smss), c.smss)
}

// RestartBelowSsthresh implements guard restart_below_ssthresh.
func (c *Controller) RestartBelowSsthresh() bool {
	return min(InitialWindow(c.smss), c.cwnd) < c.ssthresh
}

// Sack implements guard sack.
func (c *Controller) Sack() bool { return c.sackOn }

// ---- actions ----

// slowStartStep is slow start's growth for the ACK: min(bytes ACKed,
// L*SMSS) (RFC 3465 2.2).
func (c *Controller) slowStartStep() uint32 { return min(c.acked, abcL*c.smss) }

// grow adds n bytes to cwnd, capped at maxWindow.
func (c *Controller) grow(n uint32) { c.cwnd = uint32(min(uint64(c.cwnd)+uint64(n), maxWindow)) }

// GrowSlowStart implements action grow_slow_start.
func (c *Controller) GrowSlowStart() { c.grow(c.slowStartStep()) }

// GrowAvoidance implements action grow_avoidance.
func (c *Controller) GrowAvoidance() {
	if c.alg == Reno {
		c.renoAvoidance()
		return
	}
	c.cubicAvoidance()
}

// CountDupack implements action count_dupack.
func (c *Controller) CountDupack() { c.dupAcks++ }

// LimitedTransmit implements action limited_transmit: Quota reads dupAcks.
func (c *Controller) LimitedTransmit() {}

// EnterRecovery implements action enter_recovery.
func (c *Controller) EnterRecovery() {
	c.ssthresh = c.reduced()
	c.Reductions++
	c.recover, c.recoverSet = c.in.SndNxt-1, true
	if c.alg == CUBIC {
		c.cubic.lossEvent(c.cwnd, c.smss)
	}
	c.cwnd = c.ssthresh
	if !c.sackOn {
		c.cwnd += DupThresh * c.smss // RFC 5681 3.2 step 3: the segments that left
	}
	c.bytesAcked = 0
	c.Retransmit = true
}

// Inflate implements action inflate.
func (c *Controller) Inflate() { c.grow(c.smss) }

// PartialWindow implements action partial_window.
func (c *Controller) PartialWindow() {
	c.cwnd -= min(c.acked, c.cwnd-c.smss)
	if c.acked >= c.smss {
		c.grow(c.smss)
	}
	c.Retransmit = true
}

// ExitRecovery implements action exit_recovery.
func (c *Controller) ExitRecovery() {
	c.cwnd = c.exitWindow()
	c.bytesAcked = 0
	c.cubic.epochStart = -1
}

// GrowAfterRto implements action grow_after_rto.
func (c *Controller) GrowAfterRto() { c.grow(c.slowStartStep()) }

// Collapse implements action collapse. A timeout in fast recovery belongs
// to the loss event that began it, which already set ssthresh: one
// reduction per window (RFC 5681 3.1 sets ssthresh to "no more than" eq.
// 4's value; FlightSize, lost segments included, would raise it).
func (c *Controller) Collapse() {
	if c.state != StateLossRecovery && c.state != StateFastRecovery {
		c.ssthresh = c.reduced()
		c.Reductions++
		if c.alg == CUBIC {
			c.cubic.lossEvent(c.cwnd, c.smss)
		}
	}
	c.cwnd = c.smss
	c.recover, c.recoverSet = c.in.SndNxt-1, true
	c.dupAcks, c.bytesAcked = 0, 0
}

// RestartWindow implements action restart_window.
func (c *Controller) RestartWindow() {
	c.cwnd = min(InitialWindow(c.smss), c.cwnd)
	c.bytesAcked = 0
	c.cubic.epochStart = -1
}

// AppendKey appends a canonical encoding of what decides c's future
// behaviour, given the same inputs, to b; time (CUBIC's epoch start) is
// left out, as package machine's keys leave it out.
func (c *Controller) AppendKey(b []byte) []byte {
	var flags byte
	if c.sackOn {
		flags |= 1
	}
	if c.recoverSet {
		flags |= 2
	}
	if c.Retransmit {
		flags |= 4
	}
	b = append(b, byte(c.state), byte(c.alg), flags, byte(min(c.dupAcks, 255)))
	for _, v := range [...]uint32{c.smss, c.cwnd, c.ssthresh, c.bytesAcked, c.recover} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	for _, f := range [...]float64{c.cubic.wMax, c.cubic.wLastMax, c.cubic.cwndPrior} {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
