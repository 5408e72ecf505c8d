package cc

// machine_gen.go and stateless_gen.go are generated from spec/cc.yaml, as
// are docs/cc.{dot,md,svg}. Edit spec/cc.yaml, then run
// `go generate ./cc/`.

//go:generate go run ../cmd/tcpfsm gen -spec ../spec/cc.yaml -out . -docs ../docs
