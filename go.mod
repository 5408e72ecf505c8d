module github.com/tcpfsm/tcpfsm

go 1.26.0

require (
	github.com/dave/jennifer v1.7.1 // indirect
	github.com/gopacket/gopacket v1.7.7 // indirect
	github.com/qmuntal/stateless v1.7.2 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/crypto v0.51.0 // indirect
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.zx2c4.com/wintun v0.0.0-20230126152724-0fa3db229ce2 // indirect
	golang.zx2c4.com/wireguard v0.0.0-20260522210424-ecfc5a8d5446 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
