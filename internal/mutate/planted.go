package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// planted is a named bug, written by hand: what a reviewer found the
// checks missed, and what each invariant of docs/checking.md is shown to
// catch. `go run ./internal/mutate -planted` runs them; each must be killed,
// by the invariant named.
type planted struct {
	name      string
	invariant int // the invariant expected to catch it (docs/checking.md)
	doc       string
	edits     []edit
}

// edit replaces old, which must occur exactly once, in a file of machine/.
type edit struct{ file, old, new string }

var plantedBugs = []planted{
	{"ack-lower-bound", 27, "RFC 5961 5.2's lower bound SND.UNA - MAX.SND.WND removed from the ACK check (blind data injection with an old ACK)",
		[]edit{{"tcb.go", "SeqLEQ(c.t.sndUna-c.t.maxSndWnd, s.Ack) && SeqLEQ(s.Ack, c.t.sndNxt)", "SeqLEQ(s.Ack, c.t.sndNxt)"}}},
	{"no-wl-check", 23, "the SND.WL1/SND.WL2 test of the window update removed: an older segment sets SND.WND",
		[]edit{{"tcb.go", "(SeqLT(t.sndWl1, s.Seq) || (t.sndWl1 == s.Seq && SeqLEQ(t.sndWl2, ack)))", "true"}}},
	{"sndwnd-not-updated", 23, "SND.WND not taken from an ACK (only WL1/WL2 move)",
		[]edit{{"tcb.go", "t.sndWnd, t.sndWl1, t.sndWl2 = wnd, s.Seq, ack", "t.sndWl1, t.sndWl2 = s.Seq, ack"}}},
	{"no-right-trim", 21, "text beyond the right edge of the receive window is not trimmed",
		[]edit{{"classify.go", "if end := v.seq + uint32(len(v.payload)); SeqGT(end, limit) {", "if end := v.seq + uint32(len(v.payload)); false && SeqGT(end, limit) {"}}},
	{"accept-right-edge", 28, "the acceptability test is off by one at the window's right edge",
		[]edit{{"classify.go", "return SeqInWindow(seg.Seq, nxt, wnd) || SeqInWindow(seg.Seq+n-1, nxt, wnd)", "return SeqInWindow(seg.Seq, nxt, wnd+1) || SeqInWindow(seg.Seq+n-1, nxt, wnd+1)"}}},
	{"rto-not-doubled", 25, "the RTO is not doubled on consecutive timeouts (RFC 6298 5.5)",
		[]edit{{"rto.go", "\t\tr.backoff++\n", "\n"}}},
	{"backoff-kept", 25, "the backoff is not cleared by a valid RTT sample",
		[]edit{{"rto.go", "\tr.base = min(max(r.base, cfg.minRTO()), cfg.maxRTO())\n\tr.backoff = 0\n", "\tr.base = min(max(r.base, cfg.minRTO()), cfg.maxRTO())\n"}}},
	{"karn", 25, "an RTT sample is taken across a retransmission (Karn's rule broken)",
		[]edit{
			{"output.go", "\tt.timing = false // Karn: no sample across a retransmission\n", "\n"},
			{"output.go", "\tt.timing = false\n\tif t.synSent && !t.synAcked {", "\tif t.synSent && !t.synAcked {"},
		}},
	{"ooo-dropped", 26, "out-of-order text is dropped (never held for reassembly)",
		[]edit{{"recv.go", "\tc.holdOOO(v.seq, v.seq+uint32(n))\n", "\n"}}},
	{"one-range", 26, "reassembly holds a single out-of-order range",
		[]edit{{"tcb.go", "const maxOOO = 16", "const maxOOO = 1"}}},
	{"no-fast-retransmit", 26, "fast retransmit disabled: the third duplicate ACK does nothing",
		[]edit{{"output.go", "if t.dupAcks == 3 {", "if false {"}}},
	{"window-not-reduced", 22, "the advertised window is never reduced as the buffer fills",
		[]edit{{"recv.go", "return uint32(max(c.cfg.rcvBuf()-c.rcv.n, 0))", "return uint32(c.cfg.rcvBuf())"}}},
	{"no-receiver-sws", 22, "no receiver-side silly-window avoidance: the right edge moves by any amount",
		[]edit{{"recv.go", "if free-old >= min(uint32(c.cfg.rcvBuf()/2), uint32(c.cfg.mss())) {", "if true {"}}},
	{"sender-beyond-window", 3, "the sender sends one segment beyond the peer's window (its SND.NXT shows it)",
		[]edit{{"output.go", "usable := t.sndUna + t.sndWnd - t.sndNxt // U: usable window", "usable := t.sndUna + t.sndWnd - t.sndNxt + uint32(t.sndMSS)"}}},
	{"wire-beyond-window", 24, "a segment ending at the window's edge carries one byte more, while the TCB's counters stay right",
		[]edit{{"output.go", "\tc.emit(seq, t.rcvNxt, flags, p)\n",
			"\tif fresh && k == n && end == t.sndUna+t.sndWnd && c.snd.n > int(end-t.sndBufSeq) {\n\t\tp = c.snd.slice(int(seq-t.sndBufSeq), int(n)+1)\n\t}\n\tc.emit(seq, t.rcvNxt, flags, p)\n"}}},
}

// plantedMutant builds the overlay of p.
func plantedMutant(root string, p planted) (Mutant, error) {
	m := Mutant{ID: "planted:" + p.name, Pos: "machine/" + p.edits[0].file, Desc: p.doc, Files: map[string][]byte{}}
	for _, e := range p.edits {
		path := filepath.Join(root, machineDir, e.file)
		src, ok := m.Files[path]
		if !ok {
			var err error
			if src, err = os.ReadFile(path); err != nil {
				return m, err
			}
		}
		if n := bytes.Count(src, []byte(e.old)); n != 1 {
			return m, fmt.Errorf("planted bug %s: %q occurs %d times in %s, want once (the code changed: update planted.go)", p.name, e.old, n, e.file)
		}
		m.Files[path] = bytes.Replace(src, []byte(e.old), []byte(e.new), 1)
	}
	return m, nil
}

// runPlanted tests every planted bug; each must be killed by its invariant.
func runPlanted(w io.Writer, r *runner) int {
	bad := 0
	for i, p := range plantedBugs {
		m, err := plantedMutant(r.root, p)
		if err != nil {
			fmt.Fprintf(w, "ERROR    %v\n", err)
			bad++
			continue
		}
		res := r.test(m, i+1)
		want := fmt.Sprintf("invariant %d", p.invariant)
		switch {
		case res.verdict == killedMutant && res.why == want:
			fmt.Fprintf(w, "caught   %-22s by the %s: %s  (%s)\n", p.name, res.by, res.why, p.doc)
		case res.verdict == killedMutant:
			fmt.Fprintf(w, "caught   %-22s by the %s: %s, not %s as documented  (%s)\n", p.name, res.by, res.why, want, p.doc)
			bad++
		default:
			fmt.Fprintf(w, "MISSED   %-22s %s: %s\n", p.name, res.verdict, p.doc)
			bad++
		}
	}
	fmt.Fprintf(w, "planted: %d caught by their invariant of %d\n", len(plantedBugs)-bad, len(plantedBugs))
	if bad > 0 {
		return 1
	}
	return 0
}
