package machine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// A lossy network: every segment may be lost, duplicated or reordered. The
// bytes each side reads must be exactly the bytes the other wrote
// (invariant 17), both must end CLOSED (invariant 18), and invariant 3
// must hold after every event.
func TestChaos(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { chaosRun(t, seed, nil) })
	}
}

// Guards only read: calling every guard around each step (as the stateless
// cross-check does) changes nothing, so runs agree with plain runs.
func TestGuardsArePure(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			chaosRun(t, seed, func(s State, e Event, a Actions) (State, Rule) {
				c := a.(*Conn)
				before := c.AppendKey(nil)
				guards := func() [8]bool {
					return [8]bool{a.AckAcceptable(), a.AckInRange(), a.FinAcked(), a.RstExact(),
						a.RstInWindow(), a.PassiveOpen(), a.SynNewIncarnation(), a.Rfc1337()}
				}
				g1, g2 := guards(), guards()
				if g1 != g2 || !bytes.Equal(before, c.AppendKey(nil)) {
					t.Fatalf("guards changed the Conn in %v on %v", s, e)
				}
				return Step(s, e, a)
			})
		})
	}
}

func chaosRun(t *testing.T, seed uint64, stepFn StepFunc) {
	rng := rand.New(rand.NewPCG(seed, 99))
	cfg := func(k byte) *Config {
		return &Config{
			ISNKey: [16]byte{k}, MSL: time.Second, MSS: uint16(200 + rng.IntN(1300)),
			SndBuf: 2000 + rng.IntN(30000), RcvBuf: 1000 + rng.IntN(30000),
			MinRTO: 50 * time.Millisecond, InitialRTO: 100 * time.Millisecond, MaxRTO: 2 * time.Second,
			Step: stepFn,
		}
	}
	p := newPair(t, cfg(1), cfg(2))
	// Near the wrap on one side, sometimes.
	if seed%2 == 0 {
		p.now = time.Duration(uint32(1<<32-2000)-ISN(&p.cfg[0].ISNKey, tupleA, 0)) * 4 * time.Microsecond
	}
	drop, dup, reorder := 0.1*rng.Float64(), 0.05*rng.Float64(), 0.3*rng.Float64()
	data := [2][]byte{pattern(rng.IntN(60000), byte(seed)), pattern(rng.IntN(60000), byte(seed+1))}
	written := [2]int{}
	closed := [2]bool{}
	var inflight []wire
	var prev [2]Vars
	var edge [2]uint32
	var haveEdge [2]bool
	p.B().Listen(p.now)
	p.A().Connect(p.now)
	step := 0
	for ; step < 200000; step++ {
		for i := 0; i < 2; i++ {
			c := p.c[i]
			if st := c.State(); st == StateEstablished || st == StateCloseWait {
				if written[i] < len(data[i]) {
					n, err := c.Write(p.now, data[i][written[i]:min(len(data[i]), written[i]+1+rng.IntN(5000))])
					if err != nil {
						t.Fatalf("write: %v", err)
					}
					written[i] += n
				} else if !closed[i] {
					if err := c.Close(p.now); err != nil {
						t.Fatalf("close: %v", err)
					}
					closed[i] = true
				}
			}
			p.readAll(i)
			checkVars(t, c)
			// Invariant 3: SND.UNA and RCV.NXT never move backwards.
			if v := c.Vars(); c.State() > StateSynSent && prev[i].SndUna != 0 {
				if SeqLT(v.SndUna, prev[i].SndUna) || SeqLT(v.RcvNxt, prev[i].RcvNxt) {
					t.Fatalf("side %c: SND.UNA %d->%d RCV.NXT %d->%d", "AB"[i], prev[i].SndUna, v.SndUna, prev[i].RcvNxt, v.RcvNxt)
				}
				prev[i] = v
			} else if c.State() > StateSynSent {
				prev[i] = v
			}
			for _, w := range p.collect(i) {
				// The advertised right edge never moves left (RFC 9293
				// 3.8.6, SHLD-14).
				if s := w.seg; s.Flags&ACK != 0 && s.Flags&RST == 0 {
					// Up to the window scale's rounding (RFC 7323 2.3).
					e := s.Ack + p.window(i, &s)
					gran := uint32(1)<<c.t.rcvShift - 1
					if haveEdge[i] && SeqLT(e+gran, edge[i]) {
						t.Fatalf("side %c shrank its window: right edge %d after %d (%v)", "AB"[i], e, edge[i], w)
					}
					edge[i], haveEdge[i] = e, true
				}
				if rng.Float64() < drop {
					continue
				}
				inflight = append(inflight, w)
				if rng.Float64() < dup {
					inflight = append(inflight, w)
				}
			}
		}
		if p.A().State() == StateClosed && p.B().State() == StateClosed && len(inflight) == 0 {
			break
		}
		if len(inflight) == 0 {
			if !p.advance() {
				t.Fatalf("stuck: A %v B %v, nothing in flight, no timers", p.A().State(), p.B().State())
			}
			continue
		}
		k := 0
		if rng.Float64() < reorder {
			k = rng.IntN(len(inflight))
		}
		w := inflight[k]
		inflight = append(inflight[:k], inflight[k+1:]...)
		seg := w.seg
		seg.Payload = bytes.Clone(seg.Payload)
		p.c[1-w.from].Input(p.now, &seg)
		if rng.IntN(4) == 0 {
			p.now += time.Duration(rng.IntN(20)) * time.Millisecond
			p.A().Tick(p.now)
			p.B().Tick(p.now)
		}
	}
	if p.A().State() != StateClosed || p.B().State() != StateClosed {
		t.Fatalf("not closed after %d steps: A %v B %v", step, p.A().State(), p.B().State())
	}
	for i := 0; i < 2; i++ {
		if err := p.c[i].Err(); err != nil {
			t.Fatalf("side %c ended with %v", "AB"[i], err)
		}
		// Invariant 17: what one side wrote, the other read, exactly. A Read
		// refused with ErrClosing while bytes were buffered counts as loss.
		if got := p.got[1-i]; !bytes.Equal(got, data[i]) || p.stranded[1-i] != 0 {
			t.Fatalf("invariant 17: side %c wrote %d bytes; the other read %d (exact prefix: %v), %d refused by ErrClosing",
				"AB"[i], len(data[i]), len(got), bytes.HasPrefix(data[i], got), p.stranded[1-i])
		}
	}
}
