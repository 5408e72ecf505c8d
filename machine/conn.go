package machine

import (
	"errors"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/cc"
)

// Errors a Conn reports to its application. The runtime maps them onto
// net.Conn errors; tests compare with errors.Is.
var (
	ErrReset          = errors.New("connection reset by peer")
	ErrRefused        = errors.New("connection refused")
	ErrTimeout        = errors.New("connection timed out")
	ErrClosing        = errors.New("connection closing")
	ErrNotExist       = errors.New("connection does not exist")
	ErrAborted        = errors.New("connection aborted")
	ErrIllegalInState = errors.New("call not valid in this state")
)

// Tuple identifies a connection: RFC 9293 calls it the socket pair.
type Tuple struct {
	LocalAddr  netip.Addr
	LocalPort  uint16
	RemoteAddr netip.Addr
	RemotePort uint16
}

// Observer is told of every transition a Conn takes, including the ones
// that keep the state. It must not call back into the Conn.
type Observer interface {
	Transition(c *Conn, from State, ev Event, rule Rule, to State)
}

// StepFunc is the dispatcher's signature. Conns use Step unless a test
// substitutes a mutated table.
type StepFunc func(State, Event, Actions) (State, Rule)

// Config is shared by every Conn of one stack. Zero fields take the defaults
// in parentheses.
type Config struct {
	MSS              uint16        // our MSS, advertised on SYNs (1460)
	MinPeerMSS       uint16        // floor on the peer's MSS option (216, FreeBSD's net.inet.tcp.minmss; Linux uses 48)
	RcvBuf           int           // receive buffer, bytes (1 MiB); the advertised window is its free space; storage grows with use
	SndBuf           int           // send buffer, bytes (256 KiB)
	MSL              time.Duration // maximum segment lifetime; TIME-WAIT lasts 2*MSL (30 s)
	InitialRTO       time.Duration // RTO before any RTT sample (1 s, RFC 6298 2.1)
	MinRTO           time.Duration // lower bound on the RTO (200 ms)
	MaxRTO           time.Duration // upper bound on the RTO (60 s)
	Granularity      time.Duration // clock granularity G of RFC 6298 (1 ms)
	UserTimeout      time.Duration // abort when data stays unacknowledged this long (5 min)
	HandshakeTimeout time.Duration // abort a handshake (SYN-SENT, SYN-RECEIVED) not done this long after the open; at most UserTimeout (75 s, BSD's connection-establishment timer)
	FinWait2         time.Duration // give up on a peer that never sends its FIN (60 s)
	ChallengeACKs    int           // challenge ACKs per connection per second (10, RFC 5961 7); negative: unlimited
	RFC1337          bool          // ignore RST in TIME-WAIT
	NoWindowScale    bool          // do not offer or accept window scaling (RFC 7323 2)
	NoTimestamps     bool          // do not offer or accept timestamps (RFC 7323 3)
	NoSACK           bool          // do not offer or accept SACK (RFC 2018)
	WindowShift      uint8         // offer at least this window scale (at most 14); the shift offered also covers RcvBuf
	DelayedACK       time.Duration // how long the ACK of in-order text may wait (40 ms; at most 500 ms, RFC 9293 3.8.6.3); negative: ACK every segment at once
	QuickACKs        int           // ACK the first this many data segments at once (16, as Linux); negative: none
	NoDelay          bool          // Nagle's algorithm off for new connections (Conn.SetNoDelay changes it per connection)
	KeepAlive        KeepAlive     // keepalive probes for new connections (off; Conn.SetKeepAlive changes it per connection)
	Congestion       cc.Algorithm  // congestion control: cc.CUBIC (the default, RFC 9438) or cc.Reno (RFC 5681)
	SYNCookies       bool          // answer every SYN at a listener with a SYN cookie, keeping no state (RFC 4987 3.6); a runtime turns cookies on per listener when its queue is full (Conn.SetSynCookies)
	ISNKey           [16]byte      // per-stack secret for RFC 9293 3.4.1 ISNs; random per stack
	Observer         Observer      // optional
	Step             StepFunc      // optional; nil means Step
}

// The Conn API (implemented in conn.go / tcb*.go; this list is the contract
// the simulator, the checker and tunnet code against):
//
//	func NewConn(cfg *Config, t Tuple) *Conn           // state CLOSED, no TCB yet
//	func (c *Conn) Reset(cfg *Config, t Tuple)         // reuse a Conn (pools); same as NewConn
//	func (c *Conn) State() State
//	func (c *Conn) Tuple() Tuple
//	func (c *Conn) Vars() Vars                         // RFC 9293 3.3.1 variables, for tests/observers
//	// Application calls; each steps the machine with its user event.
//	func (c *Conn) Listen(now time.Duration) error                     // open_passive
//	func (c *Conn) Connect(now time.Duration) error                    // open_active
//	func (c *Conn) Write(now time.Duration, p []byte) (int, error)     // send: copies what fits in the send buffer
//	func (c *Conn) Read(now time.Duration, p []byte) (int, error)      // receive: io.EOF after the peer's FIN
//	func (c *Conn) Close(now time.Duration) error                      // close (half-close: FIN after queued data)
//	func (c *Conn) Abort(now time.Duration)                            // abort
//	// Network and time.
//	func (c *Conn) Classify(seg *Segment) Event                        // RFC 9293 3.10.7 order
//	func (c *Conn) Input(now time.Duration, seg *Segment) Rule         // classify + Step
//	func (c *Conn) Tick(now time.Duration)                             // fire due timers (rexmt, 2msl, user, fin-wait-2)
//	func (c *Conn) NextDeadline() (time.Duration, bool)
//	// Output: segments to send, in order. Payloads alias the send buffer and
//	// stay valid until the next call into the Conn; the caller copies or
//	// encodes them, then calls ClearOutbox.
//	func (c *Conn) Outbox() []Segment
//	func (c *Conn) ClearOutbox()
//	// Status for the runtime's wakeups.
//	func (c *Conn) Readable() int; Writable() int; PeerClosed() bool; Err() error
//	func (c *Conn) SetAcceptIncarnation(ok bool)       // a listener exists: TIME-WAIT may take a new SYN (RFC 6191)
//
// Additions (tcb.go, key.go, isn.go):
//
//	func (c *Conn) Config() *Config
//	func (c *Conn) CopyTo(dst *Conn)                   // deep copy for the checker; no allocation once dst is warm
//	func (c *Conn) CopyStateTo(dst *Conn)              // the same, dst keeping its own Config
//	func (c *Conn) AppendKey(b []byte) []byte          // canonical state encoding (time left out)
//	func ISN(key *[16]byte, t Tuple, now time.Duration) uint32 // RFC 9293 3.4.1 generator
//	// and the Actions methods (guards and actions of the spec), which only Step should call.

// Defaults of Config's zero fields.
const (
	DefaultMSS              = 1460
	DefaultRcvBuf           = 1 << 20
	DefaultSndBuf           = 256 << 10
	DefaultMSL              = 30 * time.Second
	DefaultInitialRTO       = time.Second
	DefaultMinRTO           = 200 * time.Millisecond
	DefaultMaxRTO           = 60 * time.Second
	DefaultGranularity      = time.Millisecond
	DefaultUserTimeout      = 5 * time.Minute
	DefaultHandshakeTimeout = 75 * time.Second
	DefaultFinWait2         = 60 * time.Second
	DefaultChallengeACKs    = 10
	// DefaultPeerMSS is the send MSS when the peer's SYN carries no MSS
	// option (RFC 9293 3.7.1).
	DefaultPeerMSS = 536
	// DefaultMinPeerMSS is the floor on the peer's MSS option.
	DefaultMinPeerMSS = 216
	// maxBuf bounds RcvBuf and SndBuf so windows stay far inside the
	// 2^31 sequence half-space.
	maxBuf = 1 << 30
)

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func orBuf(v, def int) int {
	if v <= 0 {
		return def
	}
	return min(v, maxBuf)
}

func (c *Config) mss() uint16 {
	if c.MSS == 0 {
		return DefaultMSS
	}
	return c.MSS
}
func (c *Config) minPeerMSS() uint16 {
	if c.MinPeerMSS == 0 {
		return DefaultMinPeerMSS
	}
	return c.MinPeerMSS
}
func (c *Config) rcvBuf() int                { return orBuf(c.RcvBuf, DefaultRcvBuf) }
func (c *Config) sndBuf() int                { return orBuf(c.SndBuf, DefaultSndBuf) }
func (c *Config) msl() time.Duration         { return orDur(c.MSL, DefaultMSL) }
func (c *Config) initialRTO() time.Duration  { return orDur(c.InitialRTO, DefaultInitialRTO) }
func (c *Config) minRTO() time.Duration      { return orDur(c.MinRTO, DefaultMinRTO) }
func (c *Config) maxRTO() time.Duration      { return max(orDur(c.MaxRTO, DefaultMaxRTO), c.minRTO()) }
func (c *Config) granularity() time.Duration { return orDur(c.Granularity, DefaultGranularity) }
func (c *Config) userTimeout() time.Duration { return orDur(c.UserTimeout, DefaultUserTimeout) }
func (c *Config) finWait2() time.Duration    { return orDur(c.FinWait2, DefaultFinWait2) }
func (c *Config) handshakeTimeout() time.Duration {
	return orDur(c.HandshakeTimeout, DefaultHandshakeTimeout)
}

// userTimeout is the user timeout to arm now: UserTimeout, bounded by
// HandshakeTimeout while our SYN is unacknowledged (SYN-SENT,
// SYN-RECEIVED). It keys on the SYN, not the state, because the send_syn
// and send_synack actions arm the timer before the transition lands.
func (c *Conn) userTimeout() time.Duration {
	if !c.t.synAcked {
		return min(c.cfg.userTimeout(), c.cfg.handshakeTimeout())
	}
	return c.cfg.userTimeout()
}

func (c *Config) challengeACKs() int {
	if c.ChallengeACKs == 0 {
		return DefaultChallengeACKs
	}
	return c.ChallengeACKs
}

// Conn is one TCP connection: its state, its TCB (RFC 9293 3.3.1) and its
// buffers. It implements Actions, so the generated Step drives it; every
// entry point (a user call, Input, Tick) sets the current event's context,
// steps the machine, sends what became sendable, tells the Observer and
// returns. A Conn does no I/O, reads no clock, starts no goroutine and takes
// no lock: callers serialize calls per Conn.
type Conn struct {
	cfg   *Config
	tuple Tuple
	state State
	err   error // what the application is told: ErrReset, ErrRefused, ...

	acceptIncarnation bool // a listener exists (RFC 6191)
	synCookies        bool // the runtime asks for SYN cookies (cookie.go)

	t   tcb  // the TCB proper; delete_tcb zeroes it
	snd ring // unacknowledged and unsent data, from t.sndBufSeq
	rcv ring // readable data, then room for out-of-order text

	outbox []Segment
	count  Counters // since NewConn or Reset (delete_tcb keeps them)

	// The current event's context, valid during one entry point.
	now        time.Duration
	ev         Event
	in         Segment   // the arriving segment (Input only)
	seg        *Segment  // &in during Input, else nil
	view       segView   // seg trimmed to the window (synchronized states)
	ubuf       []byte    // the user's buffer (Write, Read)
	un         int       // bytes the user call moved
	callErr    error     // the user call's error (err_closing, io.EOF)
	ackPending bool      // an ACK must go out before the entry point returns
	noDelay    bool      // Nagle's algorithm is off (SetNoDelay)
	ka         KeepAlive // keepalive (SetKeepAlive), defaults filled in
	sackOwed   bool      // new SACK information: a pure ACK must carry it (data segments carry no blocks)
}

var _ Actions = (*Conn)(nil)

// NewConn returns a CLOSED Conn with no TCB. cfg is shared, not copied; nil
// means all defaults.
func NewConn(cfg *Config, t Tuple) *Conn {
	c := &Conn{}
	c.Reset(cfg, t)
	return c
}

// Reset makes c as NewConn(cfg, t) would, keeping its buffers' storage.
func (c *Conn) Reset(cfg *Config, t Tuple) {
	if cfg == nil {
		cfg = &Config{}
	}
	snd, rcv, out := c.snd, c.rcv, c.outbox
	ooo, sacked := c.t.ooo, c.t.sacked
	*c = Conn{cfg: cfg, tuple: t, noDelay: cfg.NoDelay, ka: cfg.KeepAlive.withDefaults()}
	snd.empty()
	rcv.empty()
	ooo.clear()
	sacked.clear()
	c.snd, c.rcv = snd, rcv
	c.t.ooo, c.t.sacked = ooo, sacked
	if out == nil {
		out = make([]Segment, 0, 4)
	}
	c.outbox = out[:0]
}

// State is the connection's state.
func (c *Conn) State() State { return c.state }

// Tuple is the connection's socket pair.
func (c *Conn) Tuple() Tuple { return c.tuple }

// Config is the Config the Conn runs with.
func (c *Conn) Config() *Config { return c.cfg }

// Err is the error the connection ended with (ErrReset, ErrRefused,
// ErrTimeout), or nil.
func (c *Conn) Err() error { return c.err }

// SetAcceptIncarnation says whether a listener exists on the local port, so
// that a SYN arriving in TIME-WAIT may open a new incarnation (RFC 6191).
func (c *Conn) SetAcceptIncarnation(ok bool) { c.acceptIncarnation = ok }

// Readable is the number of bytes Read can return now.
func (c *Conn) Readable() int { return c.rcv.n }

// Writable is the number of bytes Write can accept now: the free space of
// the send buffer while SEND is allowed, else 0.
func (c *Conn) Writable() int {
	switch c.state {
	case StateListen, StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		return c.cfg.sndBuf() - c.snd.n
	}
	return 0
}

// PeerClosed reports whether the peer's FIN has been accepted: once the
// readable bytes are consumed, Read returns io.EOF.
func (c *Conn) PeerClosed() bool { return c.t.finRcvd }

// Counters are what a Conn did since NewConn or Reset, for a runtime's
// statistics: they survive delete_tcb, so a caller can take the difference
// after each call.
type Counters struct {
	Retransmits   uint64 // segments sent again: by timeout, fast retransmit or partial ACK (sequence space resent)
	ChallengeACKs uint64 // RFC 5961 challenge ACKs sent
	Timeouts      uint64 // retransmission timeouts with text outstanding (loss, not a zero-window probe)
	FastRecovery  uint64 // fast retransmits: recoveries begun by duplicate ACKs or SACK (RFC 5681 3.2, RFC 6675)
}

// Counters returns the Conn's counters.
func (c *Conn) Counters() Counters { return c.count }

// Footprint is the storage the Conn's send and receive buffers hold, in
// bytes: at most SndBuf and RcvBuf, whatever its peers send.
func (c *Conn) Footprint() (snd, rcv int) { return cap(c.snd.buf), cap(c.rcv.buf) }

// Outbox is the segments to send, oldest first. Their payloads alias the
// send buffer: they stay valid until the next call into the Conn. The caller
// copies or encodes them, then calls ClearOutbox.
func (c *Conn) Outbox() []Segment { return c.outbox }

// ClearOutbox empties the outbox, keeping its storage.
func (c *Conn) ClearOutbox() {
	clear(c.outbox)
	c.outbox = c.outbox[:0]
}

// NextDeadline is the earliest armed timer's deadline; false when no timer
// is armed (always so in CLOSED).
func (c *Conn) NextDeadline() (time.Duration, bool) {
	_, at, ok := c.t.next()
	return at, ok
}

// Listen is a passive OPEN (open_passive).
func (c *Conn) Listen(now time.Duration) error {
	if c.state == StateClosed {
		c.err = nil
	}
	_, err := c.call(now, EventOpenPassive, nil)
	return err
}

// Connect is an active OPEN (open_active): it sends the SYN.
func (c *Conn) Connect(now time.Duration) error {
	if c.state == StateClosed {
		c.err = nil
	}
	_, err := c.call(now, EventOpenActive, nil)
	return err
}

// Write is SEND: it copies as much of p as fits in the send buffer and sends
// what the peer's window allows. It returns the bytes copied, possibly fewer
// than len(p) (even 0 when the buffer is full: wait for Writable).
func (c *Conn) Write(now time.Duration, p []byte) (int, error) {
	return c.call(now, EventSend, p)
}

// Read is RECEIVE: it copies readable bytes into p. It returns (0, nil) when
// nothing is readable yet and (0, io.EOF) once the peer's FIN has been
// consumed and no bytes remain.
func (c *Conn) Read(now time.Duration, p []byte) (int, error) {
	return c.call(now, EventReceive, p)
}

// Close is CLOSE: no more data will be sent; a FIN follows the queued data
// (a half-close: Read still works until the peer's FIN).
func (c *Conn) Close(now time.Duration) error {
	_, err := c.call(now, EventClose, nil)
	return err
}

// Abort is ABORT: the connection is dropped at once (with a RST when it was
// synchronized).
func (c *Conn) Abort(now time.Duration) {
	c.call(now, EventAbort, nil)
}

// advance sets the connection's clock to now, never back: a runtime's
// loops may read the clock in one order and call in the other, and what
// the connection sends must not go back in time (RFC 7323 5.4: TSval
// never decreases, or the peer's PAWS drops the later segment).
func (c *Conn) advance(now time.Duration) {
	if now > c.now {
		c.now = now
	}
}

// call runs a user event. A call no rule accepts fails with ErrNotExist in
// CLOSED and ErrIllegalInState elsewhere.
func (c *Conn) call(now time.Duration, ev Event, p []byte) (int, error) {
	c.advance(now)
	c.seg, c.ubuf, c.un, c.callErr = nil, p, 0, nil
	rule := c.step(ev)
	n, err := c.un, c.callErr
	c.ubuf, c.callErr = nil, nil
	if rule == RuleNone {
		if c.state == StateClosed {
			return 0, ErrNotExist
		}
		return 0, ErrIllegalInState
	}
	return n, err
}

// Input processes an arriving segment: Classify, then Step. It returns the
// rule that handled it (RuleNone: none did and the segment was dropped).
// seg is not retained.
func (c *Conn) Input(now time.Duration, seg *Segment) Rule {
	if seg == nil {
		return RuleNone
	}
	// Work on a copy: keeping the caller's pointer would make every
	// caller's Segment escape to the heap.
	c.in = *seg
	c.advance(now)
	c.seg = &c.in
	ev := c.classify(c.seg, &c.view)
	switch ev {
	case EventRcvUnacceptable, EventRcvRst, EventRcvSyn:
	case EventRcvSynack:
		c.keepaliveHeard()
	default:
		c.noteTimestamp(c.seg)
		c.keepaliveHeard()
	}
	rule := c.step(ev)
	c.seg, c.in, c.view = nil, Segment{}, segView{}
	return rule
}

// Tick fires every timer due at now (retransmission, 2*MSL, user timeout,
// FIN-WAIT-2), earliest first, each through Step.
func (c *Conn) Tick(now time.Duration) {
	c.advance(now)
	c.seg = nil
	// Each firing re-arms only into the future, so this ends; the bound is
	// a guard against a broken Config.Step.
	for i := 0; i < 4*int(numTimers); i++ {
		k, at, ok := c.t.next()
		if !ok || at > now {
			return
		}
		c.t.disarm(k)
		c.step(timerEvents[k])
	}
}

// step runs the dispatcher on ev, then sends what the event made sendable
// and tells the observer.
func (c *Conn) step(ev Event) Rule {
	from := c.state
	c.ev = ev
	to, rule := c.dispatch(from, ev)
	c.state = to
	c.output()
	if o := c.cfg.Observer; o != nil {
		o.Transition(c, from, ev, rule, to)
	}
	return rule
}

// Vars are the RFC 9293 3.3.1 variables and a few more, for invariant
// checks and observers.
type Vars struct {
	SndUna, SndNxt, SndWnd, SndWl1, SndWl2, ISS uint32
	RcvNxt, RcvWnd, IRS                         uint32
	MaxSndWnd                                   uint32        // MAX.SND.WND of RFC 5961
	MSS                                         uint16        // effective send MSS: the text a segment carries at most (the peer's MSS, ours, less the timestamps option)
	RTO                                         time.Duration // the RTO the next (re)transmission arms
	Passive                                     bool          // the open was passive
	FinSent, FinAcked, FinRcvd                  bool          // our FIN sent / acknowledged; the peer's accepted
	FinSeq                                      uint32        // our FIN's sequence number, once queued
	SynAcked                                    bool          // our SYN is acknowledged (SND.UNA > ISS)
	SndQueued                                   int           // bytes in the send buffer (unacknowledged + unsent)
	RcvQueued                                   int           // readable bytes
	Backoff                                     int           // retransmission timeouts since the last RTT sample
	ACKBudgetSpent                              bool          // no challenge or duplicate ACK may be sent this second
	SRTT, RTTVar                                time.Duration // RFC 6298 estimators (0 before the first sample)
	RTTSamples                                  uint32        // valid RTT samples taken (Karn: segments sent once)
	LastRTT                                     time.Duration // the latest sample
	RcvHeldEnd                                  uint32        // end of the out-of-order text held past RCV.NXT (RCV.NXT when none)
	RcvHeldRanges                               int           // disjoint out-of-order ranges held
	PeerFinHeld                                 bool          // the peer's FIN arrived out of order and waits for the text before it
	PeerFinSeq                                  uint32        // its sequence number, while held
	RexmtArmed                                  bool          // the retransmission (and persist) timer runs
	RexmtAt                                     time.Duration // and expires then
	Opts                                        Opts          // options on for the connection (both SYNs carried them)
	SndShift, RcvShift                          uint8         // window scales: the peer's (applied to windows received), ours
	TSRecent                                    uint32        // TS.Recent (RFC 7323 4.3), with timestamps on
	SACKedRanges                                int           // ranges in the send side's SACK scoreboard
	CCState                                     cc.State      // the congestion control machine's state (spec/cc.yaml)
	Cwnd, Ssthresh                              uint32        // its congestion window and slow start threshold, bytes
	DupAcks                                     int           // duplicate ACKs in a row (RFC 5681 2)
	Quota                                       uint32        // text the sender may still put in flight: min(cwnd, SND.WND) less FlightSize (or RFC 6675's pipe in recovery), with limited transmit
	Recover                                     uint32        // RFC 6582's recovery point: SND.NXT - 1 when the last loss event began
	RecoverSet                                  bool          // a loss event set Recover
	HighRxt                                     uint32        // RFC 6675 HighRxt: the end of what the current recovery resent
	PassNxt                                     uint32        // SND.NXT at the current pass's latest resend (machine/recovery.go's lostAgain)
}

// Holds reports whether every byte of [start, end) has been received:
// delivered in order (below RCV.NXT, from IRS+1 on) or held out of order.
func (c *Conn) Holds(start, end uint32) bool {
	t := &c.t
	if !t.irsValid || SeqGEQ(start, end) {
		return t.irsValid
	}
	if SeqLT(start, t.irs+1) {
		return false
	}
	if SeqLEQ(end, t.rcvNxt) {
		return true
	}
	if SeqLT(start, t.rcvNxt) {
		start = t.rcvNxt
	}
	for i := 0; i < t.ooo.n; i++ {
		r := t.ooo.r[i]
		if SeqLEQ(r.start, start) && SeqLEQ(end, r.end) {
			return true
		}
	}
	return false
}

// HeldRange returns the i-th range [start, end) of out-of-order text held
// beyond RCV.NXT, in sequence order, for 0 <= i < Vars().RcvHeldRanges.
func (c *Conn) HeldRange(i int) (start, end uint32) {
	r := c.t.ooo.r[i]
	return r.start, r.end
}

// Vars returns the connection's variables. In CLOSED they are all zero.
func (c *Conn) Vars() Vars {
	t := &c.t
	v := Vars{
		SndUna: t.sndUna, SndNxt: t.sndNxt, SndWnd: t.sndWnd, SndWl1: t.sndWl1, SndWl2: t.sndWl2, ISS: t.iss,
		RcvNxt: t.rcvNxt, IRS: t.irs, MaxSndWnd: t.maxSndWnd, MSS: uint16(c.effMSS()),
		Passive: t.passive, FinSent: t.finSent, FinAcked: t.finAcked, FinRcvd: t.finRcvd, FinSeq: t.finSeq,
		SynAcked: t.synAcked, SndQueued: c.snd.n, RcvQueued: c.rcv.n, Backoff: int(t.rto.backoff),
		ACKBudgetSpent: c.ackBudgetSpent(),
		SRTT:           t.rto.srtt, RTTVar: t.rto.rttvar, RTTSamples: t.rto.samples, LastRTT: t.rto.last,
		RcvHeldEnd: t.rcvNxt + uint32(c.oooExtent()), RcvHeldRanges: t.ooo.n, PeerFinHeld: t.finPending, PeerFinSeq: t.finPendSeq,
		RexmtArmed: t.isArmed(timerRexmt), RexmtAt: t.deadline[timerRexmt],
		Opts: t.opts, SndShift: t.sndShift, RcvShift: t.rcvShift, TSRecent: t.tsRecent, SACKedRanges: t.sacked.n,
		CCState: t.cc.State(), Cwnd: t.cc.Cwnd(), Ssthresh: t.cc.Ssthresh(), DupAcks: t.cc.DupAcks(),
		HighRxt: t.highRxt, PassNxt: t.passNxt,
	}
	v.Recover, v.RecoverSet = t.cc.Recover()
	if t.synAcked {
		v.Quota = c.quota()
	}
	if c.state != StateClosed {
		v.RTO = t.rto.current(c.cfg)
		if t.irsValid {
			v.RcvWnd = c.rcvWindow()
		}
	}
	return v
}
