package machine_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/machine"
)

// Two Conns carry a handshake, some text and the four-way close with no
// network at all: each one's outbox is handed to the other's Input, and
// time is an argument. This is how the simulator, the checker and the
// runtime all drive the same machine.
func Example() {
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	cfg := &machine.Config{MSL: time.Second}
	client := machine.NewConn(cfg, machine.Tuple{LocalAddr: a, LocalPort: 40000, RemoteAddr: b, RemotePort: 80})
	server := machine.NewConn(cfg, machine.Tuple{LocalAddr: b, LocalPort: 80, RemoteAddr: a, RemotePort: 40000})

	now := time.Duration(0)
	// deliver hands each side's segments to the other until both are quiet.
	deliver := func() {
		for len(client.Outbox())+len(server.Outbox()) > 0 {
			for _, pair := range [][2]*machine.Conn{{client, server}, {server, client}} {
				from, to := pair[0], pair[1]
				out := append([]machine.Segment(nil), from.Outbox()...)
				from.ClearOutbox()
				for i := range out {
					rule := to.Input(now, &out[i])
					fmt.Printf("%-8v %-26v -> %v\n", out[i].Flags, rule, to.State())
				}
			}
		}
	}

	server.Listen(now)
	client.Connect(now)
	deliver()
	client.Write(now, []byte("hello"))
	client.Close(now) // FIN after the text
	deliver()
	buf := make([]byte, 16)
	n, _ := server.Read(now, buf)
	fmt.Printf("server read %q\n", buf[:n])
	server.Close(now)
	deliver()
	now += 2 * cfg.MSL
	client.Tick(now) // TIME-WAIT's 2*MSL ends
	fmt.Println("client", client.State(), "server", server.State())
	// Output:
	// SYN      listen_rcv_syn             -> SYN-RECEIVED
	// SYN+ACK  syn_sent_rcv_synack        -> ESTABLISHED
	// ACK      syn_rcvd_rcv_ack           -> ESTABLISHED
	// PSH+ACK  est_rcv_ack                -> ESTABLISHED
	// FIN+ACK  est_rcv_fin                -> CLOSE-WAIT
	// ACK      fin_wait_1_rcv_ack         -> FIN-WAIT-1
	// ACK      fin_wait_1_rcv_ack_of_fin  -> FIN-WAIT-2
	// server read "hello"
	// FIN+ACK  fin_wait_2_rcv_fin         -> TIME-WAIT
	// ACK      last_ack_rcv_ack_of_fin    -> CLOSED
	// client CLOSED server CLOSED
}
