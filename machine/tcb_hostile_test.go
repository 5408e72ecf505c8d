package machine

import (
	"bytes"
	"testing"

	"github.com/tcpfsm/tcpfsm/cc"
)

// Regression tests for segments a hostile (or odd) peer sends during the
// handshake: each failed before its fix.

// synSent returns a Conn in SYN-SENT and its SYN.
func synSent(t *testing.T, cfg *Config) (*Conn, Segment) {
	t.Helper()
	c := NewConn(cfg, tupleA)
	if err := c.Connect(0); err != nil {
		t.Fatal(err)
	}
	syn := c.Outbox()[0]
	c.ClearOutbox()
	return c, syn
}

// A SYN+ACK carrying text: the text starts at IRS+1, is delivered and is
// acknowledged with IRS+1+len. Before the fix the offset wrapped to 2^32-1,
// the Conn reserved 4 GiB and answered ack=IRS+1.
func TestSynAckWithText(t *testing.T) {
	for _, flags := range []Flags{SYN | ACK, SYN | ACK | PSH, SYN | ACK | FIN} {
		c, syn := synSent(t, &Config{RcvBuf: 4096})
		irs := uint32(0xfffffffe) // text crosses the wrap
		text := []byte("abc")
		c.Input(1, &Segment{Seq: irs, Ack: syn.Seq + 1, Flags: flags, Window: 1000, MSS: 1000, Payload: text})
		if c.State() != StateEstablished {
			t.Fatalf("%v: state %v, want ESTABLISHED", flags, c.State())
		}
		want := irs + 1 + uint32(len(text))
		out := c.Outbox()
		if len(out) != 1 || out[0].Ack != want {
			t.Fatalf("%v: sent %+v, want one ACK of IRS+1+3 = %d", flags, out, want)
		}
		if c.PeerClosed() {
			t.Fatalf("%v: a FIN on the SYN+ACK was taken; it is left for the peer to send again", flags)
		}
		buf := make([]byte, 16)
		n, err := c.Read(2, buf)
		if err != nil || !bytes.Equal(buf[:n], text) {
			t.Fatalf("%v: Read = %q, %v; want %q", flags, buf[:n], err, text)
		}
		if got := cap(c.rcv.buf); got > 4096 {
			t.Fatalf("%v: receive storage is %d bytes, more than RcvBuf 4096", flags, got)
		}
	}
}

// Text beyond the window on a SYN+ACK is trimmed: no more than the window
// is taken, and memory stays within RcvBuf.
func TestSynAckTextBeyondWindow(t *testing.T) {
	c, syn := synSent(t, &Config{RcvBuf: 8})
	text := bytes.Repeat([]byte{'x'}, 100)
	c.Input(1, &Segment{Seq: 1000, Ack: syn.Seq + 1, Flags: SYN | ACK, Window: 1000, MSS: 1000, Payload: text})
	if c.Readable() != 8 || c.Vars().RcvNxt != 1000+1+8 {
		t.Fatalf("readable %d, RCV.NXT %d: want the 8 bytes the window held", c.Readable(), c.Vars().RcvNxt)
	}
	if cap(c.rcv.buf) > 8 {
		t.Fatalf("receive storage %d bytes for an 8-byte buffer", cap(c.rcv.buf))
	}
}

// A peer announcing MSS=1 still gets segments of at least MinPeerMSS
// bytes (the CVE-2019-11479 class: one write must not become thousands of
// segments).
func TestTinyPeerMSSClamped(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want uint16
	}{
		{Config{}, DefaultMinPeerMSS},
		{Config{MinPeerMSS: 48}, 48},     // Linux's floor
		{Config{MinPeerMSS: 1}, 1},       // no floor
		{Config{MSS: 100}, 100},          // ours is smaller still
		{Config{MinPeerMSS: 2000}, 1460}, // never above our own MSS
	} {
		cfg := tc.cfg
		cfg.NoDelay = true // the last, short segment goes out too
		c, syn := synSent(t, &cfg)
		c.Input(1, &Segment{Seq: 5000, Ack: syn.Seq + 1, Flags: SYN | ACK, Window: 65535, MSS: 1})
		if got := c.Vars().MSS; got != tc.want {
			t.Errorf("%+v: send MSS %d, want %d", tc.cfg, got, tc.want)
		}
		c.ClearOutbox()
		if _, err := c.Write(2, make([]byte, 1400)); err != nil {
			t.Fatal(err)
		}
		// As many segments of the MSS as the initial window holds
		// (RFC 6928: ten of a small MSS).
		iw := cc.InitialWindow(uint32(tc.want)) / uint32(tc.want)
		want := min((1400+int(tc.want)-1)/int(tc.want), int(iw))
		if n := len(c.Outbox()); n != want {
			t.Errorf("%+v: a 1400-byte write went out as %d segments, want %d", tc.cfg, n, want)
		}
		for _, s := range c.Outbox() {
			if len(s.Payload) > int(tc.want) {
				t.Errorf("%+v: a segment of %d bytes, above the MSS %d", tc.cfg, len(s.Payload), tc.want)
			}
		}
	}
}

// SYN+FIN to a listener is dropped (spec rule listen_rcv_syn_fin), as
// Linux does: no SYN+ACK, no TCB.
func TestListenDropsSynFin(t *testing.T) {
	c := NewConn(nil, tupleB)
	if err := c.Listen(0); err != nil {
		t.Fatal(err)
	}
	rule := c.Input(1, &Segment{Seq: 77, Flags: SYN | FIN, Window: 100, MSS: 1460})
	if rule != RuleListenRcvSynFin || c.State() != StateListen || len(c.Outbox()) != 0 {
		t.Fatalf("rule %v, state %v, sent %+v: want listen_rcv_syn_fin, LISTEN, nothing", rule, c.State(), c.Outbox())
	}
	if c.Vars().IRS != 0 {
		t.Fatalf("IRS %d: the SYN+FIN was taken", c.Vars().IRS)
	}
}
