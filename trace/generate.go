package trace

// diagram_gen.svg is the TCP machine's state diagram, the same as
// docs/tcp.svg, embedded in the HTML report (html.go), which highlights
// the path each end took. Edit spec/tcp.yaml, then run `go generate
// ./trace/` (needs Graphviz).

//go:generate go run ../cmd/tcpfsm diagram -format svg -spec ../spec/tcp.yaml -o diagram_gen.svg
