package proptest

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// Chooser makes the choices of a run: rapid's draws in property tests (so
// that rapid can shrink a failure), a seeded generator in coverage runs.
type Chooser interface {
	// Intn returns a number in [0, n); n > 0. label names the choice.
	Intn(label string, n int) int
}

// SeededChooser is a Chooser from a seeded PCG: the same seed, the same run.
type SeededChooser struct{ r *rand.Rand }

// NewSeededChooser returns a Chooser seeded with seed.
func NewSeededChooser(seed uint64) *SeededChooser {
	return &SeededChooser{r: rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))}
}

// Intn implements Chooser.
func (c *SeededChooser) Intn(_ string, n int) int { return c.r.IntN(n) }

// An Action is one kind of move. It reports false when it does not apply
// in the current state (rapid then draws another).
type Action func(w *World, c Chooser) bool

// actions are the moves of the property tests, by name: application calls
// on either side, network faults, time passing and hostile segments. It is
// read only.
var actions = map[string]Action{
	"open":        actOpen,
	"write":       actWrite,
	"read":        actRead,
	"close":       actClose,
	"deliver":     actDeliver,
	"deliver_any": actDeliverAny,
	"drop":        actDrop,
	"duplicate":   actDuplicate,
	"advance":     actAdvance,
	"idle":        actIdle,
	"inject":      actInject,
	"nodelay":     actNoDelay,
	"keepalive":   actKeepAlive,
}

// pick chooses one of the sides for which ok holds; it draws nothing and
// reports false when there is none, so that rapid can skip the action
// cheaply.
func pick(c Chooser, ok func(simnet.Side) bool) (simnet.Side, bool) {
	a, b := ok(simnet.A), ok(simnet.B)
	switch {
	case a && b:
		return simnet.Side(c.Intn("side", 2)), true
	case a:
		return simnet.A, true
	case b:
		return simnet.B, true
	}
	return 0, false
}

func actOpen(w *World, c Chooser) bool {
	s, ok := pick(c, w.canOpen)
	if !ok {
		return false
	}
	if c.Intn("passive", 2) == 1 {
		return w.Listen(s)
	}
	return w.Connect(s)
}

func actWrite(w *World, c Chooser) bool {
	s, ok := pick(c, func(s simnet.Side) bool { return w.side[s].opens > 0 })
	if !ok {
		return false
	}
	// Up to 20 bytes, or half the send buffer when that is larger, so that
	// big buffers grow their rings past the first allocation.
	w.Write(s, 1+c.Intn("len", max(20, w.cfg.SndBuf/2)))
	return true
}

func actNoDelay(w *World, c Chooser) bool {
	s, ok := pick(c, func(s simnet.Side) bool { return w.side[s].opens > 0 })
	if !ok {
		return false
	}
	on := c.Intn("on", 2) == 1
	// Text Nagle holds back goes out at the connection's next event, which
	// may be one that must change nothing (a challenge ACK's): turn Nagle
	// off only with nothing held.
	if v := w.conn(s).Vars(); on && v.SndQueued > int(v.SndNxt-v.SndUna) {
		return false
	}
	w.SetNoDelay(s, on)
	return true
}

func actKeepAlive(w *World, c Chooser) bool {
	s, ok := pick(c, func(s simnet.Side) bool { return w.side[s].opens > 0 })
	if !ok {
		return false
	}
	w.SetKeepAlive(s, machine.KeepAlive{Enable: c.Intn("enable", 2) == 1, Idle: time.Second, Interval: 300 * time.Millisecond, Count: 1 + c.Intn("count", 2)})
	return true
}

func actRead(w *World, c Chooser) bool {
	s, ok := pick(c, func(s simnet.Side) bool {
		// RECEIVE in LISTEN, which no rule takes, must be refused
		// (invariant 30).
		return w.conn(s).Readable() > 0 || (w.conn(s).PeerClosed() && !w.side[s].eof) || w.State(s) == machine.StateListen
	})
	if !ok {
		return false
	}
	// Now and then an empty buffer: RECEIVE must return 0 bytes and no
	// end of data (invariant 32).
	w.Read(s, c.Intn("max", max(24, w.cfg.RcvBuf/4)+1))
	return true
}

func actClose(w *World, c Chooser) bool {
	// Closing twice, or aborting after a close, is allowed: the machine
	// must refuse or honour it (closing_close, late_abort).
	s, ok := pick(c, func(s simnet.Side) bool {
		return w.side[s].opens > 0 && (!w.side[s].closed || w.State(s) != machine.StateClosed)
	})
	if !ok {
		return false
	}
	if c.Intn("abort", 6) == 0 {
		w.Abort(s)
	} else {
		w.Close(s)
	}
	return true
}

func pickLink(w *World, c Chooser) (simnet.Side, bool) {
	return pick(c, func(s simnet.Side) bool { return len(w.net.Link(s)) > 0 })
}

func actDeliver(w *World, c Chooser) bool {
	from, ok := pickLink(w, c)
	return ok && w.Deliver(from, 0)
}

func actDeliverAny(w *World, c Chooser) bool {
	from, ok := pickLink(w, c)
	return ok && w.Deliver(from, c.Intn("index", len(w.net.Link(from))))
}

func actDrop(w *World, c Chooser) bool {
	from, ok := pickLink(w, c)
	return ok && w.Drop(from, c.Intn("index", len(w.net.Link(from))))
}

func actDuplicate(w *World, c Chooser) bool {
	if w.net.InFlight() >= 16 {
		return false
	}
	from, ok := pickLink(w, c)
	return ok && w.Duplicate(from, c.Intn("index", len(w.net.Link(from))))
}

func actAdvance(w *World, _ Chooser) bool { return w.Advance() }

// idleSpans are the silences of actIdle: either side of RFC 7323 5.5's 24
// days, after which TS.Recent is invalid, and past 2^31 ms (24.86 days),
// after which a peer's timestamps look older than TS.Recent.
var idleSpans = [...]time.Duration{23*24*time.Hour + 12*time.Hour, 24*24*time.Hour + 12*time.Hour, 24*24*time.Hour + 22*time.Hour, 26 * 24 * time.Hour}

// actIdle lets weeks pass while neither side has a timer armed (an idle
// connection without keepalive, or none at all), then now and then
// injects an old duplicate.
func actIdle(w *World, c Chooser) bool {
	for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
		if _, armed := w.net.Conn(s).NextDeadline(); armed {
			return false
		}
	}
	w.AdvanceBy(idleSpans[c.Intn("idle", len(idleSpans))])
	if to := simnet.Side(c.Intn("stale_to", 2)); c.Intn("stale", 2) == 1 && isSync(w.State(to)) {
		// Then an old duplicate: PAWS drops it if TS.Recent is still
		// valid, takes it if 24 days have passed (RFC 7323 5.5).
		w.Inject(to, OldTimestamp, uint32(c.Intn("k", 1000)))
	}
	return true
}

func actInject(w *World, c Chooser) bool {
	to, ok := pick(c, func(s simnet.Side) bool { return w.side[s].streams < maxStreams-4 })
	if !ok {
		return false
	}
	w.Inject(to, Hostile(c.Intn("kind", int(numHostile))), uint32(c.Intn("k", 1000)))
	return true
}

// actionNames lists actions' keys in a fixed order.
func actionNames() []string {
	names := make([]string, 0, len(actions))
	for name := range actions {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// RandomWalk plays n moves chosen by c (skipping moves that do not apply)
// and returns the first violation.
func (w *World) RandomWalk(c Chooser, n int) error {
	names := actionNames()
	for i := 0; i < n && w.err == nil; i++ {
		for try := 0; try < 20; try++ {
			if actions[names[c.Intn("action", len(names))]](w, c) {
				break
			}
		}
	}
	return w.err
}
