package proptest

import (
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/proptest/simnet"
)

// byteChooser draws choices from fuzz input; past its end every choice is 0.
type byteChooser struct{ b []byte }

func (c *byteChooser) Intn(_ string, n int) int {
	if len(c.b) == 0 || n <= 1 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	if n > 256 && len(c.b) > 0 {
		v = v<<8 | int(c.b[0])
		c.b = c.b[1:]
	}
	return v % n
}

func (c *byteChooser) u32() uint32 {
	var v uint32
	for i := 0; i < 4; i++ {
		v = v<<8 | uint32(c.Intn("", 256))
	}
	return v
}

// FuzzWorld drives two Conns through the simulated network with moves,
// buffer sizes and segments taken from the fuzz input: the property
// suite's moves (application calls, faults, time, hostile segments) plus
// raw segments whose every header field the input chooses. After every
// move the invariants of docs/checking.md are checked, and each Conn's
// buffers must stay within SndBuf and RcvBuf; a panic fails too. The run
// then ends fairly (liveness and delivery).
func FuzzWorld(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte("\x05\x02\x00\x01\x09\x00\x00\x00\x00\x01\x40\x00\x03\x03\x03\x07\x07\x07"))
	f.Add([]byte("listen connect write write read deliver drop advance raw raw raw close close"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang crashes the worker, so the fuzzer reports its input.
		watchdog := time.AfterFunc(30*time.Second, func() { panic("FuzzWorld: one input ran 30 s: a hang") })
		defer watchdog.Stop()
		c := &byteChooser{b: data}
		cfg := testCfg()
		cfg.MSS = uint16(1 + c.Intn("mss", 16))
		cfg.RcvBuf = 1 + c.Intn("rcvbuf", 64)
		cfg.SndBuf = 1 + c.Intn("sndbuf", 64)
		cfg.RFC1337 = c.Intn("rfc1337", 2) == 1
		start := time.Duration(c.u32()) * time.Millisecond
		w := NewWorld(Options{Config: cfg, Start: start, History: 60})
		names := actionNames()
		for i := 0; i < 200 && len(c.b) > 0 && w.Err() == nil; i++ {
			k := c.Intn("action", len(names)+2)
			switch {
			case k < len(names):
				actions[names[k]](w, c)
			default:
				to := simnet.Side(c.Intn("side", 2))
				w.InjectRaw(to, RawSegment{
					Flags:   machine.Flags(c.Intn("flags", 64)),
					SeqOff:  c.u32(),
					AckBack: uint32(c.Intn("ackback", 70000)),
					Window:  uint16(c.Intn("window", 1<<16)),
					MSS:     uint16(c.Intn("mss", 1<<16)),
					Len:     c.Intn("len", 40),
				})
			}
			for _, s := range [...]simnet.Side{simnet.A, simnet.B} {
				if snd, rcv := w.Net().Conn(s).Footprint(); snd > cfg.SndBuf || rcv > cfg.RcvBuf {
					t.Fatalf("%v holds %d and %d bytes of buffers, more than SndBuf %d and RcvBuf %d", s, snd, rcv, cfg.SndBuf, cfg.RcvBuf)
				}
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
	})
}
