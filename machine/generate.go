package machine

// machine_gen.go and stateless_gen.go are generated from the spec, as are the
// diagrams in docs/; dispatch.go's go:generate line writes the same switch
// once more for *Conn (dispatch_conn_gen.go) and for the tests' fake
// (dispatch_fake_gen_test.go), with direct calls. Edit spec/tcp.yaml, then
// run `go generate ./machine/`.
//
// The order matters: the first line runs the CLI, which imports this
// package, so it must run while the direct dispatchers still match the
// committed machine_gen.go; mkdispatch imports only spec and gen.

//go:generate go run ../cmd/tcpfsm gen -spec ../spec/tcp.yaml -out . -docs ../docs
//go:generate go run mkdispatch.go
