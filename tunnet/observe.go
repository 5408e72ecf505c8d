package tunnet

import (
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet/header"
)

// Transition is one step of one connection's state machine, as
// [Config.Observer] sees it.
type Transition struct {
	At    time.Duration // when, since the stack started
	Tuple machine.Tuple // the connection (local = this stack)
	From  machine.State
	Event machine.Event
	Rule  machine.Rule // the spec row that fired; RuleNone if none did
	To    machine.State

	// Recv is the segment that caused the transition when Event is a
	// segment event (HasRecv is then true).
	Recv    SegmentInfo
	HasRecv bool

	// Sent lists the segments this stack sent as a result of the call that
	// made the transition (on the last transition of that call). It is
	// only valid during the Observer call.
	Sent []SegmentInfo

	// Scratch is true for the stateless replies to segments that match no
	// connection: the transition of the scratch CLOSED or LISTEN machine
	// that answered them.
	Scratch bool
}

// SegmentInfo is a segment's header fields, for observers.
type SegmentInfo struct {
	Seq, Ack uint32
	Flags    machine.Flags
	Window   uint16 // the window field as on the wire (scaled, unless SYN)
	MSS      uint16
	Opts     machine.Opts // window scale, SACK-permitted, timestamps
	WScale   uint8        // the window scale option's shift (Opts has machine.OptWScale)
	NumSACK  int          // SACK blocks
	Len      int          // payload bytes
}

// segmentInfo describes s as it is (or was) on the wire.
func segmentInfo(s *machine.Segment) SegmentInfo {
	return SegmentInfo{Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Window: s.Window, MSS: s.MSS,
		Opts: s.Opts, WScale: s.WScale, NumSACK: int(s.NumSACK), Len: len(s.Payload)}
}

// Snapshot counts the stack's connections per state, like `ss -tan`.
// Listeners count as LISTEN. Connections that reached CLOSED are gone and
// not counted.
func (s *Stack) Snapshot() map[machine.State]int {
	m := make(map[machine.State]int)
	s.demux.mu.RLock()
	for _, ep := range s.demux.conns {
		m[machine.State(ep.state.Load())]++
	}
	if n := len(s.demux.listeners); n > 0 {
		m[machine.StateListen] += n
	}
	s.demux.mu.RUnlock()
	return m
}

// StateCount is how many connections are in one state and how long the
// oldest of them has been in it.
type StateCount struct {
	N      int
	Oldest time.Duration
}

// States counts the stack's connections per state, with the age of the
// oldest in each (listeners count as LISTEN, with age 0).
func (s *Stack) States() [machine.NumStates]StateCount {
	var out [machine.NumStates]StateCount
	now := s.now()
	s.demux.mu.RLock()
	for _, ep := range s.demux.conns {
		st := machine.State(ep.state.Load())
		c := &out[st]
		c.N++
		c.Oldest = max(c.Oldest, now-time.Duration(ep.since.Load()))
	}
	out[machine.StateListen].N += len(s.demux.listeners)
	s.demux.mu.RUnlock()
	return out
}

// closeWaitLoop warns of connections that stay in CLOSE-WAIT longer than
// Config.CloseWaitWarn, once per stay, checking four times per period.
func (s *Stack) closeWaitLoop() {
	defer s.wg.Done()
	limit := s.cfg.CloseWaitWarn
	t := time.NewTicker(max(limit/4, 10*time.Millisecond))
	defer t.Stop()
	var late []*endpoint
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		now := s.now()
		late = late[:0]
		s.demux.mu.RLock()
		for _, ep := range s.demux.conns {
			if machine.State(ep.state.Load()) == machine.StateCloseWait && now-time.Duration(ep.since.Load()) >= limit && !ep.warned.Load() {
				late = append(late, ep)
			}
		}
		s.demux.mu.RUnlock()
		for _, ep := range late {
			if !ep.warned.CompareAndSwap(false, true) {
				continue
			}
			age := now - time.Duration(ep.since.Load())
			s.cfg.Warn(Warning{
				Kind: "CLOSE-WAIT", Tuple: ep.tuple, State: machine.StateCloseWait, Age: age,
				Msg: "the peer closed " + age.Round(time.Millisecond).String() + " ago and the application has not: did it read EOF and never call Close?",
			})
		}
	}
}

// Stats are the stack's counters. Drops are counted by reason.
type Stats struct {
	PacketsIn, PacketsOut uint64
	BytesIn, BytesOut     uint64

	DecodeErrors    [header.NumReasons]uint64 // packets Decode rejected, by reason
	NotOurs         uint64                    // packets for an address the stack does not own
	NoConn          uint64                    // segments for no connection that did not open one (answered by the CLOSED or LISTEN row)
	BacklogFull     uint64                    // SYNs dropped because a listener's backlog was full of established connections
	HalfOpenEvicted uint64                    // SYN-RECEIVED connections reset to make room in a full backlog for a new SYN or a cookie's ACK
	CookiesSent     uint64                    // SYNs answered with a SYN cookie (RFC 4987 3.6), keeping no state
	CookiesTaken    uint64                    // connections made from an ACK that returned a valid cookie
	FaultDrops      uint64                    // packets the fault injector dropped (both directions)
	ReadErrors      uint64                    // device reads that failed but did not stop the stack
	WriteErrors     uint64                    // device writes that failed (their packets are lost)
	EncodeErrors    uint64                    // segments that could not be encoded (a bug if non-zero)

	Retransmits   uint64 // segments sent again (timeout, fast retransmit, partial ACK)
	ChallengeACKs uint64 // RFC 5961 challenge ACKs sent
	Timeouts      uint64 // retransmission timeouts with text outstanding
	FastRecovery  uint64 // fast retransmits: recoveries begun by duplicate ACKs or SACK
	RSTsSent      uint64 // resets sent (aborts, replies to segments for no connection, ...)
	RSTsRcvd      uint64 // resets received, acceptable or not
}

type counters struct {
	packetsIn, packetsOut atomic.Uint64
	bytesIn, bytesOut     atomic.Uint64
	decode                header.Counters
	notOurs, noConn       atomic.Uint64
	backlogFull           atomic.Uint64
	halfOpenEvicted       atomic.Uint64
	cookiesSent           atomic.Uint64
	cookiesTaken          atomic.Uint64
	readErrors            atomic.Uint64
	writeErrors           atomic.Uint64
	encodeErrors          atomic.Uint64
	retransmits           atomic.Uint64
	challengeACKs         atomic.Uint64
	timeouts              atomic.Uint64
	fastRecovery          atomic.Uint64
	rstSent, rstRcvd      atomic.Uint64
}

// Stats returns the current counters.
func (s *Stack) Stats() Stats {
	c := &s.counters
	st := Stats{
		PacketsIn: c.packetsIn.Load(), PacketsOut: c.packetsOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		DecodeErrors: c.decode.Snapshot(),
		NotOurs:      c.notOurs.Load(), NoConn: c.noConn.Load(),
		BacklogFull: c.backlogFull.Load(), HalfOpenEvicted: c.halfOpenEvicted.Load(),
		CookiesSent: c.cookiesSent.Load(), CookiesTaken: c.cookiesTaken.Load(),
		ReadErrors: c.readErrors.Load(), WriteErrors: c.writeErrors.Load(),
		EncodeErrors: c.encodeErrors.Load(),
		Retransmits:  c.retransmits.Load(), ChallengeACKs: c.challengeACKs.Load(),
		Timeouts: c.timeouts.Load(), FastRecovery: c.fastRecovery.Load(),
		RSTsSent: c.rstSent.Load(), RSTsRcvd: c.rstRcvd.Load(),
	}
	st.FaultDrops = s.faultDrops()
	return st
}
