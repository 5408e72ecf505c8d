package tunnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"golang.org/x/sys/unix"
)

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit (the kernel
// side of the many-connections test needs a descriptor per socket).
func raiseNoFile(t *testing.T, want uint64) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if r.Cur >= want {
		return
	}
	r.Cur = min(r.Max, want)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if r.Cur < want {
		t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d this test needs", r.Max, want)
	}
}

// echo copies until EOF, then closes.
func echo(c net.Conn) {
	io.Copy(c, c)
	c.Close()
}

// serveEcho accepts until the listener closes, echoing on each connection.
func serveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go echo(c)
	}
}

func TestKernelManyConnections(t *testing.T) {
	const n = 1000
	raiseNoFile(t, 4*n)
	e := newKernelEnv(t, func(c *Config) {
		c.Backlog = n
		c.Machine.RcvBuf, c.Machine.SndBuf = 16<<10, 16<<10
	})
	ln, err := e.s.Listen("tcp", e.stackAddr(6000))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			go func() { defer served.Done(); echo(c) }()
		}
	}()

	// Open all n first, so that they are all established at once, then
	// exchange data on each and close.
	start := time.Now()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", e.stackAddr(6000), 20*time.Second)
			if err != nil {
				errs <- fmt.Errorf("dial %d: %w", i, err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d connections open after %v", n, time.Since(start))
	// The kernel's connect returns on the SYN+ACK; the stack's side is
	// ESTABLISHED once the handshake's last ACK is in.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got := e.s.Snapshot()[machine.StateEstablished]
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Snapshot: %d ESTABLISHED, want at least %d with all connections open", got, n)
		}
	}
	errs = make(chan error, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i)}, 1000+i)
			if _, err := c.Write(msg); err != nil {
				errs <- err
				return
			}
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
				return
			}
			if !bytes.Equal(got, msg) {
				errs <- fmt.Errorf("conn %d: echo of %d bytes came back as %d bytes", i, len(msg), len(got))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("echo on all %d done after %v", n, time.Since(start))
	ln.Close()
	served.Wait()
}

func TestKernelHTTP(t *testing.T) {
	e := newKernelEnv(t, nil)
	ln, err := e.s.Listen("tcp", e.stackAddr(80))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from tcpfsm, %s %s\n", r.Method, r.URL.Path)
	})
	srv := &http.Server{Handler: mux}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}()

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for i := range 20 {
		resp, err := client.Get(fmt.Sprintf("http://%s/page%d", e.stackAddr(80), i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("hello from tcpfsm, GET /page%d\n", i); string(body) != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}

	t.Run("curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		out, err := exec.Command(curl, "-sS", "--max-time", "10", "http://"+e.stackAddr(80)+"/curl").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		if !strings.Contains(string(out), "hello from tcpfsm, GET /curl") {
			t.Fatalf("curl printed %q", out)
		}
	})
}
