package cc

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// sender is the tests' model of the TCP side: a bulk sender that keeps
// Quota's worth of whole segments in flight, against a peer window, and
// feeds the Controller the ACKs and timeouts a rapid script draws.
type sender struct {
	c        *Controller
	una, nxt uint32
	sndWnd   uint32
	now      time.Duration
	srtt     time.Duration
	paused   bool // the application has nothing to send
	fired    map[Rule]int
}

func newSender(alg Algorithm, smss uint32, sack bool, iss uint32) *sender {
	s := &sender{c: &Controller{}, una: iss, nxt: iss, sndWnd: 1 << 20, srtt: 50 * time.Millisecond, fired: map[Rule]int{}}
	s.c.Init(alg, smss, sack)
	s.fill()
	return s
}

// fill sends what the window allows, in whole segments.
func (s *sender) fill() {
	if s.paused {
		return
	}
	q := s.c.Quota(s.nxt-s.una, s.sndWnd)
	s.nxt += q / s.c.SMSS() * s.c.SMSS()
}

func (s *sender) ack(segAck uint32, dup, sackLoss bool) Ack {
	return Ack{Now: s.now, SndUna: s.una, SndNxt: s.nxt, SegAck: segAck, Duplicate: dup, SACKLoss: sackLoss, SRTT: s.srtt}
}

// checkStep runs do and checks the invariants that hold on every step.
func (s *sender) checkStep(t chooser, what string, do func() Rule) {
	before := *s.c
	flight := s.nxt - s.una
	r := do()
	c := s.c
	s.fired[r]++
	// Invariant 45: cwnd >= 1 SMSS and ssthresh >= 2 SMSS, always; and
	// congestion avoidance only with cwnd >= ssthresh (RFC 5681 3.1: slow
	// start is used while cwnd < ssthresh).
	if c.Cwnd() < c.SMSS() || c.Ssthresh() < 2*c.SMSS() {
		t.fatalf("invariant 45: after %s (rule %v): cwnd %d, ssthresh %d with SMSS %d", what, r, c.Cwnd(), c.Ssthresh(), c.SMSS())
	}
	if c.State() == StateCongestionAvoidance && c.Cwnd() < c.Ssthresh() {
		t.fatalf("invariant 45: after %s (rule %v): congestion avoidance with cwnd %d below ssthresh %d", what, r, c.Cwnd(), c.Ssthresh())
	}
	// Invariant 46: a duplicate ACK never grows cwnd outside recovery,
	// nor does the ACK of a window the sender did not use (RFC 7661 4.3:
	// in slow start FlightSize at most cwnd/2, else FlightSize + SMSS
	// below cwnd).
	if (r == RuleOpenDupack || r == RuleOpenStaleDupack || r == RuleOpenStaleSackLoss) && c.Cwnd() > before.Cwnd() {
		t.fatalf("invariant 46: duplicate ACK %s in %v grew cwnd %d -> %d", what, before.State(), before.Cwnd(), c.Cwnd())
	}
	unused := flight+c.SMSS() < before.Cwnd()
	if before.State() == StateSlowStart {
		unused = uint64(before.Cwnd()) >= 2*uint64(flight)
	}
	stillOpen := c.State() == StateSlowStart || c.State() == StateCongestionAvoidance
	if open := before.State() == StateSlowStart || before.State() == StateCongestionAvoidance; open && stillOpen && unused && c.Cwnd() > before.Cwnd() {
		t.fatalf("invariant 46: %s grew cwnd %d -> %d with %d bytes in flight: a window not used is not grown (RFC 7661)", what, before.Cwnd(), c.Cwnd(), flight)
	}
	// Invariant 47: a loss event reduces the window once, by the
	// algorithm's factor, and only for data sent after the last one's
	// recovery point.
	if n := c.Reductions - before.Reductions; n > 0 {
		beta := func(f uint32) uint32 {
			if c.Algorithm() == Reno {
				return f / 2
			}
			return uint32(uint64(f) * 7 / 10)
		}
		want := max(beta(flight), 2*c.SMSS())
		rec, set := before.Recover()
		fresh := !set || int32(c.in.SegAck-1-rec) > 0 || r == RuleRto
		switch {
		case n != 1:
			t.fatalf("invariant 47: %s reduced %d times", what, n)
		case before.State() == StateLossRecovery || before.State() == StateFastRecovery:
			t.fatalf("invariant 47: %s reduced again in %v: one reduction per loss event", what, before.State())
		case !fresh && r != RuleRto:
			t.fatalf("invariant 47: %s reduced for data below the recovery point %d", what, rec)
		case c.Ssthresh() != want:
			t.fatalf("invariant 47: %s set ssthresh %d from FlightSize %d; %v wants %d", what, c.Ssthresh(), flight, c.Algorithm(), want)
		}
	}
	// Invariant 48: in flight never exceeds min(cwnd, peer window) but by
	// limited transmit's two segments (RFC 3042), or what recovery's
	// retransmission itself adds.
	s.fill()
	limit := min(c.Cwnd()+2*c.SMSS(), s.sndWnd)
	if c.InRecovery() {
		limit = max(limit, s.nxt-s.una) // recovery sends what cwnd allows beyond what is lost; flight counts the lost
	}
	if got := s.nxt - s.una; got > limit && got > flight {
		t.fatalf("invariant 48: %s: %d bytes in flight, cwnd %d, peer window %d", what, got, c.Cwnd(), s.sndWnd)
	}
	c.Retransmit = false
}

// chooser draws the moves' choices: rapid in TestProperty, a seeded
// generator in TestCoverage.
type chooser interface {
	intn(lo, hi int, label string) int
	fatalf(format string, args ...any)
}

type rapidChooser struct{ t *rapid.T }

func (r rapidChooser) intn(lo, hi int, label string) int {
	return rapid.IntRange(lo, hi).Draw(r.t, label)
}
func (r rapidChooser) fatalf(format string, args ...any) { r.t.Fatalf(format, args...) }

type seededChooser struct {
	rng *rand.Rand
	t   *testing.T
}

func (c seededChooser) intn(lo, hi int, _ string) int     { return lo + c.rng.IntN(hi-lo+1) }
func (c seededChooser) fatalf(format string, args ...any) { c.t.Fatalf(format, args...) }

// move draws one input for the model sender.
func (s *sender) move(t chooser) {
	s.now += time.Duration(t.intn(0, 200, "ms")) * time.Millisecond
	smss := s.c.SMSS()
	outstanding := s.nxt - s.una
	switch t.intn(0, 9, "kind") {
	case 0, 1, 2, 3: // a new ACK of some whole segments
		if outstanding == 0 {
			return
		}
		n := uint32(t.intn(1, int((outstanding+smss-1)/smss), "segments")) * smss
		if t.intn(0, 3, "partial segment") == 0 { // a receiver that ACKs part of a segment
			n = uint32(t.intn(1, int(smss-1), "bytes"))
		}
		to := s.una + min(n, outstanding)
		s.checkStep(t, fmt.Sprintf("ACK %d", to-s.una), func() Rule {
			r := s.c.OnAck(s.ack(to, false, false))
			s.una = to
			return r
		})
	case 4, 5, 6: // a duplicate ACK
		if outstanding == 0 {
			return
		}
		loss := s.c.Sack() && t.intn(0, 1, "sackLoss") == 1
		s.checkStep(t, "dupack", func() Rule { return s.c.OnAck(s.ack(s.una, true, loss)) })
	case 7: // a window update: neither new nor duplicate
		s.checkStep(t, "window update", func() Rule { return s.c.OnAck(s.ack(s.una, false, false)) })
	case 8: // the retransmission timer
		if outstanding == 0 {
			return
		}
		s.checkStep(t, "RTO", func() Rule { return s.c.OnRTO(s.ack(s.una, false, false)) })
	case 9: // the application pauses: everything is ACKed, then an idle restart
		s.paused = true
		if outstanding != 0 {
			s.checkStep(t, "ACK of all", func() Rule {
				r := s.c.OnAck(s.ack(s.nxt, false, false))
				s.una = s.nxt
				return r
			})
		}
		s.now += time.Second
		s.paused = false
		s.checkStep(t, "idle restart", func() Rule { return s.c.OnIdle(s.now) })
	}
}

// TestProperty drives random ACK streams through both algorithms, with and
// without SACK, checking invariants 45-48 on every step and Step against
// the stateless machine (invariant 49).
func TestProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		alg := rapid.SampledFrom([]Algorithm{CUBIC, Reno}).Draw(t, "alg")
		smss := rapid.SampledFrom([]uint32{536, 1000, 1460, 8960}).Draw(t, "smss")
		iss := rapid.Uint32().Draw(t, "iss")
		s := newSender(alg, smss, rapid.Bool().Draw(t, "sack"), iss)
		s.sndWnd = rapid.SampledFrom([]uint32{4 * smss, 65535, 1 << 20}).Draw(t, "sndWnd")
		for i := rapid.IntRange(1, 120).Draw(t, "moves"); i > 0; i-- {
			s.crossCheck(t)
			s.move(rapidChooser{t})
		}
	})
}

// crossCheck checks invariant 49: for every event, Step fires the rule the
// stateless machine built from the same spec fires.
func (s *sender) crossCheck(t *rapid.T) {
	for e := Event(0); e < NumEvents; e++ {
		probe := *s.c
		probe.in = s.ack(s.una, true, false)
		want, _, err := NewStateless(probe.state, &probe).Fire(e)
		clone := *s.c
		clone.in = probe.in
		got, r := Step(clone.state, e, &clone)
		if err != nil {
			if r != RuleNone {
				t.Fatalf("invariant 49: in %v on %v Step fired %v where stateless refused: %v", s.c.state, e, r, err)
			}
			continue
		}
		if got != want {
			t.Fatalf("invariant 49: in %v on %v Step went to %v, stateless to %v", s.c.state, e, got, want)
		}
	}
}

// TestCoverage checks that every rule of spec/cc.yaml fires in seeded
// runs of the property's moves: the cc machine's own coverage test.
func TestCoverage(t *testing.T) {
	fired := map[Rule]int{}
	for seed := range 400 {
		c := seededChooser{rand.New(rand.NewPCG(uint64(seed), 1)), t}
		s := newSender([]Algorithm{CUBIC, Reno}[seed%2], 1460, seed%3 == 0, uint32(seed)*0x9e3779b9)
		s.sndWnd = []uint32{4 * 1460, 65535, 1 << 20}[seed%3]
		for range 150 {
			s.move(c)
		}
		for r, n := range s.fired {
			fired[r] += n
		}
	}
	for r := Rule(1); r < NumRules; r++ {
		if fired[r] == 0 {
			t.Errorf("rule %v (spec line %d) never fired", r, r.Info().Line)
		}
	}
}
