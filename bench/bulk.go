package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// sample is one measurement: a rate and the machine's CPU for it.
type sample struct {
	gbps      float64 // goodput, Gbit/s
	cpuPerGiB float64 // machine CPU-seconds (all cores, /proc/stat) per GiB moved
}

const chunk = 256 << 10

// bulkIn: the kernel sends n bytes, over flows connections at once, to a
// discarding server on the stack under test.
func bulkIn(s stackUnderTest, n int64, flows int) (sample, error) {
	ln, err := s.Listen(9001)
	if err != nil {
		return sample{}, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	return transfer(ln, func() (net.Conn, error) {
		return net.DialTimeout("tcp", netip.AddrPortFrom(s.Addr(), 9001).String(), 5*time.Second)
	}, n, flows)
}

// bulkOut: the stack under test sends n bytes, over flows connections at
// once, to a discarding server in the kernel.
func bulkOut(s stackUnderTest, n int64, flows int) (sample, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(s.KernelAddr(), 9002).String())
	if err != nil {
		return sample{}, fmt.Errorf("kernel listen: %w", err)
	}
	defer ln.Close()
	return transfer(ln, func() (net.Conn, error) { return s.Dial(9002) }, n, flows)
}

// transfer dials flows connections to ln with dial, writes n/flows bytes
// into each dialled end at once, and times them until the accepted ends
// have read them all.
func transfer(ln net.Listener, dial func() (net.Conn, error), n int64, flows int) (sample, error) {
	per := n / int64(flows)
	got := make(chan error, flows)
	go func() {
		for range flows {
			c, err := ln.Accept()
			if err != nil {
				got <- err
				return
			}
			go func() {
				defer c.Close()
				read, err := io.Copy(io.Discard, c)
				if err == nil && read != per {
					err = fmt.Errorf("read %d bytes of %d", read, per)
				}
				got <- err
			}()
		}
	}()
	conns := make([]net.Conn, flows)
	for i := range conns {
		c, err := dial()
		if err != nil {
			closeAll(conns)
			return sample{}, fmt.Errorf("dial: %w", err)
		}
		conns[i] = c
	}
	defer closeAll(conns)
	cpu0 := machineCPU()
	start := time.Now()
	wrote := make(chan error, flows)
	for _, c := range conns {
		go func() { wrote <- send(c, per) }()
	}
	timeout := time.After(5 * time.Minute)
	for range 2 * flows {
		var err error
		select {
		case err = <-wrote:
		case err = <-got:
		case <-timeout:
			err = errors.New("the transfer did not finish in 5 minutes")
		}
		if err != nil {
			return sample{}, err
		}
	}
	elapsed := time.Since(start)
	cpu := machineCPU() - cpu0
	moved := per * int64(flows)
	return sample{gbps: float64(moved) * 8 / elapsed.Seconds() / 1e9, cpuPerGiB: cpu / (float64(moved) / (1 << 30))}, nil
}

// send writes n bytes into c and shuts down its sending side.
func send(c net.Conn, n int64) error {
	buf := make([]byte, chunk)
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		left -= k
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
