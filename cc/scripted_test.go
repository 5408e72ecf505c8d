package cc

import (
	"math"
	"testing"
	"time"
)

// script drives one Controller with explicit sequence numbers, as a bulk
// sender whose every segment is SMSS bytes.
type script struct {
	t        *testing.T
	c        Controller
	una, nxt uint32
	now      time.Duration
	srtt     time.Duration
}

func newScript(t *testing.T, alg Algorithm, sack bool) *script {
	s := &script{t: t, una: 1000, nxt: 1000, srtt: 100 * time.Millisecond}
	s.c.Init(alg, 1000, sack)
	return s
}

func (s *script) send() { s.nxt = s.una + max(s.c.Cwnd(), s.nxt-s.una) }

func (s *script) ack(n uint32) Rule {
	a := Ack{Now: s.now, SndUna: s.una, SndNxt: s.nxt, SegAck: s.una + n, SRTT: s.srtt}
	r := s.c.OnAck(a)
	s.una += n
	return r
}

func (s *script) dup() Rule {
	return s.c.OnAck(Ack{Now: s.now, SndUna: s.una, SndNxt: s.nxt, SegAck: s.una, Duplicate: true, SRTT: s.srtt})
}

func (s *script) want(what string, got, want uint32) {
	s.t.Helper()
	if got != want {
		s.t.Fatalf("invariant 50: %s: cwnd %d, RFC wants %d (state %v, ssthresh %d)", what, got, want, s.c.State(), s.c.Ssthresh())
	}
}

// TestRenoScripted checks invariant 50 for Reno: after a scripted ACK
// sequence, cwnd is what RFC 5681, RFC 3465 and RFC 6582 compute by hand.
func TestRenoScripted(t *testing.T) {
	s := newScript(t, Reno, false)
	s.want("initial window (RFC 6928)", s.c.Cwnd(), 10000)
	s.send()
	// Slow start: each ACK of one segment adds one SMSS; an ACK of five
	// adds L = 2 SMSS only (RFC 3465 2.2).
	for i := range 4 {
		s.ack(1000)
		s.send()
		s.want("slow start", s.c.Cwnd(), 10000+1000*uint32(i+1))
	}
	s.ack(5000)
	s.want("an ACK of five segments in slow start", s.c.Cwnd(), 16000)
	s.send()
	flight := s.nxt - s.una // 16000
	// Three duplicate ACKs: the first two keep cwnd (limited transmit lets
	// one segment more go each), the third halves the flight and inflates
	// by the three segments that left the network.
	for range 2 {
		if r := s.dup(); r != RuleOpenDupack {
			t.Fatalf("dupack fired %v", r)
		}
		s.want("first duplicate ACKs", s.c.Cwnd(), 16000)
	}
	if q := s.c.Quota(flight, 1<<20); q != 2000 {
		t.Fatalf("limited transmit: quota %d after two duplicate ACKs, want 2 SMSS", q)
	}
	if r := s.dup(); r != RuleOpenThirdDupack || !s.c.Retransmit {
		t.Fatalf("third dupack fired %v, retransmit %v", r, s.c.Retransmit)
	}
	s.want("fast retransmit", s.c.Cwnd(), flight/2+3000)
	if s.c.Ssthresh() != flight/2 {
		t.Fatalf("invariant 50: ssthresh %d, want FlightSize/2 = %d", s.c.Ssthresh(), flight/2)
	}
	s.dup()
	s.want("a fourth duplicate ACK inflates", s.c.Cwnd(), flight/2+4000)
	// A partial ACK of two segments: deflate by 2000, add back one SMSS.
	before := s.c.Cwnd()
	if r := s.ack(2000); r != RuleFrPartialAck {
		t.Fatalf("partial ACK fired %v", r)
	}
	s.want("partial ACK (RFC 6582 3.2 step 3)", s.c.Cwnd(), before-2000+1000)
	// The full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
	rest := s.nxt - s.una
	// Nothing is left in flight, so that is 2 SMSS, below ssthresh: slow
	// start takes cwnd back to ssthresh (RFC 5681 3.1), then avoidance.
	if r := s.ack(rest); r != RuleFrFullAckToSs {
		t.Fatalf("full ACK with nothing in flight fired %v, want fr_full_ack_to_ss", r)
	}
	s.want("full ACK", s.c.Cwnd(), min(flight/2, 1000+1000))
	for s.c.State() == StateSlowStart {
		s.send()
		s.ack(1000)
	}
	s.want("slow start back to ssthresh", s.c.Cwnd(), s.c.Ssthresh())

	// Congestion avoidance: cwnd bytes ACKed add one SMSS.
	for round := range 3 {
		w := s.c.Cwnd()
		s.send()
		for acked := uint32(0); acked < w; acked += 1000 {
			s.ack(1000)
			s.send() // cwnd-limited all along (RFC 7661)
		}
		s.want("congestion avoidance round", s.c.Cwnd(), w+1000)
		_ = round
	}
	// An ACK of a window the sender did not fill does not grow cwnd
	// (RFC 7661 4.3).
	s.nxt = s.una + 1000 // one segment in flight, of a window of several
	before = s.c.Cwnd()
	if r := s.ack(1000); r != RuleOpenAckNotLimited || s.c.Cwnd() != before {
		t.Fatalf("an application-limited ACK fired %v and moved cwnd %d -> %d", r, before, s.c.Cwnd())
	}
	// An RTO: ssthresh = FlightSize/2, cwnd = 1 SMSS; a second one keeps
	// ssthresh.
	s.send()
	flight = s.nxt - s.una
	s.c.OnRTO(Ack{Now: s.now, SndUna: s.una, SndNxt: s.nxt})
	s.want("RTO", s.c.Cwnd(), 1000)
	th := s.c.Ssthresh()
	if th != max(flight/2, 2000) {
		t.Fatalf("invariant 50: ssthresh %d after RTO, want %d", th, max(flight/2, 2000))
	}
	s.c.OnRTO(Ack{Now: s.now, SndUna: s.una, SndNxt: s.nxt + 5000})
	if s.c.Ssthresh() != th {
		t.Fatalf("invariant 47: a second RTO moved ssthresh %d -> %d", th, s.c.Ssthresh())
	}
}

// TestCubicScripted checks invariant 50 for CUBIC: a loss at W_max = 100
// segments cuts cwnd to 70, and an ACK clock at a 100 ms RTT then walks
// cwnd along W_cubic(t) = C(t-K)^3 + W_max (RFC 9438 4.2), K =
// cbrt(W_max*(1-beta)/C): each ACK moves cwnd 1/cwnd of the way to
// W_cubic(t+RTT), so a window's ACKs later, one RTT on, cwnd is there and
// cwnd(t) stays within a segment of W_cubic(t).
func TestCubicScripted(t *testing.T) {
	s := newScript(t, CUBIC, true)
	// Grow to 100 segments in slow start, then lose one.
	s.send()
	for s.c.Cwnd() < 100000 {
		s.ack(1000)
		s.send()
	}
	s.want("slow start to 100 segments", s.c.Cwnd(), 100000)
	s.nxt = s.una + 100000
	for range 3 {
		s.dup()
	}
	s.want("CUBIC reduction (beta 0.7, SACK: cwnd = ssthresh)", s.c.Cwnd(), 70000)
	// Recovery sends a window of new text; the full ACK leaves it in
	// flight, so the exit keeps cwnd = ssthresh (min(ssthresh, FlightSize
	// + SMSS)) and avoidance, not slow start, follows.
	recovered := s.nxt - s.una
	s.nxt += 70000
	s.ack(recovered)
	if s.c.State() != StateCongestionAvoidance || s.c.Cwnd() != s.c.Ssthresh() {
		t.Fatalf("full ACK with a window in flight left the controller in %v, cwnd %d, ssthresh %d", s.c.State(), s.c.Cwnd(), s.c.Ssthresh())
	}
	k := math.Cbrt(100 * (1 - 0.7) / 0.4)
	wCubic := func(t float64) float64 { return 0.4*math.Pow(t-k, 3) + 100 }
	start := s.now
	checks := []float64{0.5, 1, 2, 3, k, k + 1}
	for len(checks) > 0 {
		// One ACK of one segment, spaced so that a window's worth takes an RTT.
		w := float64(s.c.Cwnd()) / 1000
		s.now += time.Duration(float64(s.srtt) / w)
		s.nxt = s.una + s.c.Cwnd()
		s.ack(1000)
		el := (s.now - start).Seconds()
		if el >= checks[0] {
			got := float64(s.c.Cwnd()) / 1000
			want := wCubic(el)
			if math.Abs(got-want) > 1 {
				t.Fatalf("invariant 50: at t = %.2fs cwnd %.2f segments, W_cubic(t) = %.2f", el, got, want)
			}
			checks = checks[1:]
		}
	}
}
