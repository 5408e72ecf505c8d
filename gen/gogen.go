package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"

	"github.com/tcpfsm/tcpfsm/spec"
)

// Names of the files Go returns, and where they go.
const (
	goMachineFile   = "machine_gen.go"
	goStatelessFile = "stateless_gen.go"
	goStatelessPkg  = "github.com/qmuntal/stateless"
)

// Go returns the generated Go files for the package the spec names (its go
// key), keyed by file name: "machine_gen.go" and "stateless_gen.go", each
// led by the lower-case prefix and "_" when the spec has a prefix. Every
// package-level name the files declare carries the prefix. specName is the spec path relative to the
// module root, e.g. "spec/tcp.yaml", used in the header. Output is deterministic.
//
// machine_gen.go holds the State, Event and Rule enums, the rule metadata, the
// Actions interface and Step, a nested switch that calls the guard and action
// methods by name through Actions (GoDirect writes the same switch for one
// concrete type, so that the calls are direct). stateless_gen.go builds the
// same table on github.com/qmuntal/stateless to cross-check Step.
//
// Go checks what the code it writes relies on, whether or not the spec was
// validated: every name resolves, every Go name is a valid identifier used
// once, the enums fit in a uint8, and no two rows can fire on the same
// (state, event). A failed check is an error naming the spec position.
func Go(m *spec.Machine, specName string) (map[string][]byte, error) {
	g, err := newGoGen(m, specName)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, 2)
	for _, file := range []struct {
		name string
		f    *jen.File
	}{
		{g.fileName(goMachineFile), g.machineFile()},
		{g.fileName(goStatelessFile), g.statelessFile()},
	} {
		var buf bytes.Buffer
		if err := file.f.Render(&buf); err != nil {
			return nil, fmt.Errorf("gen: render %s: %w", file.name, err)
		}
		out[file.name] = buf.Bytes()
	}
	return out, nil
}

// goGen is a spec resolved into Go names and indices.
type goGen struct {
	m        *spec.Machine
	specName string

	states  []string // Go constant of each state
	events  []string // Go constant of each event
	kinds   []string // Go constant of each event's kind
	guards  []string // Actions method of each guard or option
	actions []string // Actions method of each action
	rules   []goRule
	// pairs[s][e] lists the rules (indices into rules) on (state s, event e), in spec order.
	pairs [][][]int
	// guardFuncs[g] names the stateless guard functions of guard g: [0] holds, [1] negated;
	// "" when no rule uses that form.
	guardFuncs [][2]string

	stateIdx, eventIdx, guardIdx, actionIdx map[string]int
	pkgNames                                map[string]string // package-level Go name -> what claimed it
	methods                                 map[string]string // Actions method -> what claimed it
	errs                                    []error
}

// goRule is a spec rule with its names resolved.
type goRule struct {
	r        *spec.Rule
	id       string // Go constant, g.n("Rule")+GoName(ID)
	recorder string // stateless guard that records the rule, "rule"+GoName(ID)
	from     []int
	on       []int
	conds    []goCond
	do       []int
	to       int // target state; -1 when the rule keeps the state
}

// goCond is one guard reference of a rule.
type goCond struct {
	guard int
	not   bool
}

// goKinds maps spec event kinds to the generated EventKind constants, in
// their numbering order.
var goKinds = []struct {
	kind spec.EventKind
	id   string
	doc  string
}{
	{spec.UserEvent, "KindUser", "a call from the application"},
	{spec.SegmentEvent, "KindSegment", "a segment from the network"},
	{spec.TimerEvent, "KindTimer", "a timer expiring"},
}

// goReserved are the package-level names the generated files declare or
// import whatever the spec says.
var goReserved = []string{
	"State", "NumStates", "EventKind", "KindUser", "KindSegment", "KindTimer",
	"Event", "NumEvents", "Rule", "RuleNone", "NumRules", "RuleInfo", "Actions", "Step",
	"Stateless", "NewStateless",
	"stateNames", "stateDocs", "eventNames", "eventKinds", "eventDocs", "eventKindNames",
	"ruleInfos", "firing", "firingOf", "keepState", "configureStateless",
	"context", "fmt", "stateless", "strconv",
}

// fileName is the name of a generated file: with a prefix, the prefix in
// lower case comes first ("cc_machine_gen.go"), so that machines sharing a
// package keep their files apart.
func (g *goGen) fileName(base string) string {
	if g.m.Go.Prefix == "" {
		return base
	}
	return strings.ToLower(g.m.Go.Prefix) + "_" + base
}

// goImports are the package names the generated files import: the prefix
// never applies to them.
var goImports = map[string]bool{"context": true, "fmt": true, "stateless": true, "strconv": true}

func newGoGen(m *spec.Machine, specName string) (*goGen, error) {
	if m == nil {
		return nil, errors.New("gen: no spec (nil *spec.Machine)")
	}
	if specName == "" || strings.ContainsAny(specName, "\r\n") {
		return nil, fmt.Errorf("gen: spec name %q must be one non-empty line", specName)
	}
	switch pkg := m.Go.PackageName(); {
	case m.Go.Package == "":
		return nil, fmt.Errorf("gen: %s names no Go package: add go: {package: import/path, prefix: Name} to the spec", specName)
	case !token.IsIdentifier(pkg) || pkg == "main":
		return nil, fmt.Errorf("gen: %s: go.package %q does not end in a usable Go package name", specName, m.Go.Package)
	case m.Go.Prefix != "" && (!token.IsIdentifier(m.Go.Prefix) || !token.IsExported(m.Go.Prefix)):
		return nil, fmt.Errorf("gen: %s: go.prefix %q is not an exported Go identifier", specName, m.Go.Prefix)
	}
	g := &goGen{
		m:         m,
		specName:  specName,
		stateIdx:  map[string]int{},
		eventIdx:  map[string]int{},
		guardIdx:  map[string]int{},
		actionIdx: map[string]int{},
		pkgNames:  map[string]string{},
		methods:   map[string]string{},
	}
	for _, name := range goReserved {
		if !goImports[name] {
			name = g.n(name)
		}
		g.pkgNames[name] = "a name the generator always declares or imports"
	}
	g.resolve()
	if len(g.errs) > 0 {
		return nil, fmt.Errorf("gen: cannot generate Go from %s:\n%w", specName, errors.Join(g.errs...))
	}
	return g, nil
}

func (g *goGen) errorf(pos spec.Pos, format string, args ...any) {
	g.errs = append(g.errs, fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...)))
}

// declare claims a package-level Go name for what.
func (g *goGen) declare(name, what string, pos spec.Pos) {
	switch {
	case !token.IsIdentifier(name):
		g.errorf(pos, "%s: Go name %q is not a valid identifier", what, name)
	case g.pkgNames[name] != "":
		g.errorf(pos, "%s: Go name %s is already taken by %s", what, name, g.pkgNames[name])
	case types.Universe.Lookup(name) != nil:
		g.errorf(pos, "%s: Go name %s would shadow Go's predeclared %s", what, name, name)
	default:
		g.pkgNames[name] = fmt.Sprintf("%s (%s)", what, pos)
	}
}

// method claims an Actions method name for what.
func (g *goGen) method(name, what string, pos spec.Pos) {
	switch {
	case !token.IsIdentifier(name) || !token.IsExported(name):
		g.errorf(pos, "%s: Go method name %q is not an exported identifier", what, name)
	case g.methods[name] != "":
		g.errorf(pos, "%s: Actions method %s is already taken by %s", what, name, g.methods[name])
	default:
		g.methods[name] = fmt.Sprintf("%s (%s)", what, pos)
	}
}

func (g *goGen) resolve() {
	m := g.m
	const limit = 256 // the enums are uint8
	switch {
	case len(m.States) == 0:
		g.errorf(m.Pos, "the spec declares no states")
	case len(m.States) > limit:
		g.errorf(m.Pos, "%d states do not fit in a uint8 State", len(m.States))
	}
	if len(m.Events) > limit {
		g.errorf(m.Pos, "%d events do not fit in a uint8 Event", len(m.Events))
	}
	if len(m.Rules) > limit-1 {
		g.errorf(m.Pos, "%d rules (plus RuleNone) do not fit in a uint8 Rule", len(m.Rules))
	}
	if len(g.errs) > 0 {
		return
	}

	for i, s := range m.States {
		if _, dup := g.stateIdx[s.Name]; dup {
			g.errorf(s.Pos, "state %s is declared twice", s.Name)
		}
		g.stateIdx[s.Name] = i
		id := g.n("State") + spec.GoName(s.Name)
		g.declare(id, "state "+s.Name, s.Pos)
		g.states = append(g.states, id)
	}
	if _, ok := g.stateIdx[m.Initial]; !ok {
		g.errorf(m.Pos, "initial state %q is not a declared state", m.Initial)
	}
	for i, e := range m.Events {
		if _, dup := g.eventIdx[e.Name]; dup {
			g.errorf(e.Pos, "event %s is declared twice", e.Name)
		}
		g.eventIdx[e.Name] = i
		id := g.n("Event") + spec.GoName(e.Name)
		g.declare(id, "event "+e.Name, e.Pos)
		g.events = append(g.events, id)
		kind := ""
		for _, k := range goKinds {
			if k.kind == e.Kind {
				kind = g.n(k.id)
			}
		}
		if kind == "" {
			g.errorf(e.Pos, "event %s: kind %q is not user, segment or timer", e.Name, e.Kind)
		}
		g.kinds = append(g.kinds, kind)
	}
	for i, gd := range m.Guards {
		what := "guard " + gd.Name
		if gd.Option {
			what = "option " + gd.Name
		}
		if _, dup := g.guardIdx[gd.Name]; dup {
			g.errorf(gd.Pos, "%s is declared twice", what)
		}
		g.guardIdx[gd.Name] = i
		id := spec.GoName(gd.Name)
		g.method(id, what, gd.Pos)
		g.guards = append(g.guards, id)
	}
	for i, a := range m.Actions {
		if _, dup := g.actionIdx[a.Name]; dup {
			g.errorf(a.Pos, "action %s is declared twice", a.Name)
		}
		g.actionIdx[a.Name] = i
		id := spec.GoName(a.Name)
		g.method(id, "action "+a.Name, a.Pos)
		g.actions = append(g.actions, id)
	}

	g.guardFuncs = make([][2]string, len(m.Guards))
	seenRule := map[string]bool{}
	for i := range m.Rules {
		r := &m.Rules[i]
		if seenRule[r.ID] {
			g.errorf(r.Pos, "rule %s is declared twice", r.ID)
		}
		seenRule[r.ID] = true
		g.rules = append(g.rules, g.resolveRule(r))
	}
	if len(g.errs) > 0 {
		return
	}
	g.resolvePairs()
	g.nameGuardFuncs()
}

func (g *goGen) resolveRule(r *spec.Rule) goRule {
	what := "rule " + r.ID
	gr := goRule{r: r, id: g.n("Rule") + spec.GoName(r.ID), recorder: g.n("rule" + spec.GoName(r.ID)), to: -1}
	if r.ID == "" {
		g.errorf(r.Pos, "a rule has no id")
	} else {
		g.declare(gr.id, what, r.Pos)
	}
	at := func(list []spec.Pos, i int) spec.Pos {
		if i < len(list) {
			return list[i]
		}
		return r.Pos
	}
	for i, name := range r.From {
		s, ok := g.stateIdx[name]
		if !ok {
			g.errorf(at(r.FromPos, i), "%s: from: unknown state %q", what, name)
			continue
		}
		gr.from = append(gr.from, s)
	}
	for i, name := range r.On {
		e, ok := g.eventIdx[name]
		if !ok {
			g.errorf(at(r.OnPos, i), "%s: on: unknown event %q", what, name)
			continue
		}
		gr.on = append(gr.on, e)
	}
	for _, c := range r.If {
		gd, ok := g.guardIdx[c.Guard]
		if !ok {
			g.errorf(c.Pos, "%s: if: unknown guard or option %q", what, c.Guard)
			continue
		}
		gr.conds = append(gr.conds, goCond{guard: gd, not: c.Not})
	}
	for i, name := range r.Do {
		a, ok := g.actionIdx[name]
		if !ok {
			g.errorf(at(r.DoPos, i), "%s: do: unknown action %q", what, name)
			continue
		}
		gr.do = append(gr.do, a)
	}
	if !r.Same {
		s, ok := g.stateIdx[r.To]
		if !ok {
			g.errorf(r.ToPos, "%s: to: unknown state %q", what, r.To)
		}
		gr.to = s
	}
	return gr
}

// resolvePairs lists the rules on each (state, event) and checks that no two
// of them can fire together: some guard must appear plain in one and negated
// in the other. Step would fire the first; stateless would panic.
func (g *goGen) resolvePairs() {
	g.pairs = make([][][]int, len(g.states))
	for s := range g.pairs {
		g.pairs[s] = make([][]int, len(g.events))
	}
	for i, gr := range g.rules {
		for _, s := range goUnique(gr.from) {
			for _, e := range goUnique(gr.on) {
				g.pairs[s][e] = append(g.pairs[s][e], i)
			}
		}
	}
	reported := map[[2]int]bool{}
	for s := range g.pairs {
		for e, list := range g.pairs[s] {
			for j := 1; j < len(list); j++ {
				for _, i := range list[:j] {
					a, b := &g.rules[i], &g.rules[list[j]]
					if goDisjoint(a.conds, b.conds) || reported[[2]int{i, list[j]}] {
						continue
					}
					reported[[2]int{i, list[j]}] = true
					g.errorf(b.r.Pos, "rule %s: can fire together with rule %s (%s) on %s, %s: their guards are not disjoint",
						b.r.ID, a.r.ID, a.r.Pos, g.m.States[s].Name, g.m.Events[e].Name)
				}
			}
		}
	}
}

// nameGuardFuncs names the stateless guard functions: one per guard form a
// rule uses, and one recorder per rule.
func (g *goGen) nameGuardFuncs() {
	for _, gr := range g.rules {
		for _, c := range gr.conds {
			form := 0
			if c.not {
				form = 1
			}
			if g.guardFuncs[c.guard][form] != "" {
				continue
			}
			gd := g.m.Guards[c.guard]
			name := goLowerFirst(spec.GoName(gd.Name))
			what := "guard " + gd.Name
			if c.not {
				name = "not" + spec.GoName(gd.Name)
				what = "negated guard !" + gd.Name
			}
			name = g.n(name)
			g.declare(name, what+" (its stateless guard function)", gd.Pos)
			g.guardFuncs[c.guard][form] = name
		}
	}
	for _, gr := range g.rules {
		g.declare(gr.recorder, "rule "+gr.r.ID+" (its stateless recorder)", gr.r.Pos)
	}
}

func goDisjoint(a, b []goCond) bool {
	for _, x := range a {
		for _, y := range b {
			if x.guard == y.guard && x.not != y.not {
				return true
			}
		}
	}
	return false
}

func goUnique(list []int) []int {
	var out []int
	for _, x := range list {
		dup := false
		for _, y := range out {
			dup = dup || x == y
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

// n is the Go name of a package-level name the generator declares, with
// the spec's prefix: "State" stays "State" without one and becomes
// "CCState" with prefix CC; unexported names take the prefix in lower case
// ("stateNames", "ccStateNames").
func (g *goGen) n(name string) string {
	p := g.m.Go.Prefix
	switch {
	case p == "":
		return name
	case token.IsExported(name):
		return p + name
	}
	return strings.ToLower(p) + goUpperFirst(name)
}

func goUpperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func goLowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// goComment is a // comment rendered verbatim, on one line.
func goComment(format string, args ...any) *jen.Statement {
	text := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	return jen.Comment("// " + text)
}

// goSentence ends s with a period unless it ends with one already.
func goSentence(s string) string {
	s = strings.TrimRight(s, " :")
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

func (g *goGen) header() string {
	return "// Code generated by tcpfsm gen from " + g.specName + "; DO NOT EDIT."
}

// cite renders a spec rfc field as a citation: a bare section is a section
// of the spec's document.
func (g *goGen) cite(rfc string) string {
	if g.m.RFC == "" || strings.HasPrefix(rfc, "RFC") {
		return rfc
	}
	return g.m.RFC + " " + rfc
}

func (g *goGen) newFile() *jen.File {
	f := jen.NewFilePathName(g.m.Go.Package, g.m.Go.PackageName())
	f.HeaderComment(g.header())
	return f
}
