// The Markdown reference: every state, event and rule.

package gen

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tcpfsm/tcpfsm/spec"
)

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
