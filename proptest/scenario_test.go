package proptest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// pathRecorder keeps, per side, the states each Conn entered.
type pathRecorder struct {
	w     *World
	path  [2][]machine.State
	rules [2][]machine.Rule
}

func (p *pathRecorder) Transition(c *machine.Conn, from machine.State, _ machine.Event, rule machine.Rule, to machine.State) {
	s := simnet.A
	if p.w != nil && c == p.w.Conn(simnet.B) {
		s = simnet.B
	}
	p.rules[s] = append(p.rules[s], rule)
	if to != from {
		p.path[s] = append(p.path[s], to)
	}
}

// took reports whether side s took rule.
func (p *pathRecorder) took(s simnet.Side, rule machine.Rule) bool {
	return slices.Contains(p.rules[s], rule)
}

// observers fans transitions out.
type observers []machine.Observer

func (o observers) Transition(c *machine.Conn, from machine.State, ev machine.Event, rule machine.Rule, to machine.State) {
	for _, x := range o {
		x.Transition(c, from, ev, rule, to)
	}
}

// A scenario is a fixed sequence of moves: it reaches rows and paths that
// random walks reach rarely, and asserts the path taken. TestCoverage
// replays them too.
type scenario struct {
	name string
	run  func(w *World, p *pathRecorder) error
}

// deliverAll delivers in order, alternating directions, until nothing is in
// flight.
func deliverAll(w *World) {
	for i := 0; w.Net().InFlight() > 0 && w.Err() == nil && i < 1000; i++ {
		if len(w.Net().Link(simnet.A)) > 0 {
			w.Deliver(simnet.A, 0)
		}
		if len(w.Net().Link(simnet.B)) > 0 {
			w.Deliver(simnet.B, 0)
		}
	}
}

// reopenFromTimeWait closes an open connection, B first, so that B is in
// TIME-WAIT, then lets 10 ms pass (A's next ISN is higher) and has A
// connect again: B must take time_wait_rcv_syn_new and both sides open
// the new incarnation.
func reopenFromTimeWait(w *World, p *pathRecorder) error {
	w.Close(simnet.B)
	deliverAll(w)
	w.Close(simnet.A)
	deliverAll(w)
	if a, b := w.State(simnet.A), w.State(simnet.B); a != machine.StateClosed || b != machine.StateTimeWait {
		return fmt.Errorf("A is %v and B is %v, want CLOSED and TIME-WAIT", a, b)
	}
	w.AdvanceBy(10 * time.Millisecond)
	w.Connect(simnet.A)
	deliverAll(w)
	if err := w.Err(); err != nil {
		return err // an invariant (16 for the new ISS) broke on the way
	}
	if !p.took(simnet.B, machine.RuleTimeWaitRcvSynNew) {
		return fmt.Errorf("B did not take time_wait_rcv_syn_new: %v", p.rules[simnet.B])
	}
	if a, b := w.State(simnet.A), w.State(simnet.B); a != machine.StateEstablished || b != machine.StateEstablished {
		return fmt.Errorf("the new incarnation did not open: A is %v, B is %v", a, b)
	}
	return nil
}

// aInTimeWait opens a connection and closes it, A first, so that A is in
// TIME-WAIT.
func aInTimeWait(w *World) error {
	if err := establish(w); err != nil {
		return err
	}
	w.Close(simnet.A)
	deliverAll(w)
	w.Close(simnet.B)
	deliverAll(w)
	if st := w.State(simnet.A); st != machine.StateTimeWait {
		return fmt.Errorf("A is %v after the close, want TIME-WAIT", st)
	}
	return nil
}

// establish opens a connection: B listens, A connects.
func establish(w *World) error {
	w.Listen(simnet.B)
	w.Connect(simnet.A)
	deliverAll(w)
	if a, b := w.State(simnet.A), w.State(simnet.B); a != machine.StateEstablished || b != machine.StateEstablished {
		return fmt.Errorf("after the handshake A is %v and B is %v, want ESTABLISHED", a, b)
	}
	return w.Err()
}

func wantPath(p *pathRecorder, s simnet.Side, want ...machine.State) error {
	if !slices.Equal(p.path[s], want) {
		return fmt.Errorf("%v went through %v, want %v", s, p.path[s], want)
	}
	return nil
}

var scenarios = []scenario{
	{"textbook", func(w *World, p *pathRecorder) error {
		if err := establish(w); err != nil {
			return err
		}
		w.Write(simnet.A, 20)
		w.Write(simnet.B, 7)
		deliverAll(w)
		w.Read(simnet.A, 64)
		w.Read(simnet.B, 64)
		w.Close(simnet.A)
		deliverAll(w)
		w.Read(simnet.B, 64) // EOF
		w.Close(simnet.B)
		deliverAll(w)
		if err := w.Finish(); err != nil {
			return err
		}
		// Invariant 8: the active closer waits in TIME-WAIT, the passive
		// closer goes LAST-ACK -> CLOSED.
		if err := wantPath(p, simnet.A, machine.StateSynSent, machine.StateEstablished, machine.StateFinWait1,
			machine.StateFinWait2, machine.StateTimeWait, machine.StateClosed); err != nil {
			return err
		}
		return wantPath(p, simnet.B, machine.StateListen, machine.StateSynReceived, machine.StateEstablished,
			machine.StateCloseWait, machine.StateLastAck, machine.StateClosed)
	}},
	{"simultaneous open", func(w *World, p *pathRecorder) error {
		w.Connect(simnet.A)
		w.Connect(simnet.B)
		w.Deliver(simnet.A, 0) // the SYNs cross
		w.Deliver(simnet.B, 0)
		deliverAll(w)
		// Invariant 11: SYN-SENT -> SYN-RECEIVED -> ESTABLISHED on both.
		for _, s := range []simnet.Side{simnet.A, simnet.B} {
			if err := wantPath(p, s, machine.StateSynSent, machine.StateSynReceived, machine.StateEstablished); err != nil {
				return err
			}
		}
		return w.Finish()
	}},
	{"simultaneous close", func(w *World, p *pathRecorder) error {
		if err := establish(w); err != nil {
			return err
		}
		w.Close(simnet.A)
		w.Close(simnet.B)
		deliverAll(w) // the FINs cross
		if err := w.Finish(); err != nil {
			return err
		}
		// Invariant 11: CLOSING -> TIME-WAIT on both sides.
		for _, s := range []simnet.Side{simnet.A, simnet.B} {
			if got := p.path[s][len(p.path[s])-4:]; !slices.Equal(got, []machine.State{machine.StateFinWait1, machine.StateClosing, machine.StateTimeWait, machine.StateClosed}) {
				return fmt.Errorf("%v closed through %v, want FIN-WAIT-1 CLOSING TIME-WAIT CLOSED", s, got)
			}
		}
		return nil
	}},
	{"RST inside TIME-WAIT's window", func(w *World, p *pathRecorder) error {
		// RFC 5961 3.2 in TIME-WAIT (without RFC 1337): an RST in the
		// window but not at RCV.NXT gets a challenge ACK, and the
		// connection waits out 2MSL.
		if err := aInTimeWait(w); err != nil {
			return err
		}
		w.Inject(simnet.A, WindowRST, 0)
		if !p.took(simnet.A, machine.RuleTimeWaitRcvRstWindow) || w.State(simnet.A) != machine.StateTimeWait {
			return fmt.Errorf("A took %v and is %v; want time_wait_rcv_rst_window and TIME-WAIT", p.rules[simnet.A], w.State(simnet.A))
		}
		return w.Finish()
	}},
	{"retransmitted FIN in TIME-WAIT", func(w *World, p *pathRecorder) error {
		if err := establish(w); err != nil {
			return err
		}
		w.Close(simnet.A)
		deliverAll(w) // B: CLOSE-WAIT
		w.Close(simnet.B)
		w.Deliver(simnet.B, 0) // B's FIN: A enters TIME-WAIT and ACKs it
		if st := w.State(simnet.A); st != machine.StateTimeWait {
			return fmt.Errorf("A is %v after the peer's FIN, want TIME-WAIT", st)
		}
		w.Drop(simnet.A, 0) // the ACK is lost: B retransmits its FIN
		for w.State(simnet.B) == machine.StateLastAck && len(w.Net().Link(simnet.B)) == 0 {
			w.Advance()
		}
		w.Deliver(simnet.B, 0)
		// Invariant 10 (checked by the World on every record): ACKed,
		// never RST, 2MSL restarted.
		if !p.took(simnet.A, machine.RuleTimeWaitRcvFin) {
			return fmt.Errorf("A did not take time_wait_rcv_fin on the retransmitted FIN: %v", p.rules[simnet.A])
		}
		return w.Finish()
	}},
	{"new incarnation from TIME-WAIT", func(w *World, p *pathRecorder) error {
		if err := establish(w); err != nil {
			return err
		}
		if err := reopenFromTimeWait(w, p); err != nil {
			return err
		}
		return w.Finish()
	}},
	{"new incarnation after sending faster than the ISN clock", func(w *World, p *pathRecorder) error {
		// B sends 12,800 bytes in no time, closes first and reopens
		// from TIME-WAIT 10 ms later: the ISN clock moved 2,500, so its
		// new ISS must be raised above the old SND.NXT (invariant 16,
		// RFC 1122 4.2.2.13).
		if err := establish(w); err != nil {
			return err
		}
		for range 400 {
			w.Write(simnet.B, 32)
			deliverAll(w)
			w.Read(simnet.A, 64)
		}
		if err := reopenFromTimeWait(w, p); err != nil {
			return err
		}
		return w.Finish()
	}},
	{"SYN+ACK in TIME-WAIT, SYN+FIN at a listener", func(w *World, p *pathRecorder) error {
		if err := aInTimeWait(w); err != nil {
			return err
		}
		w.Inject(simnet.A, WindowSYN, 1) // k odd: SYN+ACK in the window
		if !p.took(simnet.A, machine.RuleTimeWaitRcvSynack) {
			return fmt.Errorf("A did not take time_wait_rcv_synack: %v", p.rules[simnet.A])
		}
		if err := w.Finish(); err != nil {
			return err
		}
		w.Listen(simnet.B)
		w.Inject(simnet.B, SynFIN, 3)
		if !p.took(simnet.B, machine.RuleListenRcvSynFin) || w.State(simnet.B) != machine.StateListen || w.Net().InFlight() != 0 {
			return fmt.Errorf("B is %v with %d segments in flight after SYN+FIN (rules %v), want LISTEN, silent, by listen_rcv_syn_fin",
				w.State(simnet.B), w.Net().InFlight(), p.rules[simnet.B])
		}
		return w.Finish()
	}},
	{"zero window and its probe", func(w *World, p *pathRecorder) error {
		// B does not read: its window closes, A's persist timer probes
		// with one byte at RCV.NXT, which B answers without taking it
		// (the zero-window exception of RFC 9293 3.10.7.4); then B reads
		// and the rest flows.
		if err := establish(w); err != nil {
			return err
		}
		b := w.Net().Conn(simnet.B)
		for i := 0; i < 10 && b.Vars().RcvWnd > 0; i++ {
			w.Write(simnet.A, 20)
			deliverAll(w)
			if b.Vars().RcvWnd > 0 {
				w.Advance() // sender SWS holds a small window back until its override timer
				deliverAll(w)
			}
		}
		if wnd := b.Vars().RcvWnd; wnd != 0 {
			return fmt.Errorf("B's window is %d after A wrote more than it holds, want 0", wnd)
		}
		rcvNxt := b.Vars().RcvNxt
		for i := 0; i < 3; i++ {
			w.Advance() // the persist timer
			deliverAll(w)
		}
		if got := b.Vars().RcvNxt; got != rcvNxt {
			return fmt.Errorf("B took probe text into a zero window: RCV.NXT %d -> %d", rcvNxt, got)
		}
		if !p.took(simnet.B, machine.RuleEstRcvAck) {
			return fmt.Errorf("B did not answer the probe by est_rcv_ack: %v", p.rules[simnet.B])
		}
		return w.Finish()
	}},
	{"SYN cookies", func(w *World, p *pathRecorder) error {
		// B answers with a cookie and keeps nothing; A's ACK is lost, so
		// A's FIN (after its text) is what makes B's connection, straight
		// into CLOSE-WAIT; a second exchange completes by the ACK.
		b := w.Net().Conn(simnet.B)
		b.SetSynCookies(true)
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Deliver(simnet.A, 0) // the SYN: a cookie SYN+ACK
		w.Deliver(simnet.B, 0) // A: ESTABLISHED
		w.Drop(simnet.A, 0)    // its ACK is lost
		w.Close(simnet.A)
		deliverAll(w)
		if !p.took(simnet.B, machine.RuleListenRcvSynCookie) || !p.took(simnet.B, machine.RuleListenRcvCookieFin) {
			return fmt.Errorf("B took %v, want listen_rcv_syn_cookie then listen_rcv_cookie_fin", p.rules[simnet.B])
		}
		return w.Finish()
	}},
	{"SYN cookies, text on the cookie's ACK", func(w *World, p *pathRecorder) error {
		// A writes while its handshake is under way: the segment that
		// returns the cookie carries text, which B takes at once.
		w.Net().Conn(simnet.B).SetSynCookies(true)
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Write(simnet.A, 5)
		w.Deliver(simnet.A, 0) // the SYN: a cookie SYN+ACK
		w.Deliver(simnet.B, 0) // A: ESTABLISHED, its text (and ACK) in flight
		for len(w.Net().Link(simnet.A)) > 1 {
			w.Drop(simnet.A, 0) // a bare ACK, if any, is lost
		}
		w.Deliver(simnet.A, 0)
		if !p.took(simnet.B, machine.RuleListenRcvCookieAck) || w.Net().Conn(simnet.B).Vars().RcvQueued == 0 {
			return fmt.Errorf("B took %v and holds %d bytes; want listen_rcv_cookie_ack with the text of A's first segment", p.rules[simnet.B], w.Net().Conn(simnet.B).Vars().RcvQueued)
		}
		w.Close(simnet.A)
		return w.Finish()
	}},
	{"text and a FIN on a SYN+ACK", func(w *World, p *pathRecorder) error {
		// B writes and closes in SYN-RECEIVED; its SYN+ACK reaches A
		// with that text and the FIN (RFC 9293 allows both). A takes the
		// text, leaves the FIN for B to send again, and both close.
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Deliver(simnet.A, 0) // the SYN
		w.Write(simnet.B, 6)
		w.Inject(simnet.A, HandshakeText, 1)
		a := w.Net().Conn(simnet.A).Vars()
		if !p.took(simnet.A, machine.RuleSynSentRcvSynack) || a.RcvQueued != 6 || a.FinRcvd {
			return fmt.Errorf("A took %v and holds %d bytes (FIN taken %v); want syn_sent_rcv_synack with 6 bytes and no FIN", p.rules[simnet.A], a.RcvQueued, a.FinRcvd)
		}
		deliverAll(w)
		w.Close(simnet.A)
		return w.Finish()
	}},
	{"keepalive, then a vanished peer", func(w *World, p *pathRecorder) error {
		// A probes its idle connection; B answers; then every segment
		// is lost and A gives B up after Count probes.
		if err := establish(w); err != nil {
			return err
		}
		a := w.Net().Conn(simnet.A)
		w.SetKeepAlive(simnet.A, machine.KeepAlive{Enable: true, Idle: time.Second, Interval: 200 * time.Millisecond, Count: 2})
		w.Advance()
		deliverAll(w)
		if !p.took(simnet.A, machine.RuleKeepaliveProbe) {
			return fmt.Errorf("A sent no keepalive probe: %v", p.rules[simnet.A])
		}
		for i := 0; i < 20 && w.State(simnet.A) != machine.StateClosed; i++ {
			for _, s := range []simnet.Side{simnet.A, simnet.B} {
				for len(w.Net().Link(s)) > 0 {
					w.Drop(s, 0)
				}
			}
			w.Advance()
		}
		if !p.took(simnet.A, machine.RuleKeepaliveDead) || !errors.Is(a.Err(), machine.ErrTimeout) {
			return fmt.Errorf("A did not give its vanished peer up by keepalive_dead: %v, %v", p.rules[simnet.A], a.Err())
		}
		return w.Finish()
	}},
	{"old SYN at a listener", func(w *World, p *pathRecorder) error {
		// RFC 9293 figure 8: an old duplicate SYN reaches B; A, not
		// expecting the SYN+ACK, resets it, and B returns to LISTEN
		// (invariant 12).
		w.Listen(simnet.B)
		w.Inject(simnet.B, OldSYN, 7)
		w.Deliver(simnet.B, 0) // B's SYN+ACK reaches A, CLOSED
		w.Deliver(simnet.A, 0) // A's RST reaches B
		if !p.took(simnet.B, machine.RuleSynRcvdRcvRstPassive) || w.State(simnet.B) != machine.StateListen {
			return fmt.Errorf("B is %v after the RST (rules %v), want LISTEN by syn_rcvd_rcv_rst_passive", w.State(simnet.B), p.rules[simnet.B])
		}
		if err := w.Err(); err != nil {
			return err
		}
		// The listener still takes a real connection.
		w.Connect(simnet.A)
		deliverAll(w)
		if a, b := w.State(simnet.A), w.State(simnet.B); a != machine.StateEstablished || b != machine.StateEstablished {
			return fmt.Errorf("after the old SYN, A is %v and B is %v, want ESTABLISHED", a, b)
		}
		return w.Finish()
	}},
}

func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			p := &pathRecorder{}
			w := NewWorld(Options{Config: testCfg(), Observer: p, Differential: true})
			p.w = w
			if err := sc.run(w, p); err != nil {
				t.Fatalf("%v\ntrace:\n%s", err, w.Trace())
			}
			if err := w.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestOneByteWindow: B's window down to its last byte (RCV.WND = 1, a
// case the random runs seldom meet), A's next segment at RCV.NXT must be
// taken, its excess trimmed (RFC 9293 3.10.7.4's fourth case; invariant
// 28 judges it), and the transfer must complete.
func TestOneByteWindow(t *testing.T) {
	cfg := testCfg()
	cfg.MSS, cfg.RcvBuf, cfg.SndBuf = 1000, 3000, 4000
	cfg.NoTimestamps = true
	w := NewWorld(Options{Config: cfg})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	w.Write(simnet.A, 2999)
	deliverAll(w)
	for i := 0; w.Net().Conn(simnet.A).Vars().SndUna != w.Net().Conn(simnet.B).Vars().RcvNxt && i < 3; i++ {
		w.Advance() // B's delayed ACK
		deliverAll(w)
	}
	b := w.Net().Conn(simnet.B)
	v := b.Vars()
	if v.RcvWnd != 1 || w.Net().Conn(simnet.A).Vars().SndUna != v.RcvNxt {
		t.Fatalf("B's RCV.WND %d, RCV.NXT %d, A's SND.UNA %d: the test needs a window of 1 with everything acknowledged", v.RcvWnd, v.RcvNxt, w.Net().Conn(simnet.A).Vars().SndUna)
	}
	// A has 10 bytes for a window of 1: its timer sends into it.
	w.Write(simnet.A, 10)
	for i := 0; b.Vars().RcvNxt == v.RcvNxt; i++ {
		if i > 10 || !w.Advance() {
			t.Fatalf("B never took the window's last byte:\n%s", w.Trace())
		}
		deliverAll(w)
		if err := w.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Vars().RcvNxt; got != v.RcvNxt+1 {
		t.Fatalf("B's RCV.NXT went from %d to %d, want one byte", v.RcvNxt, got)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestChallengeACKsPerConnection checks invariant 15: the challenge-ACK
// limit is per connection. A and B share one Config (one stack); A is
// flooded with in-window RSTs past its limit, and B must still send its
// own challenge ACKs.
func TestChallengeACKsPerConnection(t *testing.T) {
	cfg := testCfg()
	cfg.ChallengeACKs = 3
	cfg.RcvBuf = 4096 // a wide window, so that in-window RSTs are easy to aim
	w := NewWorld(Options{Config: cfg})
	if err := establish(w); err != nil {
		t.Fatal(err)
	}
	count := func(s simnet.Side, n int) int {
		before := len(w.Net().Link(s))
		for i := 0; i < n; i++ {
			w.Inject(s, WindowRST, uint32(10+i))
		}
		return len(w.Net().Link(s)) - before
	}
	if got := count(simnet.A, 10); got != 3 {
		t.Errorf("A answered 10 in-window RSTs within a second with %d challenge ACKs, want the limit, 3", got)
	}
	if got := count(simnet.B, 10); got != 3 {
		t.Errorf("after A's budget was spent, B sent %d challenge ACKs, want its own 3: the limit must be per connection", got)
	}
	w.AdvanceBy(time.Second)
	if got := count(simnet.A, 1); got != 1 {
		t.Errorf("a second later A sent %d challenge ACKs, want 1: the budget must refill", got)
	}
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	if st := w.State(simnet.A); st != machine.StateEstablished {
		t.Fatalf("in-window RSTs changed A's state to %v", st)
	}
}

// TestISNs checks invariant 16: ISNs differ across 4-tuples and grow with
// time for one 4-tuple.
func TestISNs(t *testing.T) {
	cfg := testCfg()
	iss := func(tuple machine.Tuple, now time.Duration) uint32 {
		c := machine.NewConn(&cfg, tuple)
		if err := c.Connect(now); err != nil {
			t.Fatal(err)
		}
		return c.Vars().ISS
	}
	// Every field of the 4-tuple (and every byte of each address) feeds
	// the ISN: tuples that differ in any one of them get distinct ISNs.
	seen := map[uint32]machine.Tuple{}
	vary := []func(tu *machine.Tuple, i int){
		func(tu *machine.Tuple, i int) { tu.LocalPort = uint16(40000 + i) },
		func(tu *machine.Tuple, i int) { tu.RemotePort = uint16(50000 + i) },
		func(tu *machine.Tuple, i int) {
			b := tu.LocalAddr.As16()
			b[i%16] ^= byte(1 + i/16)
			tu.LocalAddr = netip.AddrFrom16(b)
		},
		func(tu *machine.Tuple, i int) {
			b := tu.RemoteAddr.As16()
			b[i%16] ^= byte(1 + i/16)
			tu.RemoteAddr = netip.AddrFrom16(b)
		},
	}
	for f, set := range vary {
		for i := 0; i < 48; i++ {
			tu := simnet.DefaultTuple()
			set(&tu, i)
			x := iss(tu, time.Second)
			if prev, dup := seen[x]; dup && prev != tu {
				t.Errorf("field %d: 4-tuples %v and %v got the same ISS %d at the same time", f, prev, tu, x)
			}
			seen[x] = tu
		}
	}
	prev := iss(simnet.DefaultTuple(), 0)
	for now := time.Duration(0); now < 10*time.Hour; now += 7*time.Minute + 13*time.Millisecond {
		x := iss(simnet.DefaultTuple(), now+time.Millisecond)
		if !machine.SeqGT(x, prev) {
			t.Fatalf("ISS %d at %v is not above the ISS %d chosen 7 minutes earlier on the same 4-tuple", x, now+time.Millisecond, prev)
		}
		prev = x
	}
}

// TestNearWrapKey checks the precomputed NearWrapKey() against the search
// that derives it.
func TestNearWrapKey(t *testing.T) {
	if testing.Short() {
		t.Skip("the search takes about a second")
	}
	key, gap := FindNearWrapKey(500)
	if key != NearWrapKey() || gap != NearWrapGap {
		t.Fatalf("FindNearWrapKey(500) = %x, gap %d; NearWrapKey() is %x, NearWrapGap %d", key, gap, NearWrapKey(), NearWrapGap)
	}
	for _, k := range []uint32{NearWrapGap + 1, 500, 1000} {
		start, err := StartNearWrap(testCfg(), k)
		if err != nil {
			t.Fatal(err)
		}
		w := NewWorld(Options{Config: testCfg(), Start: start})
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Deliver(simnet.A, 0)
		a, b := w.Conn(simnet.A).Vars().ISS, w.Conn(simnet.B).Vars().ISS
		if a != -k || b != -k+NearWrapGap {
			t.Errorf("k=%d: ISS A %d, B %d; want 2^32-%d and 2^32-%d", k, a, b, k, k-NearWrapGap)
		}
	}
}

// TestSynCookieMSS: a cookie connection gets the MSS its cookie encoded,
// the largest entry of RFC 4987's table (docs/runtime.md) not above the
// peer's MSS, for MSS values at and just below every entry; text flows
// both ways over it; invariant 43 checks the MSS, and the restored
// options (with and without timestamps).
func TestSynCookieMSS(t *testing.T) {
	for _, e := range cookieMSS {
		for _, mss := range []uint16{e - 1, e} {
			for _, ts := range []bool{true, false} {
				cfg := testCfg()
				cfg.MSS, cfg.MinPeerMSS, cfg.RcvBuf, cfg.SndBuf, cfg.SYNCookies, cfg.NoTimestamps = mss, 100, 9000, 10000, true, !ts
				w := NewWorld(Options{Config: cfg})
				if err := establish(w); err != nil {
					t.Fatalf("MSS %d: %v", mss, err)
				}
				want := withTimestamps(uint32(cookieConnMSS(&cfg, mss)), ts)
				if got := w.Net().Conn(simnet.B).Vars().MSS; uint32(got) != want {
					t.Fatalf("MSS %d, timestamps %v: B's send MSS over a cookie connection is %d, want %d", mss, ts, got, want)
				}
				w.Write(simnet.A, 3000)
				w.Write(simnet.B, 3000)
				if err := w.Finish(); err != nil {
					t.Fatalf("MSS %d: %v", mss, err)
				}
			}
		}
	}
}

// TestSynCookieLifetime: a cookie is taken for at least one period (64 s)
// after it was sent, across the counter's tick, up to the end of the
// period after its own, and refused from then on (invariant 43 demands
// the first; this test the rest, at the exact boundary). A's ACK
// of the cookie SYN+ACK is held in flight for the delay.
func TestSynCookieLifetime(t *testing.T) {
	for _, tc := range []struct {
		start, delay time.Duration
		accepted     bool
	}{
		{1000*cookiePeriod - 10*time.Millisecond, 20 * time.Millisecond, true}, // across a tick
		{1000*cookiePeriod + time.Second, cookiePeriod - 2*time.Second, true},  // late in the next period
		{1000*cookiePeriod - time.Second, cookiePeriod - 2*time.Second, true},  // a period later, across a tick
		{1000*cookiePeriod + time.Second, 2*cookiePeriod + time.Second, false}, // expired
		{1000 * cookiePeriod, 2*cookiePeriod - time.Millisecond, true},         // the next period's last instant
		{1000 * cookiePeriod, 2 * cookiePeriod, false},                         // the one after's first
	} {
		cfg := testCfg()
		cfg.SYNCookies, cfg.UserTimeout = true, time.Hour
		cfg.MSL = 3 * cookiePeriod // the ACK may stay in flight that long
		w := NewWorld(Options{Config: cfg, Start: tc.start})
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Deliver(simnet.A, 0) // the SYN: a cookie SYN+ACK
		w.Deliver(simnet.B, 0) // A: ESTABLISHED, its ACK in flight
		w.AdvanceBy(tc.delay)
		if err := w.Err(); err != nil {
			t.Fatalf("start %v, ACK after %v: %v", tc.start, tc.delay, err)
		}
		w.Deliver(simnet.A, 0)
		if err := w.Err(); err != nil {
			t.Fatalf("start %v, ACK after %v: %v\n%s", tc.start, tc.delay, err, w.Trace())
		}
		if got := w.State(simnet.B) == machine.StateEstablished; got != tc.accepted {
			t.Fatalf("start %v, cookie's ACK after %v: B in %v; want the connection made: %v\n%s", tc.start, tc.delay, w.State(simnet.B), tc.accepted, w.Trace())
		}
	}
}

// TestSynCookieTimestampsLater: a connection made by a cookie, with
// timestamps, takes TS.Recent from the first text that follows (RFC 7323
// 4.3: the segment starts at Last.ACK.sent, which the cookie's ACK set),
// for ISNs anywhere in the sequence space (keys chosen so that some are
// far from the wrap); invariant 39 judges every step too.
func TestSynCookieTimestampsLater(t *testing.T) {
	for key := byte(1); key <= 6; key++ {
		cfg := testCfg()
		cfg.ISNKey = [16]byte{key}
		cfg.SYNCookies = true
		w := NewWorld(Options{Config: cfg})
		w.Listen(simnet.B)
		w.Connect(simnet.A)
		w.Deliver(simnet.A, 0) // the SYN: a cookie SYN+ACK
		w.Deliver(simnet.B, 0) // A: ESTABLISHED, its ACK in flight
		w.Deliver(simnet.A, 0) // the cookie's ACK: B ESTABLISHED
		if w.State(simnet.B) != machine.StateEstablished || !w.Net().Conn(simnet.B).Vars().Opts.Has(machine.OptTimestamps) {
			t.Fatalf("key %d: B in %v with options %v; want ESTABLISHED by a cookie with timestamps\n%s", key, w.State(simnet.B), w.Net().Conn(simnet.B).Vars().Opts, w.Trace())
		}
		w.AdvanceBy(10 * time.Millisecond) // A's clock moves: its next TSval is new
		w.Write(simnet.A, 3)
		text := w.Net().Link(simnet.A)
		if len(text) != 1 {
			t.Fatalf("key %d: A sent %d segments for 3 bytes", key, len(text))
		}
		tsval := text[0].Seg.TSVal
		w.Deliver(simnet.A, 0)
		if err := w.Err(); err != nil {
			t.Fatalf("key %d: %v", key, err)
		}
		if got := w.Net().Conn(simnet.B).Vars().TSRecent; got != tsval {
			t.Fatalf("key %d: B's TS.Recent %d after A's text with TSval %d (ISN %d)", key, got, tsval, w.Net().Conn(simnet.B).Vars().IRS)
		}
	}
}

// TestSynCookieForgeries: a listener with SYN cookies gets a SYN, then
// the ACK of its cookie with one hashed field altered (the MSS bits, the
// ISN it answers, the counter, the option bits or the hash itself),
// which it must refuse, then the real ACK, which makes the connection;
// with and without options (invariant 43 judges every step).
func TestSynCookieForgeries(t *testing.T) {
	for alt := uint32(0); alt < 5; alt++ {
		for opts := uint32(0); opts < 3; opts++ {
			// k%5 == 4 selects the exchange, k/5 the altered field,
			// k%3 the SYN's options (cookieExchange).
			k := uint32(4)
			for k/5%5 != alt || k%3 != opts {
				k += 5
			}
			cfg := testCfg()
			cfg.SYNCookies = true
			w := NewWorld(Options{Config: cfg})
			w.Listen(simnet.B)
			w.Inject(simnet.B, ForgedCookie, k)
			if err := w.Err(); err != nil {
				t.Fatalf("k=%d: %v", k, err)
			}
			if st := w.State(simnet.B); st != machine.StateEstablished {
				t.Fatalf("k=%d: B in %v after the cookie's ACK, want ESTABLISHED\n%s", k, st, w.Trace())
			}
		}
	}
}

// TestSynCookieNoMSSOption: a SYN without an MSS option answered by a
// cookie gives the connection the MSS RFC 9293 3.7.1 assumes, 536, as a
// SYN carrying 536 would (invariant 43 checks it on the way).
func TestSynCookieNoMSSOption(t *testing.T) {
	cfg := testCfg()
	cfg.MSS, cfg.RcvBuf, cfg.SndBuf, cfg.SYNCookies = 1460, 9000, 10000, true
	w := NewWorld(Options{Config: cfg})
	w.Listen(simnet.B)
	w.Inject(simnet.B, ForgedCookie, 14) // a SYN with no MSS option or other options, then its cookie's ACK
	if err := w.Err(); err != nil {
		t.Fatalf("%v\n%s", err, w.Trace())
	}
	if st := w.State(simnet.B); st != machine.StateEstablished {
		t.Fatalf("B in %v after the cookie's ACK, want ESTABLISHED\n%s", st, w.Trace())
	}
	if got, want := w.Net().Conn(simnet.B).Vars().MSS, cookieConnMSS(&cfg, 0); got != want || want != 536 {
		t.Fatalf("B's send MSS %d, want %d (536: no MSS option)", got, want)
	}
}
