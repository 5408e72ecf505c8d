package machine

// machine_gen.go and stateless_gen.go are generated from the spec, as are the
// diagrams in docs/. Edit spec/tcp.yaml, then run `go generate ./machine/`.

//go:generate go run ../cmd/tcpfsm gen -spec ../spec/tcp.yaml -out . -docs ../docs
