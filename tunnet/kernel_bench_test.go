package tunnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// Benchmarks with the Linux kernel's TCP as the peer, over a TUN (root):
//
//	go test ./tunnet -run '^$' -bench Kernel -benchtime 3s

const bulkChunk = 64 << 10

// BenchmarkKernelToStackBulk: one connection, the kernel sends, the stack
// reads and discards. MB/s is the throughput.
func BenchmarkKernelToStackBulk(b *testing.B) { kernelToStackBulk(b, nil) }

// BenchmarkKernelToStackRcvBuf is BenchmarkKernelToStackBulk with the
// stack's receive buffer from 64 KiB to 4 MiB: whether a larger buffer
// (what receive-buffer auto-tuning would grow to) helps on this path.
func BenchmarkKernelToStackRcvBuf(b *testing.B) {
	for _, kib := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("rcvbuf=%dKiB", kib), func(b *testing.B) {
			kernelToStackBulk(b, func(c *Config) { c.Machine.RcvBuf = kib << 10 })
		})
	}
}

func kernelToStackBulk(b *testing.B, mutate func(*Config)) {
	e := newKernelEnv(b, mutate)
	ln, err := e.s.Listen("tcp", e.stackAddr(7001))
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, discardServer)
	c, err := net.Dial("tcp", e.stackAddr(7001))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, bulkChunk)
	b.SetBytes(bulkChunk)
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	if err := <-srv; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu.report(b, int64(b.N)*bulkChunk)
	c.Close()
}

// BenchmarkStackToKernelBulk: one connection, the stack sends, the kernel
// reads and discards.
func BenchmarkStackToKernelBulk(b *testing.B) {
	e := newKernelEnv(b, nil)
	ln, err := net.Listen("tcp", e.kernelAddr(0))
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	srv := serveOne(ln, discardServer)
	c, err := e.s.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, bulkChunk)
	b.SetBytes(bulkChunk)
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.(*Conn).CloseWrite()
	if err := <-srv; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu.report(b, int64(b.N)*bulkChunk)
	c.Close()
}

// BenchmarkKernelConnections: the kernel connects, sends 1 byte, the stack
// answers 1 byte and closes first (so the short TIME-WAIT is the stack's
// and the kernel's ephemeral ports do not run out), the kernel reads EOF
// and closes. 8 clients at a time; conn/s is the rate.
func BenchmarkKernelConnections(b *testing.B) {
	e := newKernelEnv(b, func(c *Config) { c.Backlog = 1024 })
	ln, err := e.s.Listen("tcp", e.stackAddr(7002))
	if err != nil {
		b.Fatal(err)
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
				var one [1]byte
				if _, err := io.ReadFull(c, one[:]); err == nil {
					c.Write(one[:])
				}
			}()
		}
	}()
	addr := e.stackAddr(7002)
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var one [1]byte
		for pb.Next() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			c.Write([]byte{'x'})
			if _, err := io.ReadFull(c, one[:]); err != nil {
				b.Error(err)
			}
			io.Copy(io.Discard, c) // until the stack's FIN
			c.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conn/s")
}

// cpuMeter measures the process's CPU time (user + system: the stack, the
// kernel peer's socket calls and the TUN system calls, not softirqs run on
// other threads' behalf), reported per GiB moved.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

func (m cpuMeter) report(b *testing.B, bytes int64) {
	if bytes <= 0 {
		return
	}
	used := processCPU() - m.start
	b.ReportMetric(used.Seconds()/(float64(bytes)/(1<<30)), "cpu-s/GiB")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
