module github.com/tcpfsm/tcpfsm

go 1.26.0

require (
	github.com/dave/jennifer v1.7.1
	github.com/gopacket/gopacket v1.7.7
	github.com/qmuntal/stateless v1.7.2
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.49.0
	golang.zx2c4.com/wireguard v0.0.0-20260522210424-ecfc5a8d5446
	pgregory.net/rapid v1.3.0
)

require (
	golang.org/x/net v0.55.0 // indirect
	golang.zx2c4.com/wintun v0.0.0-20230126152724-0fa3db229ce2 // indirect
)
