package machine

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// 1 MiB each way at once, through send buffers and windows smaller than the
// data, with every window and invariant-3 check along the way.
func TestBulkBothWays(t *testing.T) {
	cfgA := &Config{ISNKey: [16]byte{1}, SndBuf: 64 << 10, RcvBuf: 48 << 10}
	cfgB := &Config{ISNKey: [16]byte{2}, SndBuf: 40 << 10, RcvBuf: 80 << 10}
	p := newPair(t, cfgA, cfgB)
	p.open()
	a, b := pattern(1<<20, 1), pattern(1<<20, 2)
	var wa, wb int
	for i := 0; wa < len(a) || wb < len(b); i++ {
		if i > 100000 {
			t.Fatalf("stalled at %d/%d", wa, wb)
		}
		n, err := p.A().Write(p.now, a[wa:])
		if err != nil {
			t.Fatal(err)
		}
		wa += n
		n, err = p.B().Write(p.now, b[wb:])
		if err != nil {
			t.Fatal(err)
		}
		wb += n
		p.flush()
		checkVars(t, p.A())
		checkVars(t, p.B())
	}
	p.runUntil("all delivered", func() bool { return len(p.got[0]) == len(b) && len(p.got[1]) == len(a) })
	if !bytes.Equal(p.got[1], a) || !bytes.Equal(p.got[0], b) {
		t.Fatal("bulk data corrupted")
	}
	for _, w := range p.sent {
		if len(w.seg.Payload) > DefaultMSS {
			t.Fatalf("segment larger than the MSS: %v", w)
		}
		if p.window(w.from, &w.seg) > uint32(p.cfg[w.from].rcvBuf()) {
			t.Fatalf("window beyond the buffer: %v", w)
		}
	}
	// No retransmissions on a perfect network.
	seen := map[[2]uint32]bool{}
	for _, w := range p.sent {
		if len(w.seg.Payload) == 0 {
			continue
		}
		k := [2]uint32{uint32(w.from), w.seg.Seq}
		if seen[k] {
			t.Fatalf("retransmission on a perfect network: %v", w)
		}
		seen[k] = true
	}
	closeBoth(t, p)
}

// Half-close, with either side closing first: the closer can still read
// while the other keeps sending, then closes. The active closer goes
// through TIME-WAIT, the passive one through LAST-ACK (invariant 8).
func TestHalfClose(t *testing.T) {
	for _, first := range []int{0, 1} {
		t.Run("ABfirst"[first:first+1]+" closes first", func(t *testing.T) { halfClose(t, first) })
	}
}

func halfClose(t *testing.T, x int) {
	y := 1 - x
	var obs [2]stateLog
	cfgA := &Config{ISNKey: [16]byte{1}, Observer: &obs[0], MSL: time.Second}
	cfgB := &Config{ISNKey: [16]byte{2}, Observer: &obs[1], MSL: time.Second}
	p := newPair(t, cfgA, cfgB)
	p.open()
	obs[0].states, obs[1].states = nil, nil
	cx, cy := p.c[x], p.c[y]
	p.write(x, []byte("request"))
	if err := cx.Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	if cx.State() != StateFinWait2 || cy.State() != StateCloseWait {
		t.Fatalf("after the first close: %v, %v", cx.State(), cy.State())
	}
	if !p.eof[y] || string(p.got[y]) != "request" {
		t.Fatalf("read %q eof=%v", p.got[y], p.eof[y])
	}
	if n, err := cy.Read(p.now, make([]byte, 4)); n != 0 || err != io.EOF {
		t.Errorf("Read after FIN: %d, %v; want 0, EOF", n, err)
	}
	resp := pattern(200000, 3)
	p.write(y, resp)
	p.flush()
	if !bytes.Equal(p.got[x], resp) {
		t.Fatalf("the half-closed side read %d of %d bytes", len(p.got[x]), len(resp))
	}
	if err := cy.Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	if cx.State() != StateTimeWait || cy.State() != StateClosed {
		t.Fatalf("after the second close: %v, %v", cx.State(), cy.State())
	}
	start := p.now
	p.runUntil("CLOSED", func() bool { return cx.State() == StateClosed })
	if d := p.now - start; d != 2*time.Second {
		t.Errorf("TIME-WAIT lasted %v, want 2*MSL = 2s", d)
	}
	wantX := []State{StateEstablished, StateFinWait1, StateFinWait2, StateTimeWait, StateClosed}
	wantY := []State{StateEstablished, StateCloseWait, StateLastAck, StateClosed}
	if !equalStates(obs[x].states, wantX) {
		t.Errorf("the first closer went %v, want %v", obs[x].states, wantX)
	}
	if !equalStates(obs[y].states, wantY) {
		t.Errorf("the second closer went %v, want %v", obs[y].states, wantY)
	}
	// Invariant 7: each FIN is acknowledged with its sequence number + 1.
	for i := range p.c {
		fins := p.segs(func(w wire) bool { return w.from == i && w.seg.Flags.Has(FIN) })
		if len(fins) != 1 {
			t.Fatalf("side %c sent %d FINs", "AB"[i], len(fins))
		}
		f := fins[0].seg
		finSeq := f.Seq + uint32(len(f.Payload))
		acks := p.segs(func(w wire) bool { return w.from != i && w.seg.Flags.Has(ACK) && w.seg.Ack == finSeq+1 })
		if len(acks) == 0 {
			t.Errorf("side %c's FIN (seq %d) never acknowledged with %d", "AB"[i], finSeq, finSeq+1)
		}
	}
}

// Simultaneous close: both FINs cross; both go FIN-WAIT-1 -> CLOSING ->
// TIME-WAIT -> CLOSED (invariant 11).
func TestSimultaneousClose(t *testing.T) {
	var obs [2]stateLog
	cfgA := &Config{ISNKey: [16]byte{1}, Observer: &obs[0], MSL: time.Second}
	cfgB := &Config{ISNKey: [16]byte{2}, Observer: &obs[1], MSL: time.Second}
	p := newPair(t, cfgA, cfgB)
	p.open()
	obs[0].states, obs[1].states = nil, nil
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	if err := p.B().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	if p.A().State() != StateTimeWait || p.B().State() != StateTimeWait {
		t.Fatalf("after crossing FINs: A %v, B %v", p.A().State(), p.B().State())
	}
	p.runUntil("both CLOSED", func() bool { return p.A().State() == StateClosed && p.B().State() == StateClosed })
	want := []State{StateEstablished, StateFinWait1, StateClosing, StateTimeWait, StateClosed}
	for i := range obs {
		if !equalStates(obs[i].states, want) {
			t.Errorf("side %c went %v, want %v", "AB"[i], obs[i].states, want)
		}
	}
}

// A retransmitted FIN in TIME-WAIT is ACKed (not reset) and restarts the
// 2*MSL timer (invariant 10).
func TestTimeWaitRetransmittedFin(t *testing.T) {
	cfgA := &Config{ISNKey: [16]byte{1}, MSL: 10 * time.Second}
	p := newPair(t, cfgA, nil)
	p.open()
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	if err := p.B().Close(p.now); err != nil {
		t.Fatal(err)
	}
	// Lose A's ACK of B's FIN.
	p.drop = func(w wire) bool { return w.from == 0 }
	p.flush()
	p.drop = nil
	if p.A().State() != StateTimeWait || p.B().State() != StateLastAck {
		t.Fatalf("A %v, B %v", p.A().State(), p.B().State())
	}
	first, _ := p.A().NextDeadline()
	if first != p.now+20*time.Second {
		t.Fatalf("2MSL deadline %v, want now+20s", first-p.now)
	}
	// B retransmits its FIN after its RTO; A answers with an ACK and
	// restarts TIME-WAIT.
	p.runUntil("B CLOSED", func() bool { return p.B().State() == StateClosed })
	if p.A().State() != StateTimeWait {
		t.Fatalf("A left TIME-WAIT: %v", p.A().State())
	}
	fins := p.segs(func(w wire) bool { return w.from == 1 && w.seg.Flags.Has(FIN) })
	if len(fins) != 2 || fins[0].seg.Seq != fins[1].seg.Seq {
		t.Fatalf("B's FINs %v: want the same FIN twice", fins)
	}
	last := p.sent[len(p.sent)-1]
	if last.from != 0 || last.seg.Flags != ACK || last.seg.Ack != fins[1].seg.Seq+1 {
		t.Fatalf("A answered the FIN with %v", last)
	}
	if rs := p.segs(func(w wire) bool { return w.from == 0 && w.seg.Flags.Has(RST) }); len(rs) != 0 {
		t.Fatalf("A sent RST in TIME-WAIT: %v", rs)
	}
	restarted, _ := p.A().NextDeadline()
	if restarted != p.now+20*time.Second || restarted <= first {
		t.Errorf("2MSL not restarted: deadline %v (first %v, now %v)", restarted, first, p.now)
	}
	p.runUntil("A CLOSED", func() bool { return p.A().State() == StateClosed })
	if p.now != restarted {
		t.Errorf("A closed at %v, want the restarted deadline %v", p.now, restarted)
	}
	checkVars(t, p.A())
}

// Loss of the SYN, the SYN+ACK, data and FIN is repaired by the
// retransmission timer, which backs off (RFC 6298 5.5).
func TestLossRecovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(w wire) bool
	}{
		{"SYN", func(w wire) bool { return w.seg.Flags == SYN }},
		{"SYN+ACK", func(w wire) bool { return w.seg.Flags == SYN|ACK }},
		{"data", func(w wire) bool { return len(w.seg.Payload) > 0 }},
		{"FIN", func(w wire) bool { return w.seg.Flags.Has(FIN) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{ISNKey: [16]byte{1}, MSL: time.Second}
			p := newPair(t, cfg, &Config{ISNKey: [16]byte{2}, MSL: time.Second})
			lost := 0
			var lostAt []time.Duration
			p.drop = func(w wire) bool {
				if tc.lose(w) && lost < 3 {
					lost++
					lostAt = append(lostAt, p.now)
					return true
				}
				return false
			}
			p.open()
			p.write(0, []byte("payload"))
			p.runUntil("data", func() bool { return string(p.got[1]) == "payload" })
			closeBoth(t, p)
			if lost != 3 {
				t.Fatalf("lost %d segments, want 3", lost)
			}
			// The first transmission and two retransmissions were lost:
			// the gaps between them double.
			g1, g2 := lostAt[1]-lostAt[0], lostAt[2]-lostAt[1]
			if g1 <= 0 || g2 != 2*g1 {
				t.Errorf("retransmission gaps %v, %v: want doubling", g1, g2)
			}
		})
	}
}

// Out-of-order arrival: segments delivered in reverse are reassembled; the
// out-of-order ones are acknowledged at once with RCV.NXT (duplicate ACKs).
func TestReassembly(t *testing.T) {
	p := newPair(t, nil, nil)
	p.open()
	data := pattern(9*DefaultMSS+100, 5) // ten segments: the initial window (RFC 6928)
	if n, err := p.A().Write(p.now, data); err != nil || n != len(data) {
		t.Fatal(n, err)
	}
	out := p.collect(0)
	if len(out) != 10 {
		t.Fatalf("%d segments, want 10", len(out))
	}
	rcvNxt := p.B().Vars().RcvNxt
	for i := len(out) - 1; i >= 1; i-- {
		p.B().Input(p.now, &out[i].seg)
		acks := p.collect(1)
		if len(acks) != 1 || acks[0].seg.Ack != rcvNxt {
			t.Fatalf("out-of-order segment %d answered with %v, want a dup ACK of %d", i, acks, rcvNxt)
		}
		if p.B().Readable() != 0 {
			t.Fatal("out-of-order text became readable")
		}
	}
	p.B().Input(p.now, &out[0].seg)
	acks := p.collect(1)
	if len(acks) != 1 || acks[0].seg.Ack != rcvNxt+uint32(len(data)) {
		t.Fatalf("gap filled; ACK %v, want ack %d", acks, rcvNxt+uint32(len(data)))
	}
	got := make([]byte, len(data)+10)
	n, _ := p.B().Read(p.now, got)
	if !bytes.Equal(got[:n], data) {
		t.Fatal("reassembled data differs")
	}
}

// An out-of-order FIN is held; the segment that fills the gap before it is
// classified rcv_fin and the connection moves to CLOSE-WAIT.
func TestOutOfOrderFin(t *testing.T) {
	p := newPair(t, nil, nil)
	p.open()
	if _, err := p.A().Write(p.now, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	out := p.collect(0)
	if len(out) != 2 || out[0].seg.Flags != ACK|PSH || out[1].seg.Flags != ACK|FIN {
		t.Fatalf("want a data segment and a FIN, got %v", out)
	}
	// The FIN arrives first.
	text, finOnly := out[0].seg, out[1].seg
	whole := text
	if ev := p.B().Classify(&finOnly); ev != EventRcvAck {
		t.Fatalf("out-of-order FIN classified %v, want rcv_ack", ev)
	}
	p.B().Input(p.now, &finOnly)
	if p.B().State() != StateEstablished || p.B().PeerClosed() {
		t.Fatalf("out-of-order FIN taken: %v", p.B().State())
	}
	if ev := p.B().Classify(&text); ev != EventRcvFin {
		t.Fatalf("gap-filling text classified %v, want rcv_fin", ev)
	}
	p.B().Input(p.now, &text)
	if p.B().State() != StateCloseWait || !p.B().PeerClosed() {
		t.Fatalf("B %v after the gap filled", p.B().State())
	}
	if v := p.B().Vars(); v.RcvNxt != whole.Seq+4 {
		t.Errorf("RCV.NXT %d, want %d", v.RcvNxt, whole.Seq+4)
	}
	buf := make([]byte, 10)
	n, err := p.B().Read(p.now, buf)
	if string(buf[:n]) != "abc" || err != nil {
		t.Fatalf("Read %q %v", buf[:n], err)
	}
	if _, err := p.B().Read(p.now, buf); err != io.EOF {
		t.Fatalf("second Read: %v, want EOF", err)
	}
}

// A receiver that does not read closes its window; the sender probes the
// zero window with one byte on the retransmission timer, and resumes when
// the reader opens it.
func TestZeroWindowProbe(t *testing.T) {
	cfgB := &Config{ISNKey: [16]byte{2}, RcvBuf: 4000}
	p := newPair(t, nil, cfgB)
	p.open()
	p.eager = false
	data := pattern(10000, 7)
	n, err := p.A().Write(p.now, data)
	if err != nil || n != len(data) {
		t.Fatal(n, err)
	}
	p.flush()
	// Sender SWS avoidance holds back the last sliver of window until its
	// override timer fires; then the window is closed.
	for i := 0; p.A().Vars().SndWnd != 0; i++ {
		if i > 5 || !p.advance() {
			t.Fatalf("window never closed: %+v", p.A().Vars())
		}
	}
	if v := p.A().Vars(); v.SndNxt != v.SndUna || p.B().Readable() != 4000 {
		t.Fatalf("A has %d outstanding, B %d readable; want 0 and 4000", v.SndNxt-v.SndUna, p.B().Readable())
	}
	mark := len(p.sent)
	for i := 0; i < 3; i++ {
		if !p.advance() {
			t.Fatal("no persist timer armed")
		}
	}
	probes := p.segs(func(w wire) bool { return w.from == 0 && len(w.seg.Payload) > 0 })
	probes = probes[len(probes)-3:]
	for _, w := range probes {
		if len(w.seg.Payload) != 1 {
			t.Fatalf("probe %v carries %d bytes, want 1", w, len(w.seg.Payload))
		}
	}
	if len(p.sent) == mark {
		t.Fatal("no probes")
	}
	// Read: the window opens, and the rest flows with no timer needed.
	p.eager = true
	p.flush()
	if len(p.got[1]) != len(data) {
		t.Fatalf("after the window opened B has %d of %d bytes", len(p.got[1]), len(data))
	}
	if !bytes.Equal(p.got[1], data) {
		t.Fatal("data corrupted through the zero window")
	}
}

// TestTimeWaitReleasesBuffers: once in TIME-WAIT, with everything sent
// acknowledged and everything received read, a connection holds no buffer
// storage (a server's many TIME-WAITs would otherwise keep theirs).
func TestTimeWaitReleasesBuffers(t *testing.T) {
	p := newPair(t, &Config{MSL: time.Second}, &Config{MSL: time.Second})
	p.open()
	p.write(0, pattern(20000, 1))
	p.write(1, pattern(20000, 2))
	p.flush()
	p.readAll(0)
	p.readAll(1)
	if err := p.A().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	p.readAll(1)
	if err := p.B().Close(p.now); err != nil {
		t.Fatal(err)
	}
	p.flush()
	a := p.A()
	if a.State() != StateTimeWait {
		t.Fatalf("A in %v, want TIME-WAIT", a.State())
	}
	if a.snd.buf != nil || a.rcv.buf != nil {
		t.Errorf("TIME-WAIT holds %d bytes of send and %d of receive storage; want none", len(a.snd.buf), len(a.rcv.buf))
	}
}
