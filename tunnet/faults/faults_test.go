package faults

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	c, err := Parse("loss=5%, dup=0.02,reorder=2%,delay=1ms..5ms,seed=42,out:loss=10%,in:gap=5,hold=3ms")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Seed: 42, Dir: [2]Rule{
		In:  {Loss: 0.05, Dup: 0.02, Reorder: 0.02, ReorderGap: 5, ReorderHold: 3 * time.Millisecond, DelayMin: time.Millisecond, DelayMax: 5 * time.Millisecond},
		Out: {Loss: 0.10, Dup: 0.02, Reorder: 0.02, ReorderGap: DefaultReorderGap, ReorderHold: 3 * time.Millisecond, DelayMin: time.Millisecond, DelayMax: 5 * time.Millisecond},
	}}
	if c != want {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", c, want)
	}
	back, err := Parse(c.String())
	if err != nil || back != c {
		t.Fatalf("Parse(String()) = %+v, %v; String() = %q", back, err, c.String())
	}
	empty, err := Parse("")
	if err != nil || empty.Active() {
		t.Fatalf("empty spec: %+v, %v", empty, err)
	}
	fixed, err := Parse("out:delay=2ms")
	if err != nil || fixed.Dir[Out].DelayMin != 2*time.Millisecond || fixed.Dir[Out].DelayMax != 2*time.Millisecond || fixed.Dir[In].Active() {
		t.Fatalf("fixed delay: %+v, %v", fixed, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ spec, token string }{
		{"loss", `token 1 "loss"`},
		{"loss=", `token 1 "loss="`},
		{"loss=5%,dup=abc", `token 2 "dup=abc"`},
		{"loss=101%", `"loss=101%"`},
		{"loss=1.5", `"loss=1.5"`},
		{"loss=-1%", `"loss=-1%"`},
		{"loss=NaN", `"loss=NaN"`},
		{"jitter=1ms", `unknown key "jitter"`},
		{"up:loss=1%", `unknown direction "up"`},
		{"in:seed=3", `"in:seed=3"`},
		{"seed=-1", `"seed=-1"`},
		{"delay=5ms..1ms", `"delay=5ms..1ms"`},
		{"delay=fast", `"delay=fast"`},
		{"delay=-1ms", `"delay=-1ms"`},
		{"delay=1h", `"delay=1h"`},
		{"gap=0", `"gap=0"`},
		{"hold=0s", `"hold=0s"`},
		{"loss=1%,loss=2%", `token 2 "loss=2%": loss given twice`},
	} {
		_, err := Parse(tc.spec)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.spec)
			continue
		}
		if !strings.Contains(err.Error(), tc.token) {
			t.Errorf("Parse(%q) = %q; want it to mention %s", tc.spec, err, tc.token)
		}
	}
}

// run feeds n numbered packets alternately in and out, driving delayed
// releases like an owner loop would, and returns what came out, in order.
type out struct {
	dir Direction
	id  uint32
	at  time.Duration // emission time since start
}

func run(t testing.TB, spec string, n int) ([]out, *Injector) {
	t.Helper()
	cfg, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1000, 0)
	clk := start
	inj := New(cfg, func() time.Time { return clk })
	var got []out
	emit := func(dir Direction, pkt []byte) {
		got = append(got, out{dir, binary.BigEndian.Uint32(pkt), clk.Sub(start)})
	}
	pkt := make([]byte, 64)
	for i := range n {
		arrival := start.Add(time.Duration(i) * 100 * time.Microsecond)
		for {
			next, ok := inj.NextDeadline()
			if !ok || next.After(arrival) {
				break
			}
			clk = next
			inj.Flush(clk, emit)
		}
		clk = arrival
		binary.BigEndian.PutUint32(pkt, uint32(i))
		inj.Process(Direction(i%2), pkt, emit)
		pkt[0], pkt[1], pkt[2], pkt[3] = 0xde, 0xad, 0xbe, 0xef // caller reuses its buffer
	}
	for {
		next, ok := inj.NextDeadline()
		if !ok {
			break
		}
		clk = next
		inj.Flush(clk, emit)
	}
	if inj.Pending() != 0 {
		t.Fatalf("%d packets still pending after the final flush", inj.Pending())
	}
	return got, inj
}

func TestPassThrough(t *testing.T) {
	got, inj := run(t, "", 100)
	if len(got) != 100 {
		t.Fatalf("emitted %d of 100", len(got))
	}
	for i, o := range got {
		if o.id != uint32(i) || o.dir != Direction(i%2) {
			t.Fatalf("packet %d came out as %+v", i, o)
		}
	}
	if c := inj.Counters(In); c.Packets != 50 || c.Emitted != 50 {
		t.Errorf("counters %+v", c)
	}
}

func TestLossAll(t *testing.T) {
	got, inj := run(t, "loss=100%", 1000)
	if len(got) != 0 {
		t.Fatalf("loss=100%% let %d packets through", len(got))
	}
	for _, d := range []Direction{In, Out} {
		if c := inj.Counters(d); c.Dropped != 500 || c.Emitted != 0 {
			t.Errorf("%v counters %+v", d, c)
		}
	}
	// Only one direction lossy.
	got, _ = run(t, "in:loss=100%", 1000)
	for _, o := range got {
		if o.dir != Out {
			t.Fatalf("in:loss=100%% let %+v through", o)
		}
	}
	if len(got) != 500 {
		t.Fatalf("out direction emitted %d of 500", len(got))
	}
}

func TestSeededRunsRepeat(t *testing.T) {
	const spec = "loss=10%,dup=5%,reorder=5%,delay=1ms..3ms,seed="
	a, _ := run(t, spec+"7", 5000)
	b, _ := run(t, spec+"7", 5000)
	c, _ := run(t, spec+"8", 5000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with seed 7 differ")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 7 and 8 gave identical runs")
	}
}

// within checks that got successes in n trials fit probability p within
// six standard deviations (a false failure has odds below 1e-8).
func within(t *testing.T, what string, got, n uint64, p float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if math.Abs(float64(got)-mean) > 6*sd+1 {
		t.Errorf("%s: %d of %d, expected %.0f ± %.0f", what, got, n, mean, 6*sd)
	}
}

func TestRates(t *testing.T) {
	const n = 200_000 // 100k per direction
	got, inj := run(t, "in:loss=5%,in:dup=2%,in:reorder=2%,out:loss=1%,out:dup=10%,seed=99", n)
	seen := make([]int, n)
	for _, o := range got {
		seen[o.id]++
	}
	for _, tc := range []struct {
		dir       Direction
		loss, dup float64
	}{{In, 0.05, 0.02}, {Out, 0.01, 0.10}} {
		c := inj.Counters(tc.dir)
		var lost, twice uint64
		for i := int(tc.dir); i < n; i += 2 {
			switch seen[i] {
			case 0:
				lost++
			case 2:
				twice++
			case 1:
			default:
				t.Fatalf("packet %d emitted %d times", i, seen[i])
			}
		}
		if lost != c.Dropped || twice != c.Duplicated {
			t.Errorf("%v: observed %d lost, %d duplicated; counters %+v", tc.dir, lost, twice, c)
		}
		within(t, tc.dir.String()+" loss", lost, c.Packets, tc.loss)
		within(t, tc.dir.String()+" dup", twice, c.Packets-c.Dropped, tc.dup)
		if c.Emitted != c.Packets-c.Dropped+c.Duplicated {
			t.Errorf("%v: emitted %d, want packets-dropped+duplicated", tc.dir, c.Emitted)
		}
	}
	c := inj.Counters(In)
	within(t, "in reorder", c.Reordered, c.Packets-c.Dropped+c.Duplicated, 0.02)
	if r := inj.Counters(Out).Reordered; r != 0 {
		t.Errorf("out reordered %d without a reorder rule", r)
	}
}

func TestReorderLosesNothing(t *testing.T) {
	got, inj := run(t, "reorder=10%,gap=3,seed=5", 20_000)
	seen := make(map[uint32]int)
	inversions := 0
	var last [2]uint32
	for i, o := range got {
		seen[o.id]++
		if i > 0 && o.id < last[o.dir] {
			inversions++
		}
		last[o.dir] = max(last[o.dir], o.id)
	}
	if len(got) != 20_000 || len(seen) != 20_000 {
		t.Fatalf("emitted %d packets, %d distinct; want 20000 of each", len(got), len(seen))
	}
	if inversions == 0 {
		t.Fatal("reorder=10% did not change the order")
	}
	c := inj.Counters(In)
	if c.Reordered == 0 || uint64(inversions) > inj.Counters(In).Reordered+inj.Counters(Out).Reordered {
		t.Errorf("%d inversions for %d+%d reordered packets", inversions, c.Reordered, inj.Counters(Out).Reordered)
	}
}

// TestReorderGap: with every packet held, packet i leaves after arrival
// i+gap, so the stream is shifted by gap packets but stays in order.
func TestReorderGap(t *testing.T) {
	cfg, _ := Parse("in:reorder=100%,gap=3,hold=1h")
	clk := time.Unix(0, 0)
	inj := New(cfg, func() time.Time { return clk })
	var got []byte
	emit := func(_ Direction, p []byte) { got = append(got, p[0]) }
	for i := range 10 {
		inj.Process(In, []byte{byte(i)}, emit)
		if want := max(0, i+1-3); len(got) != want {
			t.Fatalf("after %d arrivals %d emitted, want %d", i+1, len(got), want)
		}
	}
	for i, b := range got {
		if b != byte(i) {
			t.Fatalf("emitted %v, want 0..6 in order", got)
		}
	}
	if inj.Pending() != 3 {
		t.Fatalf("pending %d, want 3", inj.Pending())
	}
}

// TestReorderHold: held packets with no later traffic leave at the hold time.
func TestReorderHold(t *testing.T) {
	cfg, _ := Parse("reorder=100%,gap=1000,hold=10ms")
	t0 := time.Unix(50, 0)
	inj := New(cfg, func() time.Time { return t0 })
	var got []byte
	emit := func(_ Direction, p []byte) { got = append(got, p[0]) }
	buf := []byte{0}
	for i := range 5 {
		buf[0] = byte(i)
		inj.Process(Out, buf, emit)
	}
	next, ok := inj.NextDeadline()
	if !ok || !next.Equal(t0.Add(10*time.Millisecond)) {
		t.Fatalf("NextDeadline = %v, %v; want t0+10ms", next, ok)
	}
	inj.Flush(t0.Add(9*time.Millisecond), emit)
	if len(got) != 0 {
		t.Fatalf("released %v before the hold time", got)
	}
	inj.Flush(next, emit)
	if string(got) != "\x00\x01\x02\x03\x04" {
		t.Fatalf("released %v, want 0..4 in order (copies, not the reused buffer)", got)
	}
	if _, ok := inj.NextDeadline(); ok {
		t.Fatal("NextDeadline reports work after everything left")
	}
}

func TestDelay(t *testing.T) {
	got, _ := run(t, "delay=1ms..5ms,seed=3", 10_000)
	if len(got) != 10_000 {
		t.Fatalf("emitted %d of 10000", len(got))
	}
	reordered := false
	for i, o := range got {
		arrival := time.Duration(o.id) * 100 * time.Microsecond
		if d := o.at - arrival; d < time.Millisecond || d > 5*time.Millisecond {
			t.Fatalf("packet %d delayed %v, want 1ms..5ms", o.id, d)
		}
		if i > 0 && o.id < got[i-1].id {
			reordered = true
		}
	}
	if !reordered {
		t.Error("jittered delay never reordered packets")
	}
	// A fixed delay keeps the order.
	got, _ = run(t, "delay=2ms", 1000)
	for i, o := range got {
		if o.id != uint32(i) || o.at != time.Duration(i)*100*time.Microsecond+2*time.Millisecond {
			t.Fatalf("fixed delay: %d-th emission %+v", i, o)
		}
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	cfg, _ := Parse("loss=5%,dup=5%,reorder=5%,delay=1ms..2ms")
	clk := time.Unix(0, 0)
	inj := New(cfg, func() time.Time { return clk })
	emit := func(Direction, []byte) {}
	pkt := make([]byte, 1500)
	step := func() {
		clk = clk.Add(100 * time.Microsecond)
		inj.Process(In, pkt, emit)
		inj.Flush(clk, emit)
	}
	for range 10_000 { // warm the free list and the queues
		step()
	}
	if n := testing.AllocsPerRun(10_000, step); n != 0 {
		t.Errorf("Process+Flush allocate %v times per packet in steady state", n)
	}
}

func BenchmarkProcess(b *testing.B) {
	for _, spec := range []string{"", "loss=5%,dup=2%,reorder=2%,delay=1ms..5ms"} {
		name := spec
		if name == "" {
			name = "none"
		}
		b.Run(name, func(b *testing.B) {
			cfg, _ := Parse(spec)
			clk := time.Unix(0, 0)
			inj := New(cfg, func() time.Time { return clk })
			emit := func(Direction, []byte) {}
			pkt := make([]byte, 1500)
			b.ReportAllocs()
			for b.Loop() {
				clk = clk.Add(time.Microsecond)
				inj.Process(Direction(clk.UnixNano()&1), pkt, emit)
				if next, ok := inj.NextDeadline(); ok && !next.After(clk) {
					inj.Flush(clk, emit)
				}
			}
		})
	}
}
