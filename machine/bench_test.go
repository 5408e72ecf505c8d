package machine

import (
	"testing"
	"time"
)

// benchStep is one event of a connection's life and the guards that hold
// when it arrives.
type benchStep struct {
	ev     Event
	guards uint16
	want   State // the state after the event, on the textbook path
}

// benchLifecycles is a full connection lifecycle of both sides: the active
// opener that also closes first, and the passive opener that closes second.
var benchLifecycles = [][]benchStep{
	{ // client
		{EventOpenActive, 0, StateSynSent},
		{EventRcvSynack, fakeAckAcceptable, StateEstablished},
		{EventSend, 0, StateEstablished},
		{EventRcvAck, fakeAckInRange, StateEstablished},
		{EventClose, 0, StateFinWait1},
		{EventRcvAck, fakeAckInRange | fakeFinAcked, StateFinWait2},
		{EventRcvFin, fakeAckInRange | fakeFinAcked, StateTimeWait},
		{EventTimeout2msl, 0, StateClosed},
	},
	{ // server
		{EventOpenPassive, 0, StateListen},
		{EventRcvSyn, 0, StateSynReceived},
		{EventRcvAck, fakeAckAcceptable | fakePassiveOpen, StateEstablished},
		{EventRcvData, fakeAckInRange | fakePassiveOpen, StateEstablished},
		{EventReceive, fakePassiveOpen, StateEstablished},
		{EventRcvFin, fakeAckInRange | fakePassiveOpen, StateCloseWait},
		{EventClose, fakePassiveOpen, StateLastAck},
		{EventRcvAck, fakeAckInRange | fakeFinAcked | fakePassiveOpen, StateClosed},
	},
}

// benchEvents is the number of events in benchLifecycles.
func benchEvents() int {
	n := 0
	for _, side := range benchLifecycles {
		n += len(side)
	}
	return n
}

// TestBenchLifecycle checks that the benchmarks' event sequence walks the textbook
// path under both Step and Stateless, with a rule firing on every event.
func TestBenchLifecycle(t *testing.T) {
	f := &fakeActions{}
	sl := NewStateless(StateClosed, f)
	for _, side := range benchLifecycles {
		s := StateClosed
		sl.SetState(StateClosed)
		for _, st := range side {
			f.guards = st.guards
			from := s
			var rule Rule
			s, rule = Step(s, st.ev, f)
			if s != st.want || rule == RuleNone {
				t.Fatalf("Step(%v, %v) = %v, %v; want %v by some rule", from, st.ev, s, rule, st.want)
			}
			next, srule, err := sl.Fire(st.ev)
			if err != nil || next != s || srule != rule {
				t.Fatalf("Stateless in %v: Fire(%v) = %v, %v, %v; Step gave %v, %v", from, st.ev, next, srule, err, s, rule)
			}
		}
	}
}

// benchStepAll runs both lifecycles through Step and reports whether each
// ended in CLOSED.
func benchStepAll(f *fakeActions) bool {
	ok := true
	for _, side := range benchLifecycles {
		s := StateClosed
		for _, st := range side {
			f.guards = st.guards
			f.reset()
			s, _ = Step(s, st.ev, f)
		}
		ok = ok && s == StateClosed
	}
	return ok
}

// benchDirectAll is benchStepAll through stepFake, the direct dispatcher: Step's
// switch generated for *fakeActions.
func benchDirectAll(f *fakeActions) bool {
	ok := true
	for _, side := range benchLifecycles {
		s := StateClosed
		for _, st := range side {
			f.guards = st.guards
			f.reset()
			s, _ = stepFake(s, st.ev, f)
		}
		ok = ok && s == StateClosed
	}
	return ok
}

// benchStatelessAll runs both lifecycles through sl, whose guards consult f,
// and reports whether each ended in CLOSED with no error.
func benchStatelessAll(sl *Stateless, f *fakeActions) bool {
	ok := true
	for _, side := range benchLifecycles {
		sl.SetState(StateClosed)
		for _, st := range side {
			f.guards = st.guards
			if _, _, err := sl.Fire(st.ev); err != nil {
				return false
			}
		}
		ok = ok && sl.State() == StateClosed
	}
	return ok
}

func benchReport(b *testing.B, d time.Duration, runs int, unit string) {
	b.ReportMetric(float64(d.Nanoseconds())/float64(runs*benchEvents()), unit)
}

// BenchmarkStep runs both sides' lifecycles through the generated dispatcher,
// which calls the fake through the Actions interface.
func BenchmarkStep(b *testing.B) {
	f := &fakeActions{}
	b.ReportAllocs()
	for b.Loop() {
		if !benchStepAll(f) {
			b.Fatal("a lifecycle did not end in CLOSED")
		}
	}
	benchReport(b, b.Elapsed(), b.N, "ns/event")
}

// BenchmarkStepDirect runs the same lifecycles through stepFake, whose calls
// to the fake are direct (and inlined).
func BenchmarkStepDirect(b *testing.B) {
	f := &fakeActions{}
	b.ReportAllocs()
	for b.Loop() {
		if !benchDirectAll(f) {
			b.Fatal("a lifecycle did not end in CLOSED")
		}
	}
	benchReport(b, b.Elapsed(), b.N, "ns/event")
}

// BenchmarkStateless runs the same lifecycles through the stateless-built
// machine (guards only, no actions).
func BenchmarkStateless(b *testing.B) {
	f := &fakeActions{}
	sl := NewStateless(StateClosed, f)
	b.ReportAllocs()
	for b.Loop() {
		if !benchStatelessAll(sl, f) {
			b.Fatal("a lifecycle failed or did not end in CLOSED")
		}
	}
	benchReport(b, b.Elapsed(), b.N, "ns/event")
}

// BenchmarkStepVsStateless alternates short rounds of Step, the direct
// dispatcher and stateless on the same lifecycles, so that load from other
// processes falls on all three alike, and reports each one's ns/event and the
// ratios stateless/Step and stateless/direct.
func BenchmarkStepVsStateless(b *testing.B) {
	const stepRounds = 64 // Step and direct lifecycles per stateless one: rounds of similar length
	f := &fakeActions{}
	sl := NewStateless(StateClosed, f)
	var stepTime, directTime, statelessTime time.Duration
	for b.Loop() {
		start := time.Now()
		for range stepRounds {
			if !benchStepAll(f) {
				b.Fatal("a lifecycle did not end in CLOSED")
			}
		}
		t1 := time.Now()
		for range stepRounds {
			if !benchDirectAll(f) {
				b.Fatal("a lifecycle did not end in CLOSED")
			}
		}
		t2 := time.Now()
		if !benchStatelessAll(sl, f) {
			b.Fatal("a lifecycle failed or did not end in CLOSED")
		}
		stepTime += t1.Sub(start)
		directTime += t2.Sub(t1)
		statelessTime += time.Since(t2)
	}
	benchReport(b, stepTime, b.N*stepRounds, "step-ns/event")
	benchReport(b, directTime, b.N*stepRounds, "direct-ns/event")
	benchReport(b, statelessTime, b.N, "stateless-ns/event")
	b.ReportMetric(float64(statelessTime)*stepRounds/float64(stepTime), "stateless/step")
	b.ReportMetric(float64(statelessTime)*stepRounds/float64(directTime), "stateless/direct")
}

// floorStep is the least a dispatcher can cost: a call that is not inlined
// and does nothing (issue 11's floor for the direct dispatcher).
//
//go:noinline
func floorStep(s State, _ Event, _ *fakeActions) (State, Rule) { return s, RuleNone }

// benchFloorAll is benchDirectAll with floorStep in place of the
// dispatcher: the loop, the guards' setting and the fake's reset, and an
// empty call per event.
func benchFloorAll(f *fakeActions) bool {
	ok := true
	for _, side := range benchLifecycles {
		s := StateClosed
		for _, st := range side {
			f.guards = st.guards
			f.reset()
			s, _ = floorStep(s, st.ev, f)
		}
		ok = ok && s == StateClosed
	}
	return ok
}

// BenchmarkDirectVsFloor alternates rounds of the direct dispatcher and of
// the same loop with an empty call per event, and reports both ns/event
// and their ratio (issue 11: the direct dispatcher within 1.5x of the
// floor, 0 allocations):
//
//	go test ./machine -run '^$' -bench DirectVsFloor -benchtime 2s -cpu 1
func BenchmarkDirectVsFloor(b *testing.B) {
	const rounds = 64
	f := &fakeActions{}
	var direct, floor time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		for range rounds {
			if !benchDirectAll(f) {
				b.Fatal("a lifecycle did not end in CLOSED")
			}
		}
		t1 := time.Now()
		for range rounds {
			benchFloorAll(f)
		}
		direct += t1.Sub(t0)
		floor += time.Since(t1)
	}
	benchReport(b, direct, b.N*rounds, "direct-ns/event")
	benchReport(b, floor, b.N*rounds, "floor-ns/event")
	b.ReportMetric(float64(direct)/float64(floor), "direct/floor")
}
