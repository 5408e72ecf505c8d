// Package gen turns a parsed spec (spec.Machine) into the files derived from
// it: the Go dispatcher and its qmuntal/stateless cross-check for package
// machine (Go), and the DOT, Mermaid and SVG diagrams for the docs.
//
// Every generator is a pure function of the spec: the same spec gives
// byte-identical output, which golden tests pin down. Generators check what
// they rely on (names resolve, Go identifiers are valid and distinct, rows on
// one (state, event) pair are disjoint) and report bad input as an error
// naming the spec position, never as a panic or as code that does not build.
//
// Files: gogen.go resolves a spec into Go names and checks them (Go);
// gomachine.go writes machine_gen.go, gostateless.go stateless_gen.go, and
// godirect.go the direct dispatcher for one concrete Actions type
// (GoDirect). diagram.go holds what the diagrams share; dot.go, mermaid.go
// and markdown.go write each format; svg.go runs Graphviz and bundles the
// docs files (Docs).
package gen
