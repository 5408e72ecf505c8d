// The Mermaid stateDiagram.

package gen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tcpfsm/tcpfsm/spec"
)

// MermaidWith renders the state diagram as a Mermaid stateDiagram-v2 (what
// GitHub renders in a ```mermaid fence). Mermaid cannot style arrows in
// state diagrams, so client-path labels start with a blue circle and
// server-path labels with a green one, and states are filled by the path they
// lie on (classDef client, server, shared). State IDs are the names with
// every character Mermaid does not allow in an ID replaced by '_', each
// aliased to its real name.
func MermaidWith(m *spec.Machine, opts DiagramOptions) []byte {
	var b bytes.Buffer
	b.WriteString("stateDiagram-v2\n")
	comment := func(s string) { fmt.Fprintf(&b, "    %%%% %s\n", strings.ReplaceAll(s, "\n", " ")) }
	if opts.SpecName != "" {
		comment(diagHeader(opts.SpecName))
	}
	comment(diagTitle(m, DiagramOptions{}) + ".")
	comment(diagMarkerActive + " " + diagPathName(m, diagActive) + ".")
	comment(diagMarkerPassive + " " + diagPathName(m, diagPassive) + ".")
	comment("Unmarked: " + diagPathName(m, "") + ".")
	comment(diagSelfLoopNote(opts) + ".")
	ids := mermaidIDs(m)
	roles := diagRoles(m)

	b.WriteString("\n")
	for _, s := range m.States {
		if ids[s.Name] == s.Name {
			fmt.Fprintf(&b, "    %s\n", s.Name)
		} else {
			fmt.Fprintf(&b, "    state \"%s\" as %s\n", strings.ReplaceAll(s.Name, `"`, "'"), ids[s.Name])
		}
	}
	b.WriteString("\n")
	if m.Initial != "" {
		fmt.Fprintf(&b, "    [*] --> %s\n", ids[m.Initial])
	}
	for _, e := range diagEdges(m, opts.SelfLoops) {
		lines := make([]string, len(e.rules))
		for i, r := range e.rules {
			lines[i] = mermaidText(r.Label())
			switch e.path {
			case diagActive:
				lines[i] = diagMarkerActive + " " + lines[i]
			case diagPassive:
				lines[i] = diagMarkerPassive + " " + lines[i]
			}
		}
		fmt.Fprintf(&b, "    %s --> %s : %s\n", ids[e.from], ids[e.to], strings.Join(lines, "<br/>"))
	}
	if m.Final != "" {
		fmt.Fprintf(&b, "    %s --> [*]\n", ids[m.Final])
	}

	b.WriteString("\n")
	fmt.Fprintf(&b, "    classDef client fill:%s,stroke:%s,stroke-width:2px\n", diagFillActive, diagColorActive)
	fmt.Fprintf(&b, "    classDef server fill:%s,stroke:%s,stroke-width:2px,stroke-dasharray:5 3\n", diagFillPassive, diagColorPassive)
	fmt.Fprintf(&b, "    classDef shared fill:%s,stroke:#333333,stroke-width:2px\n", diagFillShared)
	for _, c := range []struct{ role, class string }{{diagActive, "client"}, {diagPassive, "server"}, {"both", "shared"}} {
		var list []string
		for _, s := range m.States {
			if roles[s.Name] == c.role {
				list = append(list, ids[s.Name])
			}
		}
		if len(list) > 0 {
			fmt.Fprintf(&b, "    class %s %s\n", strings.Join(list, ","), c.class)
		}
	}
	return b.Bytes()
}

// mermaidKeyword reports whether Mermaid's state-diagram lexer reads id as a
// keyword, so that it cannot be a state ID.
func mermaidKeyword(id string) bool {
	switch strings.ToLower(id) {
	case "as", "class", "classdef", "default", "direction", "end", "hide", "note", "scale", "state":
		return true
	}
	return false
}

// mermaidIDs maps each state name to a distinct Mermaid-safe ID: letters,
// digits and '_' only, not a keyword, not starting with a digit.
func mermaidIDs(m *spec.Machine) map[string]string {
	ids := map[string]string{}
	used := map[string]bool{}
	for _, s := range m.States {
		var b strings.Builder
		for _, r := range s.Name {
			if r == '_' || r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		id := b.String()
		if id == "" || id[0] >= '0' && id[0] <= '9' || mermaidKeyword(id) {
			id = "s_" + id
		}
		base := id
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s_%d", base, n)
		}
		used[id] = true
		ids[s.Name] = id
	}
	return ids
}

// mermaidText makes s safe in a Mermaid transition label: the lexer ends a
// label at ':' or ';' and starts a comment at "%%" or '#', and the label is
// HTML.
func mermaidText(s string) string {
	return strings.NewReplacer(
		":", " -", ";", ",", "%", "pct", "#", "no.", "\n", " ",
		"<", "&lt;", ">", "&gt;",
	).Replace(s)
}
