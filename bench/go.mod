module github.com/tcpfsm/tcpfsm/bench

go 1.26.0

require (
	github.com/tcpfsm/tcpfsm v0.0.0
	golang.org/x/sys v0.49.0
	gvisor.dev/gvisor v0.0.0-20250503011706-39ed1f5ac29c
)

require (
	github.com/google/btree v1.1.2 // indirect
	github.com/qmuntal/stateless v1.7.2 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/time v0.7.0 // indirect
	golang.zx2c4.com/wintun v0.0.0-20230126152724-0fa3db229ce2 // indirect
	golang.zx2c4.com/wireguard v0.0.0-20260522210424-ecfc5a8d5446 // indirect
)

// bench/ is its own module so that gVisor is a dependency of the
// comparison only, never of tcpfsm.
replace github.com/tcpfsm/tcpfsm => ../
