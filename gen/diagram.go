package gen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
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

// ---- DOT ----

// DOTWith renders the state diagram in Graphviz DOT. Arrows on the client
// path (rules marked `path: active`) are bold blue, arrows on the server path
// (`path: passive`) dashed green, the rest thin grey; a legend says so. Rules
// between the same two states on the same path share one arrow, one label
// line per rule; the arrow's tooltip lists the rule IDs and RFC sections
// and its class (kept in the SVG) the rule IDs.
// States are laid out in rows as in RFC 9293 figure 5 (see diagRanks): the
// initial state on top and, if it is also the final state, a second box for
// it at the bottom, where the arrows back into it from the lower half of the
// picture end.
func DOTWith(m *spec.Machine, opts DiagramOptions) []byte {
	var b bytes.Buffer
	if opts.SpecName != "" {
		fmt.Fprintf(&b, "// %s\n\n", diagHeader(opts.SpecName))
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotID(m.Name))
	b.WriteString("\tgraph [rankdir=TB, newrank=true, nodesep=0.4, ranksep=0.5, splines=true, fontname=\"Helvetica\", fontsize=18, labelloc=t, labeljust=c,\n")
	fmt.Fprintf(&b, "\t\tlabel=%s];\n", dotQuote(diagTitle(m, opts)))
	b.WriteString("\tnode [shape=box, style=\"rounded,filled\", fontname=\"Helvetica-Bold\", fontsize=14, margin=\"0.25,0.1\", penwidth=1.5];\n")
	b.WriteString("\tedge [fontname=\"Helvetica\", fontsize=11, arrowsize=0.8];\n\n")

	es := diagEdges(m, opts.SelfLoops)
	ranks := diagRanks(m, es)
	bottom := dotBottomTargets(m, es, ranks)
	roles := diagRoles(m)

	b.WriteString("\t// States, in spec order.\n")
	if m.Initial != "" {
		b.WriteString("\t\"__start\" [shape=point, width=0.15, label=\"\", tooltip=\"initial state\"];\n")
	}
	for _, s := range m.States {
		fmt.Fprintf(&b, "\t%s [%s];\n", dotID(s.Name), dotStateAttrs(m, s, roles[s.Name], s.Name, false))
	}
	if len(bottom) > 0 {
		fmt.Fprintf(&b, "\t%s [%s];\n", dotID(m.Final+" (end)"), dotStateAttrs(m, m.States[m.StateIndex(m.Final)], roles[m.Final], m.Final, true))
	}
	b.WriteString("\n")

	b.WriteString("\t// Ranks: the initial state on top, its second box at the bottom.\n")
	if m.Initial != "" {
		fmt.Fprintf(&b, "\t{ rank=min; \"__start\"; }\n")
		fmt.Fprintf(&b, "\t\"__start\" -> %s [penwidth=1.5, arrowsize=0.8];\n", dotID(m.Initial))
	}
	for _, row := range dotRows(m, ranks) {
		fmt.Fprintf(&b, "\t{ rank=same; %s; }\n", strings.Join(row, "; "))
	}
	if len(bottom) > 0 {
		fmt.Fprintf(&b, "\t{ rank=max; %s; }\n", dotID(m.Final+" (end)"))
	}
	b.WriteString("\n")

	b.WriteString("\t// Transitions: one arrow per (from, to, path); tooltip and class name the rules.\n")
	for _, e := range es {
		to := e.to
		if bottom[e] {
			to = m.Final + " (end)"
		}
		fmt.Fprintf(&b, "\t%s -> %s [%s];\n", dotID(e.from), dotID(to), dotEdgeAttrs(m, e))
	}
	b.WriteString("\n")
	writeDOTLegend(&b, m, opts)
	b.WriteString("}\n")
	return b.Bytes()
}

// dotBottomTargets picks the arrows drawn into the bottom box of the final
// state: when the final state is also the initial one, the arrows into it
// from states ranked in the lower half of the picture. Ending them at the
// bottom keeps them from climbing back across the whole diagram.
func dotBottomTargets(m *spec.Machine, es []*diagEdge, ranks map[string]int) map[*diagEdge]bool {
	if m.Final == "" || m.Final != m.Initial || m.StateIndex(m.Final) < 0 {
		return nil
	}
	maxRank := 0
	for _, r := range ranks {
		maxRank = max(maxRank, r)
	}
	out := map[*diagEdge]bool{}
	for _, e := range es {
		r, ok := ranks[e.from]
		if e.to == m.Final && e.from != m.Final && ok && 2*r >= maxRank {
			out[e] = true
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// diagRanks lays the states out in rows, top to bottom, as RFC 9293 figure
// 5 does: a state's row is the length of the longest path to it from the
// initial state along the client and server paths (rules with a path), so
// the two paths run side by side and meet where they share a state. A
// state on neither path goes one row below the lowest of its predecessors.
// Arrows back into the initial state and arrows that close a cycle do not
// count. States that cannot be placed are left out (Graphviz places them).
func diagRanks(m *spec.Machine, es []*diagEdge) map[string]int {
	all := diagLongest(m, es, func(*diagEdge) bool { return true })
	ranks := diagLongest(m, es, func(e *diagEdge) bool { return e.path != "" })
	if len(ranks) <= 1 {
		ranks = all
	}
	for changed := true; changed; {
		changed = false
		for _, s := range m.States {
			if _, ok := ranks[s.Name]; ok {
				continue
			}
			best := -1
			for _, e := range es {
				r, ok := ranks[e.from]
				if ok && e.to == s.Name && !e.self() && all[e.from] < all[e.to] {
					best = max(best, r)
				}
			}
			if best >= 0 {
				ranks[s.Name] = best + 1
				changed = true
			}
		}
	}
	return ranks
}

// diagLongest returns, for each state reached from the initial state over
// the arrows use accepts, the length of the longest path to it, ignoring
// arrows into the initial state, loops, and arrows that close a cycle
// (found by depth-first search in spec order).
func diagLongest(m *spec.Machine, es []*diagEdge, use func(*diagEdge) bool) map[string]int {
	depth := map[string]int{}
	if m.StateIndex(m.Initial) < 0 {
		return depth
	}
	succ := map[string][]string{}
	for _, e := range es {
		if e.to != m.Initial && !e.self() && use(e) {
			succ[e.from] = append(succ[e.from], e.to)
		}
	}
	const (
		unseen = iota
		open
		done
	)
	mark := map[string]int{}
	back := map[[2]string]bool{}
	var post []string
	var visit func(s string)
	visit = func(s string) {
		mark[s] = open
		for _, t := range succ[s] {
			switch mark[t] {
			case unseen:
				visit(t)
			case open:
				back[[2]string{s, t}] = true
			}
		}
		mark[s] = done
		post = append(post, s)
	}
	visit(m.Initial)
	for i := len(post) - 1; i >= 0; i-- {
		s := post[i]
		depth[s] += 0 // reached
		for _, t := range succ[s] {
			if !back[[2]string{s, t}] && depth[s]+1 > depth[t] {
				depth[t] = depth[s] + 1
			}
		}
	}
	return depth
}

// dotStateAttrs styles a state box: filled by the path it lies on, the final
// state with a double border, the tooltip its doc.
func dotStateAttrs(m *spec.Machine, s spec.State, role, label string, end bool) string {
	fill := diagFillUnmarked
	color := "black"
	switch role {
	case diagActive:
		fill, color = diagFillActive, diagColorActive
	case diagPassive:
		fill, color = diagFillPassive, diagColorPassive
	case "both":
		fill = diagFillShared
	}
	attrs := []string{
		"label=" + dotQuote(label),
		"fillcolor=" + dotQuote(fill),
		"color=" + dotQuote(color),
	}
	if s.Name == m.Final {
		attrs = append(attrs, "peripheries=2")
	}
	tip := s.Name + ": " + s.Doc
	if s.RFC != "" {
		tip += " (" + diagCite(m, s.RFC) + ")"
	}
	if end {
		tip = s.Name + " again, drawn at the bottom: " + s.Doc
	}
	attrs = append(attrs, "tooltip="+dotQuote(tip))
	return strings.Join(attrs, ", ")
}

// dotEdgeAttrs styles one arrow by its path and labels it with each rule's
// "event [guard] / actions", one line per rule.
func dotEdgeAttrs(m *spec.Machine, e *diagEdge) string {
	var label, tip strings.Builder
	for i, r := range e.rules {
		for j, line := range diagWrap(r.Label(), dotWrapWidth) {
			if j > 0 {
				line = "    " + line
			}
			label.WriteString(dotEscape(line) + `\l`)
		}
		if i > 0 {
			tip.WriteString(`\n`)
		}
		tip.WriteString(dotEscape(r.ID + " (" + diagCite(m, r.RFC) + "): " + r.Label()))
	}
	var attrs []string
	switch e.path {
	case diagActive:
		attrs = []string{`color="` + diagColorActive + `"`, `fontcolor="` + diagColorActive + `"`, "penwidth=2.8", "style=bold", `fontname="Helvetica-Bold"`}
	case diagPassive:
		attrs = []string{`color="` + diagColorPassive + `"`, `fontcolor="` + diagColorPassive + `"`, "penwidth=2.8", `style="dashed,bold"`, `fontname="Helvetica-Bold"`}
	default:
		attrs = []string{`color="` + diagColorOther + `"`, `fontcolor="` + diagColorOtherText + `"`, "penwidth=1.2", "fontsize=10"}
	}
	ids := make([]string, len(e.rules))
	for i, r := range e.rules {
		ids[i] = r.ID
	}
	attrs = append(attrs,
		`label="`+label.String()+`"`,
		`tooltip="`+tip.String()+`"`,
		`labeltooltip="`+tip.String()+`"`,
		"class="+dotQuote(strings.Join(ids, " ")),
	)
	return strings.Join(attrs, ", ")
}

// writeDOTLegend draws a key in the top row: a sample of each arrow style.
func writeDOTLegend(b *bytes.Buffer, m *spec.Machine, opts DiagramOptions) {
	b.WriteString("\t// Legend.\n")
	b.WriteString("\t\"__legend\" [shape=box, style=\"rounded\", color=\"#bbbbbb\", margin=\"0.15,0.1\", fontname=\"Helvetica\", fontsize=12, label=<\n")
	b.WriteString("\t\t<table border=\"0\" cellborder=\"0\" cellspacing=\"3\" cellpadding=\"1\">\n")
	b.WriteString("\t\t<tr><td colspan=\"2\" align=\"left\"><b>legend</b></td></tr>\n")
	for _, row := range []struct{ sample, color, text string }{
		{"━━━━━▶", diagColorActive, diagPathName(m, diagActive)},
		{"╺╺╺╺╺▶", diagColorPassive, diagPathName(m, diagPassive)},
		{"─────▶", diagColorOther, diagPathName(m, "")},
	} {
		fmt.Fprintf(b, "\t\t<tr><td align=\"left\"><font color=\"%s\">%s</font></td><td align=\"left\">%s</td></tr>\n",
			row.color, row.sample, htmlEscape(row.text))
	}
	fmt.Fprintf(b, "\t\t<tr><td colspan=\"2\" align=\"left\">%s</td></tr>\n", htmlEscape(diagSelfLoopNote(opts)))
	b.WriteString("\t\t<tr><td colspan=\"2\" align=\"left\">hover over an arrow for its rule IDs and RFC sections</td></tr>\n")
	b.WriteString("\t\t</table>>];\n")
	if m.Initial != "" {
		b.WriteString("\t{ rank=same; \"__start\"; \"__legend\"; }\n")
	}
}

// htmlEscape escapes text for a Graphviz HTML-like label.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// dotWrapWidth is the widest label line, in characters, before wrapping.
const dotWrapWidth = 30

// diagWrap breaks a rule label into lines of at most width characters
// where it can, between words: "&&" stays with the guard before it, "/"
// with the action after it.
func diagWrap(label string, width int) []string {
	var words []string
	for _, w := range strings.Fields(label) {
		switch {
		case w == "&&" && len(words) > 0:
			words[len(words)-1] += " " + w
		case len(words) > 0 && words[len(words)-1] == "/":
			words[len(words)-1] += " " + w
		default:
			words = append(words, w)
		}
	}
	var lines []string
	var cur string
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// dotRows groups the ranked states by row, top row first, each row in spec
// order, as quoted IDs.
func dotRows(m *spec.Machine, ranks map[string]int) [][]string {
	maxRank := -1
	for _, r := range ranks {
		maxRank = max(maxRank, r)
	}
	rows := make([][]string, maxRank+1)
	for _, s := range m.States {
		if r, ok := ranks[s.Name]; ok {
			rows[r] = append(rows[r], dotID(s.Name))
		}
	}
	return rows
}

// dotID quotes a name as a DOT identifier.
func dotID(s string) string { return dotQuote(s) }

// dotQuote quotes s as a DOT string; newlines become centred line breaks.
func dotQuote(s string) string {
	return `"` + strings.ReplaceAll(dotEscape(s), "\n", `\n`) + `"`
}

// dotEscape escapes the characters DOT treats specially in a quoted string.
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// diagCite spells a rule's or state's rfc field for humans: bare section numbers
// are sections of the machine's RFC.
func diagCite(m *spec.Machine, rfc string) string {
	parts := strings.Split(rfc, ";")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if diagIsSection(p) && m.RFC != "" {
			p = m.RFC + " " + p
		}
		parts[i] = p
	}
	return strings.Join(parts, "; ")
}

// diagIsSection reports whether s is a section number like "3.10.7.4".
func diagIsSection(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// ---- Mermaid ----

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

// ---- Markdown ----

// Markdown renders docs/tcp.md: a generated-file header naming specName, the
// Mermaid diagram in a fence GitHub renders, then the full rule table and
// the states, events, guards, options and actions with their docs.
func Markdown(m *spec.Machine, specName string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- %s -->\n\n", diagHeader(specName))
	name := m.Name
	if m.RFC != "" {
		fmt.Fprintf(&b, "# %s: the %s state machine\n\n", mdText(name), mdText(m.RFC))
	} else {
		fmt.Fprintf(&b, "# %s state machine\n\n", mdText(name))
	}
	fmt.Fprintf(&b, "Generated from `%s` by `go generate` (`tcpfsm gen`): edit the spec, not this file.\n", specName)
	fmt.Fprintf(&b, "%d states, %d events, %d guards and options, %d actions, %d rules.\n\n",
		len(m.States), len(m.Events), len(m.Guards), len(m.Actions), len(m.Rules))

	b.WriteString("## Diagram\n\n")
	fmt.Fprintf(&b, "%s marks the %s, %s the %s; unmarked arrows are the %s. ",
		diagMarkerActive, diagPathName(m, diagActive), diagMarkerPassive, diagPathName(m, diagPassive), diagPathName(m, ""))
	b.WriteString("Rules that keep the state (`to: same`) are not drawn; the rule table lists every rule. ")
	fmt.Fprintf(&b, "The Graphviz rendering, with the same colours, is [%[1]s.svg](%[1]s.svg) (from [%[1]s.dot](%[1]s.dot)).\n\n", m.Name)
	b.WriteString("```mermaid\n")
	b.Write(Mermaid(m))
	b.WriteString("```\n\n")

	b.WriteString("## Rules\n\n")
	b.WriteString("Rows on one (state, event) are tried in this order; their guards are disjoint, so at most one fires. ")
	b.WriteString("`same` keeps the state; an empty *do* drops the input.\n\n")
	sect := "RFC §"
	if m.RFC != "" {
		sect = mdText(m.RFC) + " §"
	}
	fmt.Fprintf(&b, "| id | from | on | if | do | to | %s |\n", sect)
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for i := range m.Rules {
		r := &m.Rules[i]
		id := mdCode(r.ID)
		switch r.Path {
		case diagActive:
			id += " " + diagMarkerActive
		case diagPassive:
			id += " " + diagMarkerPassive
		}
		conds := make([]string, len(r.If))
		for j, c := range r.If {
			conds[j] = c.String()
		}
		to := r.To
		if r.Same {
			to = "same"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			id, mdList(r.From, false), mdList(r.On, true), mdList(conds, true), mdList(r.Do, true), mdText(to), mdCite(m, r.RFC))
	}

	b.WriteString("\n## States\n\n")
	fmt.Fprintf(&b, "| state | meaning | %s |\n|---|---|---|\n", sect)
	for _, s := range m.States {
		name := mdText(s.Name)
		var notes []string
		if s.Name == m.Initial {
			notes = append(notes, "initial")
		}
		if s.Name == m.Final {
			notes = append(notes, "final")
		}
		if len(notes) > 0 {
			name += " (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, mdText(s.Doc), mdCite(m, s.RFC))
	}

	if len(m.Events) > 0 {
		b.WriteString("\n## Events\n\n| event | kind | meaning |\n|---|---|---|\n")
		for _, e := range m.Events {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCode(e.Name), mdText(string(e.Kind)), mdText(e.Doc))
		}
	}
	for _, sec := range []struct {
		title, col string
		option     bool
	}{{"Guards", "guard", false}, {"Options", "option", true}} {
		var rows []spec.Guard
		for _, g := range m.Guards {
			if g.Option == sec.option {
				rows = append(rows, g)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| %s | meaning |\n|---|---|\n", sec.title, sec.col)
		for _, g := range rows {
			fmt.Fprintf(&b, "| %s | %s |\n", mdCode(g.Name), mdText(g.Doc))
		}
	}
	if len(m.Actions) > 0 {
		b.WriteString("\n## Actions\n\n| action | effect |\n|---|---|\n")
		for _, a := range m.Actions {
			fmt.Fprintf(&b, "| %s | %s |\n", mdCode(a.Name), mdText(a.Doc))
		}
	}
	return b.Bytes()
}

// mdText escapes s for a Markdown table cell: HTML and the characters that
// would start emphasis, code or a new cell.
func mdText(s string) string {
	return strings.NewReplacer(
		`\`, `\\`, "&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`,
		"*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "\n", " ",
	).Replace(s)
}

// mdCode puts a name in a code span (names never hold '`' or '|'; mdText
// is applied if one does).
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "`|\n") {
		return mdText(s)
	}
	return "`" + s + "`"
}

// mdList joins names for a cell, as code spans if code, "—" if empty.
func mdList(list []string, code bool) string {
	if len(list) == 0 {
		return "—"
	}
	out := make([]string, len(list))
	for i, s := range list {
		if code {
			out[i] = mdCode(s)
		} else {
			out[i] = mdText(s)
		}
	}
	return strings.Join(out, ", ")
}

// mdCite links each part of an rfc field: bare section numbers to that
// section of the machine's RFC, "RFC n s" to section s of RFC n.
func mdCite(m *spec.Machine, rfc string) string {
	parts := strings.Split(rfc, ";")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = mdText(p)
		if diagIsSection(p) {
			if n := diagRFCNumber(m.RFC); n != "" {
				parts[i] = fmt.Sprintf("[%s](https://www.rfc-editor.org/rfc/rfc%s#section-%s)", p, n, p)
			}
			continue
		}
		f := strings.Fields(p)
		if len(f) >= 2 && f[0] == "RFC" && diagRFCNumber(f[0]+" "+f[1]) != "" {
			url := "https://www.rfc-editor.org/rfc/rfc" + f[1]
			if len(f) == 3 && diagIsSection(f[2]) {
				url += "#section-" + f[2]
			} else if len(f) > 2 {
				continue
			}
			parts[i] = fmt.Sprintf("[%s](%s)", p, url)
		}
	}
	return strings.Join(parts, "; ")
}

// diagRFCNumber returns n for "RFC n", or "".
func diagRFCNumber(s string) string {
	n, ok := strings.CutPrefix(s, "RFC ")
	if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
		return ""
	}
	return n
}

// ---- SVG and the docs bundle ----

// SVG renders DOT source to SVG with Graphviz (`dot -Tsvg`). It returns
// ErrNoDot if Graphviz is not installed. Graphviz's output for the same
// input and version is the same bytes every run.
func SVG(dot []byte) ([]byte, error) {
	path, err := exec.LookPath("dot")
	if err != nil {
		return nil, ErrNoDot
	}
	ctx, cancel := context.WithTimeout(context.Background(), dotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return nil, fmt.Errorf("graphviz dot -Tsvg: %w: %s", err, msg)
		}
		return nil, fmt.Errorf("graphviz dot -Tsvg: %w", err)
	}
	return out.Bytes(), nil
}

// Docs returns the generated documentation for the docs directory, named
// after the machine (for spec/tcp.yaml, machine tcp): "tcp.dot" (DOTWith,
// rules that keep the state left out), "tcp.md" (Markdown) and "tcp.svg"
// (the DOT rendered by SVG), each with a generated-file header naming
// specName. It needs Graphviz for the SVG and returns an error wrapping
// ErrNoDot without it.
func Docs(m *spec.Machine, specName string) (map[string][]byte, error) {
	if !docsName(m.Name) {
		return nil, fmt.Errorf("%s: machine name %q cannot name the docs files: want letters, digits, '_' and '-'", m.Pos, m.Name)
	}
	dot := DOTWith(m, DiagramOptions{SpecName: specName})
	svg, err := SVG(dot)
	if err != nil {
		return nil, fmt.Errorf("render %s.svg: %w", m.Name, err)
	}
	return map[string][]byte{
		m.Name + ".dot": dot,
		m.Name + ".md":  Markdown(m, specName),
		m.Name + ".svg": svgHeader(svg, specName),
	}, nil
}

// docsName reports whether a machine name is safe as a file name.
func docsName(name string) bool {
	if name == "" || name[0] == '.' || name[0] == '-' {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// SVGFile is SVG with the generated-file comment naming specName, as the
// diagrams gen writes carry it.
func SVGFile(dot []byte, specName string) ([]byte, error) {
	svg, err := SVG(dot)
	if err != nil {
		return nil, err
	}
	return svgHeader(svg, specName), nil
}

// svgHeader puts the generated-file comment after the XML declaration.
func svgHeader(svg []byte, specName string) []byte {
	comment := "<!-- " + diagHeader(specName) + " -->\n"
	if bytes.HasPrefix(svg, []byte("<?xml")) {
		if i := bytes.IndexByte(svg, '\n'); i >= 0 {
			out := make([]byte, 0, len(svg)+len(comment))
			out = append(out, svg[:i+1]...)
			out = append(out, comment...)
			return append(out, svg[i+1:]...)
		}
	}
	return append([]byte(comment), svg...)
}
