// The DOT diagram (Graphviz).

package gen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tcpfsm/tcpfsm/spec"
)

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
