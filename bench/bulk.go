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

// bulkIn: the kernel sends n bytes to a discarding server on the stack
// under test.
func bulkIn(s stackUnderTest, n int64) (sample, error) {
	ln, err := s.Listen(9001)
	if err != nil {
		return sample{}, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	return transfer(ln, func() (net.Conn, error) {
		return net.DialTimeout("tcp", netip.AddrPortFrom(s.Addr(), 9001).String(), 5*time.Second)
	}, n)
}

// bulkOut: the stack under test sends n bytes to a discarding server in
// the kernel.
func bulkOut(s stackUnderTest, n int64) (sample, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(s.KernelAddr(), 9002).String())
	if err != nil {
		return sample{}, fmt.Errorf("kernel listen: %w", err)
	}
	defer ln.Close()
	return transfer(ln, func() (net.Conn, error) { return s.Dial(9002) }, n)
}

// transfer accepts one connection on ln, dials it with dial, writes n
// bytes into the dialled end, and times them until the accepted end has
// read them all.
func transfer(ln net.Listener, dial func() (net.Conn, error), n int64) (sample, error) {
	got := make(chan error, 1)
	var read int64
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		read, err = io.Copy(io.Discard, c)
		got <- err
	}()
	c, err := dial()
	if err != nil {
		return sample{}, fmt.Errorf("dial: %w", err)
	}
	buf := make([]byte, chunk)
	cpu0 := machineCPU()
	start := time.Now()
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			c.Close()
			return sample{}, fmt.Errorf("write: %w", err)
		}
		left -= k
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
	select {
	case err = <-got:
	case <-time.After(5 * time.Minute):
		err = errors.New("the reader did not finish in 5 minutes")
	}
	elapsed := time.Since(start)
	cpu := machineCPU() - cpu0
	c.Close()
	if err != nil {
		return sample{}, fmt.Errorf("read: %w", err)
	}
	if read != n {
		return sample{}, fmt.Errorf("read %d bytes of %d", read, n)
	}
	return sample{gbps: float64(n) * 8 / elapsed.Seconds() / 1e9, cpuPerGiB: cpu / (float64(n) / (1 << 30))}, nil
}
