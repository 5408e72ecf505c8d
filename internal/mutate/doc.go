// Mutate is tcpfsm's mutation tester: it plants one bug at a time in the
// hand-written code of package machine and in the rules of spec/tcp.yaml,
// runs the property suite and the exhaustive checker on each mutant, and
// reports how many mutants they kill.
//
// Usage (from the module root):
//
//	go run ./internal/mutate [-sample N] [-seed S] [-j N] [-list] [-run REGEXP] [-v]
//
// Operators on machine/*.go (hand-written files; String methods and
// generated files are left alone):
//
//   - cmp: a comparison's boundary moves (< and <=, > and >=) and == and !=
//     swap;
//   - seq: the sequence-space comparisons SeqLT/SeqLEQ and SeqGT/SeqGEQ swap;
//   - arith: + and - swap;
//   - const: an integer literal becomes one more or one less;
//   - cond: an if or for condition is negated; && and || swap;
//   - del: a call statement, an assignment (not a declaration) or an
//     increment is deleted.
//
// Operators on the spec: a rule loses one of its actions (spec-drop), or
// keeps the state instead of moving (spec-stay); a guard of a rule is
// negated (spec-neg). Each spec mutant is regenerated with package gen.
//
// A mutant is applied with `go test -overlay`, so the tree is never
// written. It is killed when `go test ./proptest` (the rapid property
// suite with 1,000 cases, coverage and scenarios, without the hand-picked
// mutation tests) fails, panics or times out (45 s, compiling included),
// or else when the checker's exploration test in ./proptest/check does. A mutant that does not compile is reported as
// invalid and not counted. The last line is
//
//	mutants: K killed of N (P%)
//
// Survivors are listed with the reason each is left in survivors.txt beside
// this file; the command exits 1 when a survivor is not listed there, so CI
// can run a random sample and fail on a new blind spot. docs/checking.md
// explains the survivors.
//
// Package proptest/mutate is different: it holds a few hand-picked, named
// bugs that `tcpfsm check -mutate NAME` demonstrates with a counterexample.
package main
