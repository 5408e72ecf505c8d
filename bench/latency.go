package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// connRate opens connections from the kernel to a server on the stack
// under test, workers at a time, for d: each connects, sends a byte,
// reads the server's byte and closes; the server answers and closes. It
// returns connections per second and the 50th and 99th percentile of one
// connection's time, connect to close.
func connRate(s stackUnderTest, d time.Duration, workers int) (perSec float64, p50, p99 time.Duration, err error) {
	ln, err := s.Listen(9003)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err == nil {
					c.Write(b)
				}
			}()
		}
	}()
	addr := netip.AddrPortFrom(s.Addr(), 9003).String()
	var mu sync.Mutex
	var times []time.Duration
	var firstErr error
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			for time.Now().Before(stop) {
				t0 := time.Now()
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err == nil {
					_, err = c.Write(b)
					if err == nil {
						_, err = io.ReadFull(c, b)
					}
					c.Close()
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				times = append(times, time.Since(t0))
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	p50, p99 = percentiles(times)
	return float64(len(times)) / elapsed.Seconds(), p50, p99, nil
}

// pingPong sends one byte from the kernel to an echo server on the stack
// under test and waits for it back, n times on one connection, and returns
// the 50th and 99th percentile of the round trip.
func pingPong(s stackUnderTest, n int) (p50, p99 time.Duration, err error) {
	ln, err := s.Listen(9004)
	if err != nil {
		return 0, 0, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	c, err := net.DialTimeout("tcp", netip.AddrPortFrom(s.Addr(), 9004).String(), 5*time.Second)
	if err != nil {
		return 0, 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	b := make([]byte, 1)
	times := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := c.Write(b); err != nil {
			return 0, 0, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
	}
	p50, p99 = percentiles(times)
	return p50, p99, nil
}

func percentiles(ts []time.Duration) (p50, p99 time.Duration) {
	if len(ts) == 0 {
		return 0, 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}
