package timerwheel

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestNoAllocations(t *testing.T) {
	w := newWheel(t, ms, 4096)
	items := newItems(1000)
	now := t0
	rng := rand.New(rand.NewPCG(5, 6))
	fire := func(tm *Timer) {
		w.Schedule(tm, now.Add(time.Duration(rng.Int64N(int64(10*time.Second)))))
	}
	for _, it := range items {
		fire(&it.Timer)
	}
	step := func() {
		it := items[rng.IntN(len(items))]
		w.Stop(&it.Timer)
		w.Schedule(&it.Timer, now.Add(time.Duration(rng.Int64N(int64(time.Hour)))))
		now = now.Add(ms)
		w.Advance(now, fire)
		w.Next()
	}
	for range 20_000 { // let the overflow heap reach its size
		step()
	}
	if n := testing.AllocsPerRun(10_000, step); n != 0 {
		t.Errorf("Schedule/Stop/Advance/Next allocate %v times per step", n)
	}
}

// BenchmarkScheduleStop: arm and cancel, e.g. a retransmission timer armed
// on send and cancelled by the ACK.
func BenchmarkScheduleStop(b *testing.B) {
	w := newWheel(b, ms, 4096)
	items := newItems(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		it := &items[i&1023].Timer
		w.Schedule(it, t0.Add(time.Duration(200+i&1023)*ms))
		w.Stop(it)
		i++
	}
}

// BenchmarkReschedule: move a pending timer, e.g. restarting the RTO on
// every ACK, with 100k other timers pending.
func BenchmarkReschedule(b *testing.B) {
	w := newWheel(b, ms, 4096)
	items := newItems(100_000)
	for i, it := range items {
		w.Schedule(&it.Timer, t0.Add(time.Duration(i%3000)*ms))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Schedule(&items[i%len(items)].Timer, t0.Add(time.Duration(200+i%2000)*ms))
		i++
	}
}

// BenchmarkFire: 100k periodic timers, each rescheduling itself 1..3 s out
// when it fires; the clock moves one tick per Advance. Reports ns per fire.
func BenchmarkFire(b *testing.B) {
	w := newWheel(b, ms, 4096)
	items := newItems(100_000)
	rng := rand.New(rand.NewPCG(7, 8))
	now := t0
	fired := 0
	fire := func(tm *Timer) {
		fired++
		w.Schedule(tm, now.Add(time.Second+time.Duration(rng.Int64N(int64(2*time.Second)))))
	}
	for _, it := range items {
		fire(&it.Timer)
	}
	fired = 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(ms)
		w.Advance(now, fire)
	}
	if fired > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fired), "ns/fire")
		b.ReportMetric(float64(fired)/float64(b.N), "fires/tick")
	}
}

// BenchmarkNext: the owner loop's question, with a sparse wheel (one timer
// per 100 slots) and an empty-but-for-overflow wheel.
func BenchmarkNext(b *testing.B) {
	w := newWheel(b, ms, 4096)
	items := newItems(40)
	for i, it := range items {
		w.Schedule(&it.Timer, t0.Add(time.Duration(3000+i*100)*ms))
	}
	b.ReportAllocs()
	for b.Loop() {
		w.Next()
	}
}
