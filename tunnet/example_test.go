package tunnet_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
	"github.com/tcpfsm/tcpfsm/tunnet"
)

// Two stacks joined by an in-memory Pipe stand in for a TUN device and
// the kernel here, so the examples run anywhere. On a real TUN device,
// tundev.Open (as root) gives the Device instead.
func twoStacks() (server, client *tunnet.Stack) {
	a, b := tunnet.NewPipe(1500)
	server, err := tunnet.New(tunnet.Config{Device: a, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.1")},
		Machine: machine.Config{MSL: 50 * time.Millisecond}})
	if err != nil {
		log.Fatal(err)
	}
	client, err = tunnet.New(tunnet.Config{Device: b, Addrs: []netip.Addr{netip.MustParseAddr("10.9.0.2")},
		Machine: machine.Config{MSL: 50 * time.Millisecond}})
	if err != nil {
		log.Fatal(err)
	}
	return server, client
}

// A Stack's Listener is a net.Listener: net/http serves on it as on any
// other. The client here is another Stack; on a TUN it would be the
// kernel's curl.
func ExampleStack_Listen() {
	server, client := twoStacks()
	defer server.Close()
	defer client.Close()

	ln, err := server.Listen("tcp", "10.9.0.1:80")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	}))

	hc := &http.Client{Transport: &http.Transport{DialContext: client.DialContext}}
	resp, err := hc.Get("http://10.9.0.1/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK hello over HTTP/1.1
}

// Dial returns a net.Conn; the machine underneath can be watched through
// Config.Observer, and Conn.State names its state.
func ExampleStack_Dial() {
	server, client := twoStacks()
	defer server.Close()
	defer client.Close()

	ln, err := server.Listen("tcp", "10.9.0.1:7")
	if err != nil {
		log.Fatal(err)
	}
	go func() { // an echo server
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.DialTCP(ctx, "tcp", "10.9.0.1:7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Dial:", c.State())
	io.Copy(c, strings.NewReader("ping"))
	c.CloseWrite() // our FIN: FIN-WAIT-1, then FIN-WAIT-2 once it is ACKed
	echo, _ := io.ReadAll(c)
	fmt.Printf("echoed %q\n", echo)
	c.Close()
	// Output:
	// after Dial: ESTABLISHED
	// echoed "ping"
}
