package gen

import (
	"errors"
	"sort"
	"time"

	"github.com/tcpfsm/tcpfsm/spec"
)

// DiagramOptions chooses what DOTWith and MermaidWith draw.
type DiagramOptions struct {
	// SelfLoops also draws the rules that keep the state (`to: same`).
	// They are left out by default: there are many and they hide the shape
	// of the machine. The Markdown rule table always lists every rule.
	SelfLoops bool
	// SpecName, if not empty, is named in a "Code generated ... DO NOT EDIT."
	// header, e.g. "spec/tcp.yaml".
	SpecName string
}

// Diagram paths, as a rule's Path spells them.
const (
	diagActive  = "active"  // the client's path: active open, active close
	diagPassive = "passive" // the server's path: passive open, passive close
)

// Colours shared by DOT and Mermaid.
const (
	diagColorActive    = "#1f5fbf"
	diagColorPassive   = "#23893a"
	diagColorOther     = "#8c8c8c"
	diagColorOtherText = "#555555"
	diagFillActive     = "#e3ecfa"
	diagFillPassive    = "#e2f3e5"
	diagFillShared     = "#f2f2f2"
	diagFillUnmarked   = "#ffffff"
	diagMarkerActive   = "🔵"
	diagMarkerPassive  = "🟢"
)

// dotTimeout bounds one Graphviz run.
const dotTimeout = 2 * time.Minute

// ErrNoDot is returned by SVG and Docs when Graphviz is not installed.
var ErrNoDot = errors.New("graphviz 'dot' not found in PATH: apt-get install graphviz")

// DOT renders the state diagram in Graphviz DOT, without the rules that keep
// the state and without a generated-file header.
func DOT(m *spec.Machine) []byte { return DOTWith(m, DiagramOptions{}) }

// Mermaid renders the state diagram as a bare Mermaid stateDiagram-v2, without
// the rules that keep the state and without a generated-file comment.
func Mermaid(m *spec.Machine) []byte { return MermaidWith(m, DiagramOptions{}) }

// diagEdge is one arrow of a diagram: the rules leading from one state to
// another on one path, in spec order.
type diagEdge struct {
	from, to string
	path     string
	rules    []*spec.Rule
}

func (e *diagEdge) self() bool { return e.from == e.to }

// diagEdges groups the rules into arrows, one per (from, to, path), ordered by
// source state, target state and path (active, passive, unmarked), all in
// spec order. Rules whose target is their source are kept only if self.
func diagEdges(m *spec.Machine, self bool) []*diagEdge {
	type key struct{ from, to, path string }
	byKey := map[key]*diagEdge{}
	var out []*diagEdge
	for i := range m.Rules {
		r := &m.Rules[i]
		for _, from := range r.From {
			to := r.Target(from)
			if to == from && !self {
				continue
			}
			k := key{from, to, r.Path}
			e := byKey[k]
			if e == nil {
				e = &diagEdge{from: from, to: to, path: r.Path}
				byKey[k] = e
				out = append(out, e)
			}
			e.rules = append(e.rules, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if x, y := m.StateIndex(a.from), m.StateIndex(b.from); x != y {
			return x < y
		}
		if x, y := m.StateIndex(a.to), m.StateIndex(b.to); x != y {
			return x < y
		}
		return diagPathOrder(a.path) < diagPathOrder(b.path)
	})
	return out
}

func diagPathOrder(p string) int {
	switch p {
	case diagActive:
		return 0
	case diagPassive:
		return 1
	}
	return 2
}

// diagRoles says which textbook path each state lies on: "active" if only
// client-path arrows touch it, "passive" if only server-path ones do, "both"
// if both do, "" if neither.
func diagRoles(m *spec.Machine) map[string]string {
	act, pas := map[string]bool{}, map[string]bool{}
	for _, e := range diagEdges(m, false) {
		switch e.path {
		case diagActive:
			act[e.from], act[e.to] = true, true
		case diagPassive:
			pas[e.from], pas[e.to] = true, true
		}
	}
	roles := map[string]string{}
	for _, s := range m.States {
		switch {
		case act[s.Name] && pas[s.Name]:
			roles[s.Name] = "both"
		case act[s.Name]:
			roles[s.Name] = diagActive
		case pas[s.Name]:
			roles[s.Name] = diagPassive
		}
	}
	return roles
}

// diagPathName is how legends name a path: as the spec's paths key says,
// else by its spelling in the rules.
func diagPathName(m *spec.Machine, p string) string {
	switch p {
	case diagActive:
		return cmpOr(m.Paths.Active, "path: active")
	case diagPassive:
		return cmpOr(m.Paths.Passive, "path: passive")
	}
	return cmpOr(m.Paths.Other, "other transitions")
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// diagTitle is the diagram's caption.
func diagTitle(m *spec.Machine, opts DiagramOptions) string {
	t := m.Name + " state machine"
	if m.RFC != "" {
		t += " (" + m.RFC + ")"
	}
	if opts.SpecName != "" {
		t += ", generated from " + opts.SpecName
	}
	return t
}

// diagSelfLoopNote says whether rules that keep the state are drawn.
func diagSelfLoopNote(opts DiagramOptions) string {
	if opts.SelfLoops {
		return "rules that keep the state (to: same) are drawn as loops"
	}
	return "rules that keep the state (to: same) are not drawn: see the rule table"
}

// diagHeader is the generated-file line, without comment markers.
func diagHeader(specName string) string {
	return "Code generated by tcpfsm gen from " + specName + "; DO NOT EDIT."
}
