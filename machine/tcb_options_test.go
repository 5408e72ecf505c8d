package machine

import (
	"testing"
	"time"
)

// Every combination of what the two ends allow: an option is on for the
// connection exactly when both allow it, both ends agree, and neither
// SYN+ACK carries an option its peer's SYN lacked (RFC 7323 2.2, 3.2;
// RFC 2018 2).
func TestOptionsNegotiated(t *testing.T) {
	all := OptWScale | OptSACKPermitted | OptTimestamps
	for a := Opts(0); a <= all; a++ {
		for b := Opts(0); b <= all; b++ {
			cfg := func(o Opts, key byte) *Config {
				return &Config{ISNKey: [16]byte{key}, NoWindowScale: !o.Has(OptWScale), NoSACK: !o.Has(OptSACKPermitted), NoTimestamps: !o.Has(OptTimestamps)}
			}
			p := established(t, cfg(a, 1), cfg(b, 2))
			want := a & b
			if va, vb := p.A().Vars(), p.B().Vars(); va.Opts != want || vb.Opts != want {
				t.Fatalf("A allows %v, B %v: A has %v, B %v on, want %v", a, b, va.Opts, vb.Opts, want)
			}
			for _, w := range p.sent {
				if w.seg.Flags&SYN != 0 && w.seg.Flags&ACK != 0 && w.seg.Opts != want {
					t.Fatalf("A allows %v, B %v: the SYN+ACK carries %v, want %v", a, b, w.seg.Opts, want)
				}
				if w.seg.Flags&SYN == 0 && w.seg.Opts&^OptTimestamps != 0 {
					t.Fatalf("WS or SACK-permitted off a SYN: %v", w)
				}
				if w.seg.Flags&SYN == 0 && w.seg.Opts.Has(OptTimestamps) != want.Has(OptTimestamps) {
					t.Fatalf("timestamps on %v with %v negotiated", w, want)
				}
			}
		}
	}
}

// With window scaling, each side's windows are read with the shift its
// peer's SYN announced; a 1 MiB receive buffer is advertised whole (shift
// 5), a SYN's window is never scaled, and a peer's shift above 14 is taken
// as 14 (RFC 7323 2.3).
func TestWindowScaling(t *testing.T) {
	a := &Config{ISNKey: [16]byte{1}, RcvBuf: 1 << 20, SndBuf: 4 << 20}
	b := &Config{ISNKey: [16]byte{2}, RcvBuf: 4 << 20, SndBuf: 4 << 20}
	p := established(t, a, b)
	// The SYN+ACK's window is unscaled: A learns B's whole window from
	// B's first segment after it.
	p.write(1, []byte("x"))
	p.flush()
	va, vb := p.A().Vars(), p.B().Vars()
	if va.RcvShift != 5 || vb.RcvShift != 7 || va.SndShift != 7 || vb.SndShift != 5 {
		t.Fatalf("shifts: A rcv %d snd %d, B rcv %d snd %d; want 5 7 7 5", va.RcvShift, va.SndShift, vb.RcvShift, vb.SndShift)
	}
	// Within the scale's rounding (2^shift bytes) of the whole buffers.
	if va.SndWnd < 4<<20-1<<7 || vb.SndWnd < 1<<20-1<<5 {
		t.Fatalf("send windows A %d B %d, want the peers' buffers %d and %d, less the rounding", va.SndWnd, vb.SndWnd, 4<<20, 1<<20)
	}
	for _, w := range p.sent {
		if w.seg.Flags&SYN != 0 && w.seg.Window != MaxWindow {
			t.Fatalf("SYN window %d, want 65535 (unscaled, capped)", w.seg.Window)
		}
	}
	// A bulk transfer keeps more than 64 KiB in flight once slow start
	// has opened cwnd that far.
	p.eager = false
	p.A().Write(p.now, pattern(3<<20, 7))
	var inFlight uint32
	p.drop = func(wire) bool {
		v := p.A().Vars()
		inFlight = max(inFlight, v.SndNxt-v.SndUna)
		return false
	}
	p.flush()
	p.drop = nil
	if inFlight <= MaxWindow {
		t.Fatalf("%d bytes in flight at most, want more than 65535", inFlight)
	}

	// A shift of 15 or more counts as 14.
	c := NewConn(&Config{ISNKey: [16]byte{3}}, tupleB)
	c.Listen(0)
	syn := Segment{Seq: 100, Flags: SYN, Window: 1000, MSS: 1460, Opts: OptWScale, WScale: 200}
	c.Input(0, &syn)
	if v := c.Vars(); v.SndShift != MaxShift {
		t.Fatalf("peer shift %d, want %d", v.SndShift, MaxShift)
	}
}

// PAWS (RFC 7323 5.3): a segment whose timestamp is older than TS.Recent
// is dropped by rule sync_rcv_paws and ACKed, even at RCV.NXT with text;
// a newer one is processed and becomes TS.Recent; an RST is exempt.
func TestPAWS(t *testing.T) {
	p := established(t, nil, nil)
	b := p.B()
	v := b.Vars()
	old := Segment{Seq: v.RcvNxt, Ack: v.SndNxt, Flags: ACK | PSH, Window: 100, Opts: OptTimestamps, TSVal: v.TSRecent - 1, Payload: []byte("old")}
	if r := b.Input(p.now, &old); r != RuleSyncRcvPaws {
		t.Fatalf("rule %v, want sync_rcv_paws", r)
	}
	if got := b.Vars(); got.RcvNxt != v.RcvNxt || got.TSRecent != v.TSRecent {
		t.Fatalf("RCV.NXT %d->%d TS.Recent %d->%d: a PAWS drop changes nothing", v.RcvNxt, got.RcvNxt, v.TSRecent, got.TSRecent)
	}
	if out := b.Outbox(); len(out) != 1 || out[0].Flags != ACK || out[0].Ack != v.RcvNxt || out[0].TSEcr != v.TSRecent {
		t.Fatalf("answer %v, want one ACK of %d echoing TS.Recent %d", out, v.RcvNxt, v.TSRecent)
	}
	b.ClearOutbox()
	fresh := old
	fresh.TSVal = v.TSRecent + 10
	if r := b.Input(p.now, &fresh); r != RuleEstRcvAck {
		t.Fatalf("rule %v, want est_rcv_ack", r)
	}
	if got := b.Vars(); got.RcvNxt != v.RcvNxt+3 || got.TSRecent != v.TSRecent+10 {
		t.Fatalf("RCV.NXT %d TS.Recent %d, want %d and %d", got.RcvNxt, got.TSRecent, v.RcvNxt+3, v.TSRecent+10)
	}
	rst := Segment{Seq: v.RcvNxt + 3, Flags: RST, Opts: OptTimestamps, TSVal: 1}
	if r := b.Input(p.now, &rst); r != RuleSyncRcvRst {
		t.Fatalf("an exact RST with an old timestamp: rule %v, want sync_rcv_rst", r)
	}
}

// RFC 6191: with timestamps, a SYN to a connection in TIME-WAIT opens a
// new incarnation when its timestamp is newer than TS.Recent, even with a
// sequence number below RCV.NXT; with an older timestamp it is answered
// with a challenge ACK.
func TestTimeWaitReuseByTimestamp(t *testing.T) {
	p := established(t, nil, nil)
	p.A().Close(p.now)
	p.flush()
	p.B().Close(p.now)
	p.flush()
	a := p.A()
	if a.State() != StateTimeWait {
		t.Fatalf("A in %v, want TIME-WAIT", a.State())
	}
	a.SetAcceptIncarnation(true)
	v := a.Vars()
	old := Segment{Seq: v.RcvNxt - 1000, Flags: SYN, Window: 1000, MSS: 1460, Opts: OptTimestamps, TSVal: v.TSRecent}
	if r := a.Input(p.now, &old); r != RuleTimeWaitRcvSynOld {
		t.Fatalf("SYN with TSval == TS.Recent: rule %v, want time_wait_rcv_syn_old", r)
	}
	a.ClearOutbox()
	syn := old
	syn.TSVal = v.TSRecent + 1
	if r := a.Input(p.now, &syn); r != RuleTimeWaitRcvSynNew {
		t.Fatalf("SYN with a newer timestamp, sequence number below RCV.NXT: rule %v, want time_wait_rcv_syn_new", r)
	}
	if a.State() != StateSynReceived {
		t.Fatalf("state %v, want SYN-RECEIVED", a.State())
	}
}

// SACK (RFC 2018, RFC 2883): the receiver's pure ACKs report held ranges,
// the block of the latest segment first; a duplicate is reported in a
// D-SACK block; the sender's scoreboard keeps valid blocks and ignores
// forged ones.
func TestSACKBlocks(t *testing.T) {
	p := established(t, nil, nil)
	b := p.B()
	v := b.Vars()
	in := func(seq uint32, n int) []Segment {
		b.ClearOutbox()
		s := Segment{Seq: seq, Ack: v.SndNxt, Flags: ACK, Window: 100, Payload: make([]byte, n)}
		b.Input(p.now, &s)
		return b.Outbox()
	}
	nxt := v.RcvNxt
	in(nxt+100, 10)
	out := in(nxt+200, 10)
	if len(out) != 1 || out[0].NumSACK != 2 || out[0].SACK[0] != (SACKBlock{nxt + 200, nxt + 210}) || out[0].SACK[1] != (SACKBlock{nxt + 100, nxt + 110}) {
		t.Fatalf("after two held segments: %+v, want blocks [%d,%d) then [%d,%d)", out, nxt+200, nxt+210, nxt+100, nxt+110)
	}
	out = in(nxt+105, 10) // extends the first range: reported first
	if out[0].SACK[0] != (SACKBlock{nxt + 100, nxt + 115}) {
		t.Fatalf("after extending a range: %+v", out[0].SACK[:out[0].NumSACK])
	}
	in(nxt, 5)
	out = in(nxt, 5) // all of it received before: D-SACK
	if out[0].NumSACK == 0 || out[0].SACK[0] != (SACKBlock{nxt, nxt + 5}) {
		t.Fatalf("duplicate: %+v, want a D-SACK block [%d,%d) first", out, nxt, nxt+5)
	}

	// The sender's scoreboard.
	a := p.A()
	p.eager = false
	a.Write(p.now, make([]byte, 3000))
	va := a.Vars()
	ack := Segment{Seq: va.RcvNxt, Ack: va.SndUna, Flags: ACK, Window: uint16(min(va.SndWnd>>va.SndShift, MaxWindow)), NumSACK: 3}
	ack.SACK[0] = SACKBlock{va.SndUna + 1000, va.SndUna + 2000} // valid
	ack.SACK[1] = SACKBlock{va.SndNxt, va.SndNxt + 100}         // beyond SND.NXT
	ack.SACK[2] = SACKBlock{va.SndUna + 500, va.SndUna + 400}   // inverted
	a.Input(p.now, &ack)
	if got := a.Vars().SACKedRanges; got != 1 {
		t.Fatalf("scoreboard has %d ranges, want the 1 valid block", got)
	}
	if s, e := a.SACKed(0); s != va.SndUna+1000 || e != va.SndUna+2000 {
		t.Fatalf("scoreboard [%d,%d)", s, e)
	}
}

// With timestamps on, a full segment's text is the MSS less the 12 bytes
// of the option (RFC 6691), so the IP packet stays within the MTU.
func TestTimestampsShrinkSegments(t *testing.T) {
	p := established(t, nil, nil)
	p.eager = false
	p.A().Write(p.now, make([]byte, 5000))
	for _, w := range p.sent {
		if n := len(w.seg.Payload); n > DefaultMSS-12 {
			t.Fatalf("a segment of %d bytes with timestamps: more than MSS-12 = %d", n, DefaultMSS-12)
		}
	}
	if mss := p.A().Vars().MSS; mss != DefaultMSS-12 {
		t.Fatalf("effective MSS %d, want %d", mss, DefaultMSS-12)
	}
}

// RTTM (RFC 7323 4.1): with timestamps, an ACK of new data gives an RTT
// sample, the clock less its echo, even for a segment sent twice; an echo
// ahead of the clock or older than the flight gives none.
func TestTimestampRTT(t *testing.T) {
	p := established(t, nil, nil)
	a := p.A()
	send := func() (Vars, Segment) {
		if _, err := a.Write(p.now, []byte("abc")); err != nil {
			t.Fatal(err)
		}
		out := a.Outbox()
		if len(out) != 1 || !out[0].Opts.Has(OptTimestamps) {
			t.Fatalf("sent %v, want one segment with timestamps", out)
		}
		seg := out[0]
		a.ClearOutbox()
		return a.Vars(), seg
	}
	ack := func(v Vars, echo uint32) Segment {
		return Segment{Seq: v.RcvNxt, Ack: v.SndNxt, Flags: ACK, Window: 1000, Opts: OptTimestamps, TSVal: v.TSRecent, TSEcr: echo}
	}
	for _, tc := range []struct {
		name   string
		echo   func(sent uint32) uint32
		sample time.Duration // 0: none
	}{
		{"the segment's own echo", func(sent uint32) uint32 { return sent }, 30 * time.Millisecond},
		{"an echo from the future", func(sent uint32) uint32 { return sent + 31 }, 0},
		{"an echo older than the flight", func(sent uint32) uint32 { return sent - 1 }, 0},
	} {
		v, seg := send()
		p.now += 30 * time.Millisecond
		in := ack(v, tc.echo(seg.TSVal))
		a.Input(p.now, &in)
		got := a.Vars()
		switch {
		case tc.sample == 0 && got.RTTSamples != v.RTTSamples:
			t.Errorf("%s: took a sample (%v)", tc.name, got.LastRTT)
		case tc.sample != 0 && (got.RTTSamples != v.RTTSamples+1 || got.LastRTT != tc.sample):
			t.Errorf("%s: %d samples, the last %v; want one more, of %v", tc.name, got.RTTSamples-v.RTTSamples, got.LastRTT, tc.sample)
		}
		if got.SndUna != v.SndNxt {
			t.Fatalf("%s: SND.UNA %d, want %d: the ACK is acceptable whatever it echoes", tc.name, got.SndUna, v.SndNxt)
		}
		a.ClearOutbox()
	}
}

// TestClockNeverGoesBack: a runtime's loops may call a connection with an
// earlier now than a call before it (one read the clock first, the other
// called first). The connection's clock does not go back, so neither does
// its TSval (RFC 7323 5.4): a TSval below one already sent makes the
// peer's PAWS drop the segment. tcpfsm trace found this on a capture of
// the runtime.
func TestClockNeverGoesBack(t *testing.T) {
	p := newPair(t, &Config{NoDelay: true}, &Config{})
	p.open()
	a := p.A()
	later := p.now + 50*time.Millisecond
	if _, err := a.Write(later, []byte("first")); err != nil {
		t.Fatal(err)
	}
	out := a.Outbox()
	if len(out) == 0 || out[0].Opts&OptTimestamps == 0 {
		t.Fatalf("no segment with timestamps sent: %v", out)
	}
	first := out[0].TSVal
	a.ClearOutbox()
	// Now a call with the earlier time.
	if _, err := a.Write(p.now, []byte("second")); err != nil {
		t.Fatal(err)
	}
	out = a.Outbox()
	if len(out) == 0 {
		t.Fatal("the second write sent nothing")
	}
	for _, s := range out {
		if int32(s.TSVal-first) < 0 {
			t.Fatalf("TSval went back: %d after %d", s.TSVal, first)
		}
	}
	a.ClearOutbox()
}
