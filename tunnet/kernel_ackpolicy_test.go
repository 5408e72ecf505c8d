package tunnet

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// TestKernelRequestResponse: a kernel client sends 500 requests of 100
// bytes over one connection and tcpfsm answers each with 100 bytes. With
// delayed ACKs the answer carries the ACK of its request, so tcpfsm sends
// about one segment per exchange (the quick-ACK phase of the first 16
// segments excepted); with DelayedACK < 0 it sends two (an ACK, then the
// answer).
func TestKernelRequestResponse(t *testing.T) {
	const n, size = 500, 100
	for _, tc := range []struct {
		name     string
		delack   bool
		min, max float64 // segments tcpfsm sends per exchange
	}{{"delayed-ack", true, 0.9, 1.15}, {"no-delayed-ack", false, 1.9, 2.1}} {
		t.Run(tc.name, func(t *testing.T) {
			var sent, counting atomic.Int64
			e := newKernelEnv(t, func(c *Config) {
				if !tc.delack {
					c.Machine.DelayedACK = -1
				}
				c.Observer = func(tr Transition) {
					if counting.Load() == 1 {
						sent.Add(int64(len(tr.Sent)))
					}
				}
			})
			ln, err := e.s.Listen("tcp", e.stackAddr(5031))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			srv := serveOne(ln, func(c net.Conn) error {
				defer c.Close()
				buf := make([]byte, size)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						if err == io.EOF {
							return nil
						}
						return err
					}
					if _, err := c.Write(buf); err != nil {
						return err
					}
				}
			})
			c, err := net.Dial("tcp", e.stackAddr(5031))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, size)
			exchange := func() {
				if _, err := c.Write(buf); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					t.Fatal(err)
				}
			}
			for range 20 { // past the quick-ACK phase
				exchange()
			}
			counting.Store(1)
			for range n {
				exchange()
			}
			counting.Store(0)
			c.Close()
			if err := <-srv; err != nil {
				t.Fatal(err)
			}
			per := float64(sent.Load()) / n
			t.Logf("%s: tcpfsm sent %d segments for %d request-response exchanges: %.2f per exchange", tc.name, sent.Load(), n, per)
			if per < tc.min || per > tc.max {
				t.Errorf("%.2f segments per exchange, want %.2f..%.2f", per, tc.min, tc.max)
			}
		})
	}
}
