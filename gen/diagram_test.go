package gen

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/spec"
)

// -update rewrites the golden files. Other golden tests in this package
// declare the same flag; whichever file initialises first defines it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
}

func diagUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// diagCases are the specs the diagram tests draw: path on disk and the name
// the headers cite.
var diagCases = []struct {
	name, path, specName string
}{
	{"tcp", "../spec/tcp.yaml", "spec/tcp.yaml"},
	{"small", "testdata/diagram_small.yaml", "gen/testdata/diagram_small.yaml"},
}

func loadDiag(t *testing.T, path string) *spec.Machine {
	t.Helper()
	m, err := spec.Load(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return m
}

// diagOutputs renders every text output the golden files pin down, keyed by
// golden file suffix.
func diagOutputs(m *spec.Machine, specName string) map[string][]byte {
	return map[string][]byte{
		".dot":      DOTWith(m, DiagramOptions{SpecName: specName}),
		"_self.dot": DOTWith(m, DiagramOptions{SpecName: specName, SelfLoops: true}),
		".mmd":      MermaidWith(m, DiagramOptions{SpecName: specName}),
		".md":       Markdown(m, specName),
	}
}

func TestDiagramGolden(t *testing.T) {
	for _, c := range diagCases {
		t.Run(c.name, func(t *testing.T) {
			for suffix, got := range diagOutputs(loadDiag(t, c.path), c.specName) {
				golden := filepath.Join("testdata", "diagram_"+c.name+suffix)
				if diagUpdate() {
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./gen -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("output differs from %s (run go test ./gen -update if the change is intended):\n%s",
						golden, diagDiff(got, want))
				}
			}
		})
	}
}

// diagDiff shows the first line where got and want differ.
func diagDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "(no line differs)"
}

func TestDiagramDeterministic(t *testing.T) {
	for _, c := range diagCases {
		first := diagOutputs(loadDiag(t, c.path), c.specName)
		for run := 0; run < 5; run++ {
			again := diagOutputs(loadDiag(t, c.path), c.specName)
			for suffix := range first {
				if !bytes.Equal(first[suffix], again[suffix]) {
					t.Fatalf("%s%s: run %d differs from run 0:\n%s", c.name, suffix, run+1, diagDiff(again[suffix], first[suffix]))
				}
			}
		}
	}
}

// dotEdgeLine matches one transition in DOTWith's output.
var dotEdgeLine = regexp.MustCompile(`(?m)^\t"([^"]+)" -> "([^"]+)" \[(.*)\];$`)

type dotEdgeInfo struct {
	from, to, attrs string
}

func dotEdges(dot []byte) []dotEdgeInfo {
	var out []dotEdgeInfo
	for _, m := range dotEdgeLine.FindAllSubmatch(dot, -1) {
		if strings.HasPrefix(string(m[1]), "__") {
			continue // start marker, legend
		}
		out = append(out, dotEdgeInfo{string(m[1]), string(m[2]), string(m[3])})
	}
	return out
}

// TestDOTEveryRule checks that no row silently vanishes: each rule that
// changes the state, from each of its source states, is an arrow from that
// state to its target (or the target's bottom box) whose class and tooltip
// name the rule; with SelfLoops, every rule is.
func TestDOTEveryRule(t *testing.T) {
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		for _, self := range []bool{false, true} {
			es := dotEdges(DOTWith(m, DiagramOptions{SelfLoops: self}))
			drawn := 0
			for i := range m.Rules {
				r := &m.Rules[i]
				for _, from := range r.From {
					to := r.Target(from)
					if to == from && !self {
						continue
					}
					drawn++
					found := false
					for _, e := range es {
						if e.from == from && (e.to == to || e.to == to+" (end)") &&
							regexp.MustCompile(`class="([^"]* )?`+r.ID+`[ "]`).MatchString(e.attrs) &&
							strings.Contains(e.attrs, r.ID+" (") {
							found = true
						}
					}
					if !found {
						t.Errorf("%s (self=%v): rule %s from %s to %s has no arrow naming it", c.name, self, r.ID, from, to)
					}
				}
			}
			if drawn == 0 {
				t.Errorf("%s (self=%v): no rule drawn", c.name, self)
			}
			if !self {
				for _, e := range es {
					if e.from == e.to {
						t.Errorf("%s: loop %s -> %s drawn without SelfLoops", c.name, e.from, e.to)
					}
				}
			}
		}
	}
}

// TestDOTPathStyles checks that the client and server paths look different
// from each other and from the rest, and that the legend shows all three.
func TestDOTPathStyles(t *testing.T) {
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		dot := DOTWith(m, DiagramOptions{})
		var counts [3]int
		for _, e := range dotEdges(dot) {
			class := regexp.MustCompile(`class="([^"]*)"`).FindStringSubmatch(e.attrs)
			if class == nil {
				t.Fatalf("%s: arrow %s -> %s has no class naming its rules: %s", c.name, e.from, e.to, e.attrs)
			}
			var path string
			for _, rid := range strings.Fields(class[1]) {
				for i := range m.Rules {
					if m.Rules[i].ID == rid {
						if path != "" && path != m.Rules[i].Path {
							t.Errorf("%s: arrow %s -> %s mixes paths", c.name, e.from, e.to)
						}
						path = m.Rules[i].Path
					}
				}
			}
			hasBlue := strings.Contains(e.attrs, `color="`+diagColorActive+`"`)
			hasGreen := strings.Contains(e.attrs, `color="`+diagColorPassive+`"`)
			dashed := strings.Contains(e.attrs, "dashed")
			switch path {
			case diagActive:
				counts[0]++
				if !hasBlue || dashed || !strings.Contains(e.attrs, "bold") {
					t.Errorf("%s: client arrow %s -> %s is not solid bold blue: %s", c.name, e.from, e.to, e.attrs)
				}
			case diagPassive:
				counts[1]++
				if !hasGreen || !dashed {
					t.Errorf("%s: server arrow %s -> %s is not dashed green: %s", c.name, e.from, e.to, e.attrs)
				}
			default:
				counts[2]++
				if hasBlue || hasGreen || dashed || strings.Contains(e.attrs, "bold") {
					t.Errorf("%s: other arrow %s -> %s is styled like a path: %s", c.name, e.from, e.to, e.attrs)
				}
			}
		}
		for i, n := range counts {
			if n == 0 {
				t.Errorf("%s: no arrows of kind %d (active, passive, other)", c.name, i)
			}
		}
		for _, p := range []string{diagActive, diagPassive, ""} {
			if !bytes.Contains(dot, []byte(diagPathName(m, p))) {
				t.Errorf("%s: legend lacks %q", c.name, diagPathName(m, p))
			}
		}
		if !bytes.Contains(dot, []byte("are not drawn")) {
			t.Errorf("%s: legend does not say that rules keeping the state are left out", c.name)
		}
	}
}

// TestDOTRanks checks the RFC 9293 figure 5 layout of the TCP diagram:
// CLOSED on top, the SYN states above ESTABLISHED, the close states below,
// TIME-WAIT lowest, and CLOSED again at the bottom.
func TestDOTRanks(t *testing.T) {
	m := loadDiag(t, "../spec/tcp.yaml")
	dot := string(DOTWith(m, DiagramOptions{}))
	row := map[string]int{}
	for i, line := range regexp.MustCompile(`(?m)^\t\{ rank=same; (.*); \}$`).FindAllStringSubmatch(dot, -1) {
		for _, name := range strings.Split(line[1], "; ") {
			row[strings.Trim(name, `"`)] = i
		}
	}
	for _, s := range m.States {
		if _, ok := row[s.Name]; !ok {
			t.Errorf("state %s has no row", s.Name)
		}
	}
	above := func(a, b string) {
		t.Helper()
		if row[a] >= row[b] {
			t.Errorf("%s (row %d) is not above %s (row %d)", a, row[a], b, row[b])
		}
	}
	above("CLOSED", "LISTEN")
	above("LISTEN", "SYN-RECEIVED")
	above("SYN-RECEIVED", "ESTABLISHED")
	above("SYN-SENT", "ESTABLISHED")
	above("ESTABLISHED", "FIN-WAIT-1")
	above("ESTABLISHED", "CLOSE-WAIT")
	above("FIN-WAIT-1", "FIN-WAIT-2")
	above("FIN-WAIT-1", "CLOSING")
	above("CLOSE-WAIT", "LAST-ACK")
	above("FIN-WAIT-2", "TIME-WAIT")
	above("CLOSING", "TIME-WAIT")
	if !strings.Contains(dot, `{ rank=max; "CLOSED (end)"; }`) {
		t.Error("no bottom box for CLOSED")
	}
	for _, e := range dotEdges([]byte(dot)) {
		if e.from == "TIME-WAIT" && e.to == "CLOSED" {
			t.Error("TIME-WAIT -> CLOSED climbs to the top box instead of the bottom one")
		}
	}
}

func TestDiagramEveryState(t *testing.T) {
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		dot := string(DOT(m))
		mmd := string(Mermaid(m))
		md := string(Markdown(m, c.specName))
		ids := mermaidIDs(m)
		for _, s := range m.States {
			if !strings.Contains(dot, "\t"+dotQuote(s.Name)+" [label="+dotQuote(s.Name)) {
				t.Errorf("%s: DOT lacks state %s", c.name, s.Name)
			}
			decl := "    " + s.Name + "\n"
			if ids[s.Name] != s.Name {
				decl = fmt.Sprintf("    state %q as %s\n", s.Name, ids[s.Name])
			}
			if !strings.Contains(mmd, decl) {
				t.Errorf("%s: Mermaid lacks %q", c.name, decl)
			}
			if !strings.Contains(md, "\n| "+mdText(s.Name)) {
				t.Errorf("%s: Markdown has no row for state %s", c.name, s.Name)
			}
		}
	}
}

// mermaidLine is every line MermaidWith writes after the first.
var mermaidLine = regexp.MustCompile(`^(` +
	`|    %% [^\n]*` +
	`|    [A-Za-z_][A-Za-z0-9_]*` +
	`|    state "[^"]+" as [A-Za-z_][A-Za-z0-9_]*` +
	`|    (\[\*\]|[A-Za-z_][A-Za-z0-9_]*) --> (\[\*\]|[A-Za-z_][A-Za-z0-9_]*)( : [^:;%#\n]+)?` +
	`|    classDef [a-z]+ [^\n]+` +
	`|    class [A-Za-z0-9_,]+ [a-z]+` +
	`)$`)

func TestMermaidSyntax(t *testing.T) {
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		for _, self := range []bool{false, true} {
			out := string(MermaidWith(m, DiagramOptions{SelfLoops: self, SpecName: c.specName}))
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if lines[0] != "stateDiagram-v2" {
				t.Fatalf("%s: first line %q, want stateDiagram-v2", c.name, lines[0])
			}
			for i, line := range lines[1:] {
				if !mermaidLine.MatchString(line) {
					t.Errorf("%s (self=%v): line %d is not Mermaid this generator means to write: %q", c.name, self, i+2, line)
				}
			}
			if !strings.Contains(out, "\n    [*] --> "+mermaidIDs(m)[m.Initial]+"\n") {
				t.Errorf("%s: no [*] --> initial state", c.name)
			}
			for i := range m.Rules {
				r := &m.Rules[i]
				if r.Same && !self {
					continue
				}
				if !strings.Contains(out, mermaidText(r.Label())) {
					t.Errorf("%s (self=%v): rule %s's label %q is missing", c.name, self, r.ID, r.Label())
				}
			}
		}
	}
}

func TestMermaidIDs(t *testing.T) {
	m := &spec.Machine{States: []spec.State{
		{Name: "A-B"}, {Name: "A_B"}, {Name: "state"}, {Name: "END"}, {Name: "1X"}, {Name: "Ü"}, {Name: "A_B_2"},
	}}
	ids := mermaidIDs(m)
	seen := map[string]string{}
	valid := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	for _, s := range m.States {
		id := ids[s.Name]
		if !valid.MatchString(id) {
			t.Errorf("%q -> %q is not a valid ID", s.Name, id)
		}
		if mermaidKeyword(id) {
			t.Errorf("%q -> %q is a Mermaid keyword", s.Name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%q and %q share ID %q", other, s.Name, id)
		}
		seen[id] = s.Name
	}
}

func TestMarkdown(t *testing.T) {
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		md := string(Markdown(m, c.specName))
		if want := "<!-- Code generated by tcpfsm gen from " + c.specName + "; DO NOT EDIT. -->\n"; !strings.HasPrefix(md, want) {
			t.Errorf("%s: does not start with %q", c.name, want)
		}
		if !strings.Contains(md, "by `go generate`") {
			t.Errorf("%s: header does not say it is generated by go generate", c.name)
		}
		fence := "```mermaid\n" + string(Mermaid(m)) + "```\n"
		if !strings.Contains(md, fence) {
			t.Errorf("%s: the Mermaid diagram is not in a ```mermaid fence", c.name)
		}
		// Every rule has a row with eight unescaped cell borders.
		border := regexp.MustCompile(`(^|[^\\])\|`)
		for i := range m.Rules {
			r := &m.Rules[i]
			prefix := "| `" + r.ID + "`"
			var row string
			for _, line := range strings.Split(md, "\n") {
				if strings.HasPrefix(line, prefix+" ") {
					row = line
				}
			}
			if row == "" {
				t.Errorf("%s: rule %s has no table row", c.name, r.ID)
				continue
			}
			// Count borders; overlapping matches need a second pass.
			n := len(border.FindAllStringIndex(strings.ReplaceAll(row, "||", "| |"), -1))
			if n != 8 {
				t.Errorf("%s: rule %s row has %d cell borders, want 8: %s", c.name, r.ID, n, row)
			}
			if r.Same && !strings.Contains(row, "| same |") {
				t.Errorf("%s: rule %s keeps the state but its row does not say same: %s", c.name, r.ID, row)
			}
		}
		for _, g := range m.Guards {
			if !strings.Contains(md, "| `"+g.Name+"` | "+mdText(g.Doc)+" |") {
				t.Errorf("%s: guard or option %s has no row with its doc", c.name, g.Name)
			}
		}
		for _, a := range m.Actions {
			if !strings.Contains(md, "| `"+a.Name+"` | "+mdText(a.Doc)+" |") {
				t.Errorf("%s: action %s has no row with its doc", c.name, a.Name)
			}
		}
		for _, e := range m.Events {
			if !strings.Contains(md, "| `"+e.Name+"` | "+string(e.Kind)+" | "+mdText(e.Doc)+" |") {
				t.Errorf("%s: event %s has no row with its doc", c.name, e.Name)
			}
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	m := loadDiag(t, "testdata/diagram_small.yaml")
	md := string(Markdown(m, "x.yaml"))
	for _, want := range []string{
		"send &lt;SEQ=ISS&gt;&lt;CTL=SYN&gt;", // would vanish as HTML tags
		`waiting \| ready?`,                   // would split the cell
		`2\*MSL or \*more\*`,                  // would turn italic
		"finish \\`cleanly\\`",                // would become code
		`try again \[later\]`,                 // could become a link
		`everything\_now`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	for _, bad := range []string{"<SEQ", "<yet>"} {
		if strings.Contains(md, bad) {
			t.Errorf("Markdown holds raw %q", bad)
		}
	}
}

func TestMarkdownCite(t *testing.T) {
	m := &spec.Machine{RFC: "RFC 9293"}
	for _, c := range []struct{ in, want string }{
		{"3.10.7.4", "[3.10.7.4](https://www.rfc-editor.org/rfc/rfc9293#section-3.10.7.4)"},
		{"RFC 1337", "[RFC 1337](https://www.rfc-editor.org/rfc/rfc1337)"},
		{"3.10.8; RFC 5961 3.2", "[3.10.8](https://www.rfc-editor.org/rfc/rfc9293#section-3.10.8); [RFC 5961 3.2](https://www.rfc-editor.org/rfc/rfc5961#section-3.2)"},
		{"RFC 5961 appendix", "RFC 5961 appendix"},
		{"errata <1>", "errata &lt;1&gt;"},
		{"", ""},
	} {
		if got := mdCite(m, c.in); got != c.want {
			t.Errorf("mdCite(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDiagWrap(t *testing.T) {
	m := loadDiag(t, "../spec/tcp.yaml")
	for i := range m.Rules {
		label := m.Rules[i].Label()
		lines := diagWrap(label, dotWrapWidth)
		if got := strings.Join(lines, " "); got != label {
			t.Errorf("wrapping %q lost text: %q", label, got)
		}
		for _, line := range lines {
			if len(line) > dotWrapWidth && strings.Contains(line, " ") && !strings.HasPrefix(line, "/ ") && !strings.HasSuffix(line, "&&") {
				t.Errorf("line %q of %q is longer than %d and could have been broken", line, label, dotWrapWidth)
			}
			if strings.HasPrefix(line, "&&") || strings.HasSuffix(line, " /") || line == "/" {
				t.Errorf("line %q of %q splits an operator from its operand", line, label)
			}
		}
	}
}

func TestDocsNeedsSafeName(t *testing.T) {
	m := loadDiag(t, "testdata/diagram_small.yaml")
	m.Name = "../evil"
	if _, err := Docs(m, "x.yaml"); err == nil || !strings.Contains(err.Error(), "../evil") {
		t.Errorf("Docs with machine name ../evil: err = %v, want an error naming it", err)
	}
}

func TestSVGWithoutGraphviz(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := SVG([]byte("digraph x {}"))
	if !errors.Is(err, ErrNoDot) {
		t.Fatalf("SVG without dot in PATH: err = %v, want ErrNoDot", err)
	}
	if !strings.Contains(err.Error(), "apt-get install graphviz") {
		t.Errorf("error %q does not say how to install graphviz", err)
	}
	m := loadDiag(t, "testdata/diagram_small.yaml")
	if _, err := Docs(m, "x.yaml"); !errors.Is(err, ErrNoDot) {
		t.Errorf("Docs without dot in PATH: err = %v, want ErrNoDot", err)
	}
}

func needDot(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("graphviz 'dot' not in PATH (apt-get install graphviz): skipping SVG rendering")
	}
}

func TestSVGBadDOT(t *testing.T) {
	needDot(t)
	_, err := SVG([]byte("digraph { this is not dot"))
	if err == nil || !strings.Contains(err.Error(), "dot -Tsvg") {
		t.Fatalf("SVG of malformed DOT: err = %v, want an error from dot -Tsvg", err)
	}
}

func TestDocs(t *testing.T) {
	needDot(t)
	for _, c := range diagCases {
		m := loadDiag(t, c.path)
		docs, err := Docs(m, c.specName)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 3 {
			t.Errorf("%s: Docs returned %d files, want 3", c.name, len(docs))
		}
		dot, md, svg := docs[m.Name+".dot"], docs[m.Name+".md"], docs[m.Name+".svg"]
		if want := "// Code generated by tcpfsm gen from " + c.specName + "; DO NOT EDIT.\n"; !bytes.HasPrefix(dot, []byte(want)) {
			t.Errorf("%s.dot does not start with %q", m.Name, want)
		}
		if !bytes.Equal(md, Markdown(m, c.specName)) {
			t.Errorf("%s.md is not Markdown's output", m.Name)
		}
		if !bytes.Contains(svg, []byte("<!-- Code generated by tcpfsm gen from "+c.specName+"; DO NOT EDIT. -->")) {
			t.Errorf("%s.svg lacks the generated-file comment", m.Name)
		}
		// Well-formed XML naming every state.
		d := xml.NewDecoder(bytes.NewReader(svg))
		d.Strict = false // the SVG DOCTYPE names an external DTD
		var text strings.Builder
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s.svg is not well-formed XML: %v", m.Name, err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				text.Write(cd)
			}
		}
		for _, s := range m.States {
			if !strings.Contains(text.String(), s.Name) {
				t.Errorf("%s.svg does not show state %s", m.Name, s.Name)
			}
		}
		// Rendering is repeatable byte for byte.
		again, err := Docs(m, c.specName)
		if err != nil {
			t.Fatal(err)
		}
		for name := range docs {
			if !bytes.Equal(docs[name], again[name]) {
				t.Errorf("%s differs between two runs:\n%s", name, diagDiff(again[name], docs[name]))
			}
		}
	}
}
