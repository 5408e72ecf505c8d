package timerwheel

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const ms = time.Millisecond

func newWheel(t testing.TB, tick time.Duration, slots int) *Wheel {
	t.Helper()
	w, err := New(tick, slots, t0)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// item is a caller's struct embedding a Timer.
type item struct {
	Timer
	id       int
	deadline time.Time
	fired    time.Time
	count    int
}

func newItems(n int) []*item {
	items := make([]*item, n)
	for i := range items {
		items[i] = &item{id: i}
		items[i].Owner = items[i]
	}
	return items
}

// runUntilIdle drives w like an owner loop: sleep until Next, Advance.
func runUntilIdle(w *Wheel, fire func(it *item, now time.Time)) {
	for {
		next, ok := w.Next()
		if !ok {
			return
		}
		w.Advance(next, func(t *Timer) { fire(t.Owner.(*item), next) })
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		tick  time.Duration
		slots int
	}{{0, 64}, {-ms, 64}, {ms, 0}, {ms, maxSlots + 1}} {
		if _, err := New(tc.tick, tc.slots, t0); err == nil {
			t.Errorf("New(%v, %d) succeeded", tc.tick, tc.slots)
		}
	}
	w := newWheel(t, ms, 100)
	if len(w.slots) != 128 {
		t.Errorf("100 slots rounded to %d, want 128", len(w.slots))
	}
}

func TestFiresOnTimeAndInOrder(t *testing.T) {
	const tick = ms
	w := newWheel(t, tick, 256) // one rotation = 256ms; deadlines go 40x further
	rng := rand.New(rand.NewPCG(1, 2))
	items := newItems(10_000)
	for _, it := range items {
		it.deadline = t0.Add(time.Duration(rng.Int64N(int64(10 * time.Second))))
		w.Schedule(&it.Timer, it.deadline)
	}
	if w.Len() != len(items) {
		t.Fatalf("Len %d", w.Len())
	}
	var order []*item
	runUntilIdle(w, func(it *item, now time.Time) {
		it.count++
		it.fired = now
		order = append(order, it)
	})
	for _, it := range items {
		if it.count != 1 {
			t.Fatalf("timer %d fired %d times", it.id, it.count)
		}
		if late := it.fired.Sub(it.deadline); late < 0 || late >= tick {
			t.Fatalf("timer %d fired %v after its deadline; want [0, %v)", it.id, late, tick)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i].deadline.Before(order[i-1].deadline.Add(-tick)) {
			t.Fatalf("timer due %v fired after one due %v", order[i].deadline, order[i-1].deadline)
		}
	}
	if w.Len() != 0 {
		t.Fatalf("Len %d after all fired", w.Len())
	}
}

func TestStopAndReschedule(t *testing.T) {
	w := newWheel(t, ms, 64)
	items := newItems(4)
	a, b, c, d := items[0], items[1], items[2], items[3]
	w.Schedule(&a.Timer, t0.Add(10*ms))
	w.Schedule(&b.Timer, t0.Add(20*ms))
	w.Schedule(&c.Timer, t0.Add(time.Hour)) // in the overflow heap
	w.Schedule(&d.Timer, t0.Add(30*ms))
	if !w.Stop(&b.Timer) || b.Pending() {
		t.Fatal("Stop of a pending timer failed")
	}
	if w.Stop(&b.Timer) {
		t.Fatal("second Stop reported the timer pending")
	}
	if !w.Stop(&c.Timer) {
		t.Fatal("Stop of an overflow timer failed")
	}
	w.Schedule(&a.Timer, t0.Add(50*ms)) // later
	w.Schedule(&d.Timer, t0.Add(5*ms))  // earlier
	w.Schedule(&c.Timer, t0.Add(2*time.Hour))
	w.Schedule(&c.Timer, t0.Add(40*ms)) // from the heap into the wheel
	if next, _ := w.Next(); !next.Equal(t0.Add(5 * ms)) {
		t.Fatalf("Next = %v, want t0+5ms", next.Sub(t0))
	}
	var got []int
	var at []time.Duration
	runUntilIdle(w, func(it *item, now time.Time) {
		got = append(got, it.id)
		at = append(at, now.Sub(t0))
	})
	if !slices.Equal(got, []int{3, 2, 0}) || !slices.Equal(at, []time.Duration{5 * ms, 40 * ms, 50 * ms}) {
		t.Fatalf("fired %v at %v; want [3 2 0] at [5ms 40ms 50ms]", got, at)
	}
	if _, ok := w.Next(); ok {
		t.Fatal("Next reports a timer after all fired")
	}
}

func TestFarDeadlineAndIdleJump(t *testing.T) {
	w := newWheel(t, ms, 64)
	it := newItems(1)[0]
	w.Schedule(&it.Timer, t0.Add(2*time.Hour+ms/2))
	next, ok := w.Next()
	if !ok || !next.Equal(t0.Add(2*time.Hour+ms)) {
		t.Fatalf("Next = %v %v", next.Sub(t0), ok)
	}
	fired := 0
	w.Advance(next.Add(-time.Nanosecond), func(*Timer) { fired++ })
	if fired != 0 {
		t.Fatal("fired before its deadline")
	}
	w.Advance(t0.Add(5*time.Hour), func(*Timer) { fired++ })
	if fired != 1 {
		t.Fatalf("fired %d times after a long idle, want 1", fired)
	}
}

func TestPastDeadlinesAndBackwardsClock(t *testing.T) {
	w := newWheel(t, ms, 64)
	w.Advance(t0.Add(100*ms), func(*Timer) {})
	items := newItems(2)
	w.Schedule(&items[0].Timer, t0.Add(50*ms)) // already past
	w.Schedule(&items[1].Timer, t0.Add(-time.Hour))
	fired := 0
	w.Advance(t0.Add(90*ms), func(*Timer) { fired++ }) // clock went back: nothing
	if fired != 0 {
		t.Fatalf("backwards Advance fired %d", fired)
	}
	if next, _ := w.Next(); next.After(t0.Add(100 * ms)) {
		t.Fatalf("Next = %v for overdue timers", next.Sub(t0))
	}
	w.Advance(t0.Add(100*ms), func(*Timer) { fired++ })
	if fired != 2 {
		t.Fatalf("overdue timers fired %d times, want 2", fired)
	}
}

// TestFireMayStopAndReschedule: a callback stops a timer due in the same
// tick, and a periodic timer reschedules itself.
func TestFireMayStopAndReschedule(t *testing.T) {
	w := newWheel(t, ms, 64)
	items := newItems(3)
	a, b, p := items[0], items[1], items[2]
	w.Schedule(&a.Timer, t0.Add(10*ms))
	w.Schedule(&b.Timer, t0.Add(10*ms)) // same tick, behind a
	w.Schedule(&p.Timer, t0.Add(7*ms))
	periods := 0
	w.Advance(t0.Add(100*ms), func(tm *Timer) {
		switch tm.Owner.(*item) {
		case a:
			a.count++
			w.Stop(&b.Timer)
		case b:
			b.count++
		case p:
			if periods++; periods < 5 {
				w.Schedule(&p.Timer, t0.Add(time.Duration(7*(periods+1))*ms))
			}
		}
	})
	if a.count != 1 || b.count != 0 {
		t.Fatalf("a fired %d, b fired %d; want 1, 0", a.count, b.count)
	}
	if periods != 5 || w.Len() != 0 {
		t.Fatalf("periodic timer fired %d times (want 5), %d left", periods, w.Len())
	}
}

func TestForeignWheel(t *testing.T) {
	w1, w2 := newWheel(t, ms, 64), newWheel(t, ms, 64)
	it := newItems(1)[0]
	w1.Schedule(&it.Timer, t0.Add(ms))
	if w2.Stop(&it.Timer) {
		t.Fatal("Stop on another wheel succeeded")
	}
	if !it.Pending() || w1.Len() != 1 {
		t.Fatal("foreign Stop disturbed the timer")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Schedule on a second wheel while pending did not panic")
		}
	}()
	w2.Schedule(&it.Timer, t0.Add(ms))
}

func Test100kTimers(t *testing.T) {
	const tick = ms
	w := newWheel(t, tick, 4096)
	rng := rand.New(rand.NewPCG(3, 4))
	items := newItems(100_000)
	for _, it := range items {
		// Mostly short (RTO-like), some long (keepalive-like).
		d := time.Duration(rng.Int64N(int64(3 * time.Second)))
		if rng.IntN(10) == 0 {
			d = time.Duration(rng.Int64N(int64(2 * time.Hour)))
		}
		it.deadline = t0.Add(d)
		w.Schedule(&it.Timer, it.deadline)
	}
	stopped := 0
	for _, it := range items[:10_000] {
		if rng.IntN(2) == 0 {
			w.Stop(&it.Timer)
			it.count = -1
			stopped++
		}
	}
	// Advance in irregular steps, not at Next.
	now := t0
	for w.Len() > 0 {
		now = now.Add(time.Duration(rng.Int64N(int64(50 * time.Second))))
		w.Advance(now, func(tm *Timer) {
			it := tm.Owner.(*item)
			it.count++
			it.fired = now
			if it.deadline.After(now) {
				t.Fatalf("timer %d due %v fired at %v", it.id, it.deadline.Sub(t0), now.Sub(t0))
			}
		})
	}
	fired := 0
	for _, it := range items {
		switch it.count {
		case -1:
		case 1:
			fired++
		default:
			t.Fatalf("timer %d count %d", it.id, it.count)
		}
	}
	if fired+stopped != len(items) {
		t.Fatalf("%d fired + %d stopped != %d", fired, stopped, len(items))
	}
}

// TestModel checks the wheel against a map of deadlines under random
// schedule/stop/advance sequences.
func TestModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		tick := time.Duration(rapid.IntRange(1, 5).Draw(rt, "tickms")) * ms
		slots := rapid.IntRange(1, 200).Draw(rt, "slots")
		w, err := New(tick, slots, t0)
		if err != nil {
			rt.Fatal(err)
		}
		rotation := time.Duration(len(w.slots)) * tick
		items := newItems(16)
		model := map[int]time.Time{}
		// Ordering key: a deadline before the tick already processed is
		// clamped to that tick (overdue timers fire in schedule order).
		key := map[int]time.Time{}
		now := t0
		rt.Repeat(map[string]func(*rapid.T){
			"schedule": func(rt *rapid.T) {
				it := items[rapid.IntRange(0, len(items)-1).Draw(rt, "id")]
				off := time.Duration(rapid.Int64Range(int64(-3*tick), int64(3*rotation)).Draw(rt, "offset"))
				it.deadline = now.Add(off)
				w.Schedule(&it.Timer, it.deadline)
				model[it.id] = it.deadline
				key[it.id] = it.deadline
				if done := t0.Add(now.Sub(t0).Truncate(tick)); it.deadline.Before(done) {
					key[it.id] = done
				}
			},
			"stop": func(rt *rapid.T) {
				it := items[rapid.IntRange(0, len(items)-1).Draw(rt, "id")]
				_, pending := model[it.id]
				if got := w.Stop(&it.Timer); got != pending {
					rt.Fatalf("Stop(%d) = %v, model says pending %v", it.id, got, pending)
				}
				delete(model, it.id)
			},
			"advance": func(rt *rapid.T) {
				if rapid.Bool().Draw(rt, "toNext") {
					if next, ok := w.Next(); ok && next.After(now) {
						now = next
					}
				} else {
					now = now.Add(time.Duration(rapid.Int64Range(0, int64(2*rotation)).Draw(rt, "dt")))
				}
				var fired []time.Time
				w.Advance(now, func(tm *Timer) {
					it := tm.Owner.(*item)
					d, ok := model[it.id]
					if !ok {
						rt.Fatalf("timer %d fired but is not pending", it.id)
					}
					if d.After(now) {
						rt.Fatalf("timer %d due %v fired early at %v", it.id, d.Sub(t0), now.Sub(t0))
					}
					k := key[it.id]
					if n := len(fired); n > 0 && k.Before(fired[n-1].Add(-tick)) {
						rt.Fatalf("timer due %v fired after one due %v", k.Sub(t0), fired[n-1].Sub(t0))
					}
					fired = append(fired, k)
					delete(model, it.id)
				})
				for id, d := range model {
					if !d.After(now.Add(-tick)) {
						rt.Fatalf("timer %d due %v not fired at %v (more than a tick late)", id, d.Sub(t0), now.Sub(t0))
					}
				}
			},
			"": func(rt *rapid.T) {
				if w.Len() != len(model) {
					rt.Fatalf("Len %d, model %d", w.Len(), len(model))
				}
				next, ok := w.Next()
				if ok != (len(model) > 0) {
					rt.Fatalf("Next ok=%v with %d pending", ok, len(model))
				}
				if !ok {
					return
				}
				earliest := now.Add(1 << 62)
				for _, d := range model {
					if d.Before(earliest) {
						earliest = d
					}
				}
				// Next is the earliest deadline rounded up to a tick, or
				// now-ish for an overdue timer, never later.
				if next.After(earliest.Add(tick)) && next.After(now) {
					rt.Fatalf("Next %v but a timer is due at %v", next.Sub(t0), earliest.Sub(t0))
				}
				if next.Before(earliest) && next.After(now) {
					rt.Fatalf("Next %v is before every deadline (earliest %v)", next.Sub(t0), earliest.Sub(t0))
				}
			},
		})
	})
}
