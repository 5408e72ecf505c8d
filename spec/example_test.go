package spec_test

import (
	"fmt"

	"github.com/tcpfsm/tcpfsm/spec"
)

const door = `
machine: door
rfc: "none"
initial: CLOSED
final: CLOSED
states:
  - {name: CLOSED, doc: "shut"}
  - {name: OPEN, doc: "open"}
events:
  push: {kind: user, doc: "someone pushes"}
  pull: {kind: user, doc: "someone pulls"}
guards: {}
actions:
  creak: "the hinge creaks"
rules:
  - {id: open_door,  from: CLOSED, on: push, do: [creak], to: OPEN, rfc: "1"}
  - {id: close_door, from: OPEN,   on: pull, do: [creak], to: CLOSED, rfc: "2"}
`

// Parse decodes and validates a spec; nothing in it is TCP-specific.
func ExampleParse() {
	m, err := spec.Parse("door.yaml", []byte(door))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range m.Rules {
		fmt.Printf("%s: %v --%s--> %s\n", r.ID, r.From, r.Label(), r.To)
	}
	// Output:
	// open_door: [CLOSED] --push / creak--> OPEN
	// close_door: [OPEN] --pull / creak--> CLOSED
}

// Every error names the file, line and column of what is wrong.
func ExampleParse_error() {
	_, err := spec.Parse("door.yaml", []byte(door+`  - {id: slam, from: OPEN, on: kick, do: [], to: CLOSED, rfc: "3"}`+"\n"))
	fmt.Println(err)
	// Output:
	// door.yaml:18:32: rule slam: unknown event "kick"
}
