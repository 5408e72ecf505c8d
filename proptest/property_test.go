package proptest

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tcpfsm/tcpfsm/machine"
)

// rapidChooser draws every choice from rapid, so that rapid can shrink a
// failing run to a short one.
type rapidChooser struct{ t *rapid.T }

func (c rapidChooser) Intn(label string, n int) int { return rapid.IntRange(0, n-1).Draw(c.t, label) }

// drawWorld draws the configuration of one run: RFC 1337 on or off, and
// either a start where A's ISS (and, with no time passed, B's) lies within
// 1000 of 2^32 or an arbitrary clock and key.
func drawWorld(t *rapid.T, base Options) *World {
	cfg := base.Config
	cfg.RFC1337 = rapid.Bool().Draw(t, "rfc1337")
	// Buffers and MSS vary, so that RcvBuf/2 and the MSS (receiver SWS),
	// a window of several segments (fast retransmit) and a buffer smaller
	// than one segment all occur.
	// One run in four has buffers above the rings' first 4 KiB, so that
	// they grow while holding data; one in eight a receive buffer above
	// 64 KiB, so that a SYN cannot offer it whole (window scaling): one
	// of exactly 65,535 * 2 bytes (shift 1 covers it), one byte more
	// (shift 2), or 1 GiB, the largest (shift 14, the largest).
	if cfg.MSS == 0 && cfg.RcvBuf == 0 && cfg.SndBuf == 0 && rapid.IntRange(0, 3).Draw(t, "big") == 0 {
		cfg.MSS, cfg.RcvBuf, cfg.SndBuf = 1000, 9000, 10000
		if rapid.IntRange(0, 1).Draw(t, "huge") == 0 {
			cfg.RcvBuf = rapid.SampledFrom([]int{80000, 2 * machine.MaxWindow, 2*machine.MaxWindow + 1, 1 << 30}).Draw(t, "huge_rcvbuf")
		}
	}
	if cfg.MSS == 0 {
		cfg.MSS = uint16(rapid.SampledFrom([]int{8, 8, 5, 12}).Draw(t, "mss"))
	}
	if cfg.RcvBuf == 0 {
		cfg.RcvBuf = rapid.SampledFrom([]int{24, 24, 10, 64}).Draw(t, "rcvbuf")
	}
	if cfg.SndBuf == 0 {
		cfg.SndBuf = rapid.SampledFrom([]int{32, 32, 16, 80}).Draw(t, "sndbuf")
	}
	// One run in eight lets the RTO reach past RFC 6298 5.7's 3 s.
	if cfg.MaxRTO == 0 && rapid.IntRange(0, 7).Draw(t, "slow") == 0 {
		cfg.MaxRTO = 5 * time.Second
	}
	// One run in eight bounds the handshake more tightly than the user
	// timeout.
	if cfg.HandshakeTimeout == 0 && rapid.IntRange(0, 7).Draw(t, "quick_handshake") == 0 {
		cfg.HandshakeTimeout = 2 * time.Second
	}
	// Each end offers each option in three runs of four, so both with,
	// both without and either alone all occur; a window scale above what
	// the tiny buffers need makes the scaled windows round.
	drawOptions := func(who string) OptionConfig {
		return OptionConfig{
			NoWindowScale: rapid.IntRange(0, 3).Draw(t, who+"_no_ws") == 0,
			NoTimestamps:  rapid.IntRange(0, 3).Draw(t, who+"_no_ts") == 0,
			NoSACK:        rapid.IntRange(0, 3).Draw(t, who+"_no_sack") == 0,
			WindowShift:   uint8(rapid.SampledFrom([]int{0, 0, 1, 3}).Draw(t, who+"_shift")),
		}
	}
	// ACK policy: delayed ACKs of 40 ms (the default), 200 ms, 1 s (held
	// to RFC 9293's 500 ms) or none; a quick-ACK phase of 2 segments
	// (TestConfig), none, 16 or 1; Nagle on or off.
	cfg.DelayedACK = []time.Duration{0, 200 * time.Millisecond, time.Second, -1}[rapid.IntRange(0, 3).Draw(t, "delack")]
	cfg.QuickACKs = []int{0, -1, 16, 1}[rapid.IntRange(0, 3).Draw(t, "quickacks")]
	cfg.NoDelay = rapid.Bool().Draw(t, "nodelay")
	// SYN cookies for every SYN at a listener in one run of four.
	cfg.SYNCookies = rapid.IntRange(0, 3).Draw(t, "syncookies") == 0
	// Keepalive in one run of four, quick enough to fire in a run.
	// Now and then with a zero field, which takes the default (2 h, 75 s,
	// 9): time in a run jumps to the next deadline, so hours are cheap.
	if rapid.IntRange(0, 3).Draw(t, "keepalive") == 0 {
		cfg.KeepAlive = machine.KeepAlive{Enable: true, Idle: 2 * time.Second, Interval: 500 * time.Millisecond, Count: 2}
		switch rapid.IntRange(0, 3).Draw(t, "keepalive_defaults") {
		case 1:
			cfg.KeepAlive.Idle = 0
		case 2:
			cfg.KeepAlive.Interval, cfg.KeepAlive.Count = 0, 0
		}
	}
	a, b := drawOptions("a"), drawOptions("b")
	a.Apply(&cfg)
	base.PeerOptions = &b
	var start time.Duration
	if rapid.IntRange(0, 3).Draw(t, "near_wrap") > 0 {
		cfg.ISNKey = NearWrapKey()
		k := rapid.Uint32Range(NearWrapGap+1, 1000).Draw(t, "k")
		var err error
		if start, err = StartNearWrap(cfg, k); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg.ISNKey[0] = rapid.Byte().Draw(t, "key")
		start = time.Duration(rapid.Int64Range(0, 1<<44).Draw(t, "start"))
	}
	base.Config = cfg
	base.Start = start
	return NewWorld(base)
}

// property is one run: random moves with the invariants checked after
// each, then a fair ending that must close both sides and deliver every
// byte.
func property(base Options) func(*rapid.T) {
	return func(t *rapid.T) {
		w := drawWorld(t, base)
		moves := make(map[string]func(*rapid.T), len(actions)+1)
		for name, a := range actions {
			moves[name] = func(t *rapid.T) {
				if !a(w, rapidChooser{t}) {
					t.Skip("does not apply now")
				}
			}
		}
		moves[""] = func(t *rapid.T) {
			if err := w.Check(); err != nil {
				t.Fatal(err)
			}
		}
		t.Repeat(moves)
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProperty is the state-machine property test: both endpoints, a
// faulty network, time and hostile segments, with every invariant of
// design.md that applies checked after every move, the stateless machine
// cross-checking the dispatcher on every step (invariant 19), and liveness
// and byte-exact delivery at the end (invariants 18 and 17).
func TestProperty(t *testing.T) {
	rapid.Check(t, property(Options{Differential: true}))
}
