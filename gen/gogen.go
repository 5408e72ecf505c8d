package gen

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"strconv"
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

// ---- machine_gen.go ----

func (g *goGen) machineFile() *jen.File {
	f := g.newFile()
	g.stateDecls(f)
	g.eventDecls(f)
	g.ruleDecls(f)
	g.actionsDecl(f)
	g.stepDecl(f)
	return f
}

// goEnumStringer writes String for an enum type whose names are in the array
// named table, with "Type(N)" for values out of range.
func goEnumStringer(f *jen.File, recv, typ, table, doc string) {
	f.Add(goComment("%s", doc))
	f.Func().Params(jen.Id(recv).Id(typ)).Id("String").Params().String().Block(
		jen.If(jen.Int().Call(jen.Id(recv)).Op("<").Len(jen.Id(table))).Block(
			jen.Return(jen.Id(table).Index(jen.Id(recv))),
		),
		jen.Return(jen.Lit(typ+"(").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Call(jen.Id(recv))).Op("+").Lit(")")),
	)
	f.Line()
}

// goEnumLookup writes a method returning table[recv], or zero when out of range.
func goEnumLookup(f *jen.File, recv, typ, method, result, table string, zero jen.Code, doc string) {
	f.Add(goComment("%s", doc))
	f.Func().Params(jen.Id(recv).Id(typ)).Id(method).Params().Id(result).Block(
		jen.If(jen.Int().Call(jen.Id(recv)).Op("<").Len(jen.Id(table))).Block(
			jen.Return(jen.Id(table).Index(jen.Id(recv))),
		),
		jen.Return(zero),
	)
	f.Line()
}

// goTable writes `var name = [size]elem{key: value, ...}`, one entry a line.
func goTable(f *jen.File, name, size, elem string, keys []string, values []jen.Code) {
	items := make([]jen.Code, len(keys))
	for i, k := range keys {
		items[i] = jen.Id(k).Op(":").Add(values[i])
	}
	f.Var().Id(name).Op("=").Index(jen.Id(size)).Id(elem).Custom(jen.Options{Open: "{", Close: "}", Separator: ",", Multi: true}, items...)
	f.Line()
}

func goStrings(list []string) []jen.Code {
	out := make([]jen.Code, len(list))
	for i, s := range list {
		out[i] = jen.Lit(s)
	}
	return out
}

func (g *goGen) stateDecls(f *jen.File) {
	m := g.m
	f.Add(goComment("State is a state of the %s machine. States are numbered in spec order;", m.Name))
	f.Add(goComment("a new machine starts in %s.", g.states[g.stateIdx[m.Initial]]))
	f.Type().Id(g.n("State")).Uint8()
	f.Line()
	var defs []jen.Code
	names := make([]string, len(m.States))
	docs := make([]string, len(m.States))
	for i, s := range m.States {
		names[i], docs[i] = s.Name, s.Doc
		doc := g.states[i] + " is " + s.Name
		if s.Doc != "" {
			doc += ": " + s.Doc
		}
		if s.RFC != "" {
			doc += " (" + g.cite(s.RFC) + ")"
		}
		doc = goSentence(doc)
		def := jen.Id(g.states[i])
		if i == 0 {
			def.Id(g.n("State")).Op("=").Iota()
		}
		defs = append(defs, goComment("%s", doc), def)
	}
	f.Add(goComment("The states of the %s machine.", m.Name))
	f.Const().Defs(defs...)
	f.Line()
	f.Add(goComment("NumStates is the number of states."))
	f.Const().Id(g.n("NumStates")).Op("=").Lit(len(m.States))
	f.Line()
	goEnumStringer(f, "s", g.n("State"), g.n("stateNames"), fmt.Sprintf("String returns the state's spec name, e.g. %q.", g.m.States[len(g.m.States)-1].Name))
	goEnumLookup(f, "s", g.n("State"), "Doc", "string", g.n("stateDocs"), jen.Lit(""), "Doc returns the state's description from the spec.")
	goTable(f, g.n("stateNames"), g.n("NumStates"), "string", g.states, goStrings(names))
	goTable(f, g.n("stateDocs"), g.n("NumStates"), "string", g.states, goStrings(docs))
}

func (g *goGen) eventDecls(f *jen.File) {
	m := g.m
	f.Add(goComment("EventKind says where an event comes from."))
	f.Type().Id(g.n("EventKind")).Uint8()
	f.Line()
	var defs []jen.Code
	var kindIDs, kindNames []string
	for i, k := range goKinds {
		def := jen.Id(g.n(k.id))
		if i == 0 {
			def.Id(g.n("EventKind")).Op("=").Iota()
		}
		defs = append(defs, def.Add(goComment("%s", k.doc)))
		kindIDs = append(kindIDs, g.n(k.id))
		kindNames = append(kindNames, string(k.kind))
	}
	f.Add(goComment("Event kinds."))
	f.Const().Defs(defs...)
	f.Line()
	goEnumStringer(f, "k", g.n("EventKind"), g.n("eventKindNames"), `String returns the kind's spec name: "user", "segment" or "timer".`)
	goTable(f, g.n("eventKindNames"), strconv.Itoa(len(goKinds)), "string", kindIDs, goStrings(kindNames))

	f.Add(goComment("Event is an input to the %s machine: a user call, a classified segment or a", m.Name))
	f.Add(goComment("timer. Events are numbered in spec order."))
	f.Type().Id(g.n("Event")).Uint8()
	f.Line()
	defs = nil
	names := make([]string, len(m.Events))
	docs := make([]string, len(m.Events))
	kinds := make([]jen.Code, len(m.Events))
	for i, e := range m.Events {
		names[i], docs[i], kinds[i] = e.Name, e.Doc, jen.Id(g.kinds[i])
		def := jen.Id(g.events[i])
		if i == 0 {
			def.Id(g.n("Event")).Op("=").Iota()
		}
		defs = append(defs, goComment("%s", goSentence(fmt.Sprintf("%s is %s, a %s event: %s", g.events[i], e.Name, e.Kind, e.Doc))), def)
	}
	f.Add(goComment("The events of the %s machine.", m.Name))
	if len(defs) > 0 {
		f.Const().Defs(defs...)
		f.Line()
	}
	f.Add(goComment("NumEvents is the number of events."))
	f.Const().Id(g.n("NumEvents")).Op("=").Lit(len(m.Events))
	f.Line()
	goEnumStringer(f, "e", g.n("Event"), g.n("eventNames"), `String returns the event's spec name, e.g. "rcv_syn".`)
	goEnumLookup(f, "e", g.n("Event"), "Kind", g.n("EventKind"), g.n("eventKinds"), jen.Op("^").Id(g.n("EventKind")).Call(jen.Lit(0)),
		"Kind returns the event's kind; an event out of range has an invalid kind.")
	goEnumLookup(f, "e", g.n("Event"), "Doc", "string", g.n("eventDocs"), jen.Lit(""), "Doc returns the event's description from the spec.")
	goTable(f, g.n("eventNames"), g.n("NumEvents"), "string", g.events, goStrings(names))
	goTable(f, g.n("eventKinds"), g.n("NumEvents"), g.n("EventKind"), g.events, kinds)
	goTable(f, g.n("eventDocs"), g.n("NumEvents"), "string", g.events, goStrings(docs))
}

func (g *goGen) ruleDecls(f *jen.File) {
	m := g.m
	f.Add(goComment("Rule identifies a row of the transition table: RuleNone, then the spec's"))
	f.Add(goComment("rules in spec order. Info returns what the spec says about it."))
	f.Type().Id(g.n("Rule")).Uint8()
	f.Line()
	defs := []jen.Code{
		goComment("RuleNone means no rule applied: the state is unchanged and nothing ran."),
		jen.Id(g.n("RuleNone")).Id(g.n("Rule")).Op("=").Iota(),
	}
	for _, gr := range g.rules {
		to := "same"
		if !gr.r.Same {
			to = gr.r.To
		}
		doc := fmt.Sprintf("%s is rule %s: in %s on %s -> %s", gr.id, gr.r.ID, strings.Join(gr.r.From, ", "), gr.r.Label(), to)
		if gr.r.RFC != "" {
			doc += " (" + g.cite(gr.r.RFC) + ")"
		}
		defs = append(defs, goComment("%s.", doc), jen.Id(gr.id))
	}
	f.Add(goComment("The rules of the %s machine.", m.Name))
	f.Const().Defs(defs...)
	f.Line()
	f.Add(goComment("NumRules is the number of rules, RuleNone included."))
	f.Const().Id(g.n("NumRules")).Op("=").Lit(len(g.rules) + 1)
	f.Line()

	f.Add(goComment(`String returns the rule's spec id, e.g. "listen_rcv_syn", or "none".`))
	f.Func().Params(jen.Id("r").Id(g.n("Rule"))).Id("String").Params().String().Block(
		jen.If(jen.Int().Call(jen.Id("r")).Op("<").Len(jen.Id(g.n("ruleInfos")))).Block(
			jen.Return(jen.Id(g.n("ruleInfos")).Index(jen.Id("r")).Dot("ID")),
		),
		jen.Return(jen.Lit("Rule(").Op("+").Qual("strconv", "Itoa").Call(jen.Int().Call(jen.Id("r"))).Op("+").Lit(")")),
	)
	f.Line()
	f.Add(goComment("Info returns the rule's metadata from the spec. It is never nil: a rule out"))
	f.Add(goComment("of range gets RuleNone's. The RuleInfo is shared and must not be modified."))
	f.Func().Params(jen.Id("r").Id(g.n("Rule"))).Id("Info").Params().Op("*").Id(g.n("RuleInfo")).Block(
		jen.If(jen.Int().Call(jen.Id("r")).Op("<").Len(jen.Id(g.n("ruleInfos")))).Block(
			jen.Return(jen.Op("&").Id(g.n("ruleInfos")).Index(jen.Id("r"))),
		),
		jen.Return(jen.Op("&").Id(g.n("ruleInfos")).Index(jen.Id(g.n("RuleNone")))),
	)
	f.Line()

	f.Add(goComment("RuleInfo is what the spec says about one rule."))
	f.Type().Id(g.n("RuleInfo")).Struct(
		jen.Id("ID").String().Add(goComment(`the rule's stable id, e.g. "listen_rcv_syn"`)),
		jen.Id("From").Index().Id(g.n("State")).Add(goComment("the states it applies in")),
		jen.Id("On").Index().Id(g.n("Event")).Add(goComment("the events it fires on")),
		jen.Id("If").Index().String().Add(goComment(`guards and options that must all hold; "!g" when negated`)),
		jen.Id("Do").Index().String().Add(goComment("actions, run in this order")),
		jen.Id("To").Id(g.n("State")).Add(goComment("the next state, unless Same is set")),
		jen.Id("Same").Bool().Add(goComment("the rule keeps the state (`to: same`)")),
		jen.Id("RFC").String().Add(goComment("the section it implements, as written in the spec")),
		jen.Id("Path").String().Add(goComment(`"active" or "passive" on the textbook paths, else ""`)),
		jen.Id("Line").Int().Add(goComment("the rule's line in the spec")),
	)
	f.Line()
	f.Add(goComment("Target returns the state the rule leads to from the state from."))
	f.Func().Params(jen.Id("ri").Op("*").Id(g.n("RuleInfo"))).Id("Target").Params(jen.Id("from").Id(g.n("State"))).Id(g.n("State")).Block(
		jen.If(jen.Id("ri").Dot("Same")).Block(jen.Return(jen.Id("from"))),
		jen.Return(jen.Id("ri").Dot("To")),
	)
	f.Line()

	keys := []string{g.n("RuleNone")}
	values := []jen.Code{jen.Values(jen.Id("ID").Op(":").Lit("none"), jen.Id("Same").Op(":").True())}
	for _, gr := range g.rules {
		keys = append(keys, gr.id)
		values = append(values, g.ruleInfo(&gr))
	}
	goTable(f, g.n("ruleInfos"), g.n("NumRules"), g.n("RuleInfo"), keys, values)
}

// ruleInfo renders one RuleInfo literal, leaving out empty fields.
func (g *goGen) ruleInfo(gr *goRule) jen.Code {
	r := gr.r
	fields := []jen.Code{jen.Id("ID").Op(":").Lit(r.ID)}
	ids := func(list []int, names []string) []jen.Code {
		out := make([]jen.Code, len(list))
		for i, x := range list {
			out[i] = jen.Id(names[x])
		}
		return out
	}
	if len(gr.from) > 0 {
		fields = append(fields, jen.Id("From").Op(":").Index().Id(g.n("State")).Values(ids(gr.from, g.states)...))
	}
	if len(gr.on) > 0 {
		fields = append(fields, jen.Id("On").Op(":").Index().Id(g.n("Event")).Values(ids(gr.on, g.events)...))
	}
	if len(r.If) > 0 {
		conds := make([]string, len(r.If))
		for i, c := range r.If {
			conds[i] = c.String()
		}
		fields = append(fields, jen.Id("If").Op(":").Index().String().Values(goStrings(conds)...))
	}
	if len(r.Do) > 0 {
		fields = append(fields, jen.Id("Do").Op(":").Index().String().Values(goStrings(r.Do)...))
	}
	if r.Same {
		fields = append(fields, jen.Id("Same").Op(":").True())
	} else {
		fields = append(fields, jen.Id("To").Op(":").Id(g.states[gr.to]))
	}
	if r.RFC != "" {
		fields = append(fields, jen.Id("RFC").Op(":").Lit(r.RFC))
	}
	if r.Path != "" {
		fields = append(fields, jen.Id("Path").Op(":").Lit(r.Path))
	}
	fields = append(fields, jen.Id("Line").Op(":").Lit(r.Pos.Line))
	return jen.Values(fields...)
}

func (g *goGen) actionsDecl(f *jen.File) {
	var methods []jen.Code
	for i, gd := range g.m.Guards {
		kind := "guard"
		if gd.Option {
			kind = "option"
		}
		methods = append(methods,
			goComment("%s", goSentence(fmt.Sprintf("%s reports whether %s %s holds: %s", g.guards[i], kind, gd.Name, gd.Doc))),
			jen.Id(g.guards[i]).Params().Bool())
	}
	for i, a := range g.m.Actions {
		methods = append(methods,
			goComment("%s", goSentence(fmt.Sprintf("%s is action %s: %s", g.actions[i], a.Name, a.Doc))),
			jen.Id(g.actions[i]).Params())
	}
	f.Add(goComment("Actions is what Step needs from the machine's data: one method per guard and option of"))
	f.Add(goComment("the spec, reporting whether it holds, and one per action."))
	f.Type().Id(g.n("Actions")).Interface(methods...)
	f.Line()
}

func (g *goGen) stepDecl(f *jen.File) {
	f.Add(goComment("Step fires the first rule on (s, e) whose guards hold, running its actions in"))
	f.Add(goComment("order, and returns the next state and the rule. If no rule applies it returns"))
	f.Add(goComment("(s, RuleNone) and runs nothing."))
	g.stepFunc(f, g.n("Step"), jen.Id(g.n("Actions")))
}

// stepFunc declares func name(s State, e Event, a recv) (State, Rule) with
// the dispatcher's switch as its body. Step and every GoDirect dispatcher
// share it, so they differ only in the type of a.
func (g *goGen) stepFunc(f *jen.File, name string, recv jen.Code) {
	var stateCases []jen.Code
	for s := range g.states {
		var eventCases []jen.Code
		for _, grp := range g.eventGroups(s) {
			eventCases = append(eventCases, jen.Case(grp.events...).Block(g.rows(s, grp.rules)...))
		}
		if len(eventCases) > 0 {
			stateCases = append(stateCases, jen.Case(jen.Id(g.states[s])).Block(jen.Switch(jen.Id("e")).Block(eventCases...)))
		}
	}
	f.Func().Id(name).Params(jen.Id("s").Id(g.n("State")), jen.Id("e").Id(g.n("Event")), jen.Id("a").Add(recv)).
		Params(jen.Id(g.n("State")), jen.Id(g.n("Rule"))).Block(
		jen.Switch(jen.Id("s")).Block(stateCases...),
		jen.Return(jen.Id("s"), jen.Id(g.n("RuleNone"))),
	)
}

// goEventGroup is the events of one state that have the same rules.
type goEventGroup struct {
	events []jen.Code
	rules  []int
}

// eventGroups groups the events of state s by their list of rules, in the
// order of each group's first event, leaving out events with no rule.
func (g *goGen) eventGroups(s int) []goEventGroup {
	var groups []goEventGroup
	index := map[string]int{}
	for e, rules := range g.pairs[s] {
		if len(rules) == 0 {
			continue
		}
		key := fmt.Sprint(rules)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, goEventGroup{rules: rules})
		}
		groups[i].events = append(groups[i].events, jen.Id(g.events[e]))
	}
	return groups
}

// rows renders the rules on one (state, event): each an if on its guards
// that runs the actions and returns.
func (g *goGen) rows(s int, rules []int) []jen.Code {
	var out []jen.Code
	for _, i := range rules {
		gr := &g.rules[i]
		to := gr.to
		if to < 0 {
			to = s
		}
		body := []jen.Code{}
		for _, a := range gr.do {
			body = append(body, jen.Id("a").Dot(g.actions[a]).Call())
		}
		body = append(body, jen.Return(jen.Id(g.states[to]), jen.Id(gr.id)))
		comment := gr.r.ID
		if gr.r.RFC != "" {
			comment += " (" + g.cite(gr.r.RFC) + ")"
		}
		out = append(out, goComment("%s", comment))
		if len(gr.conds) == 0 {
			out = append(out, body...)
			continue
		}
		out = append(out, jen.If(g.condExpr(jen.Id("a"), gr.conds)).Block(body...))
	}
	return out
}

// condExpr renders the conjunction of conds as calls on recv.
func (g *goGen) condExpr(recv *jen.Statement, conds []goCond) *jen.Statement {
	expr := jen.Null()
	for i, c := range conds {
		if i > 0 {
			expr.Op("&&")
		}
		call := recv.Clone().Dot(g.guards[c.guard]).Call()
		if c.not {
			expr.Op("!").Add(call)
		} else {
			expr.Add(call)
		}
	}
	return expr
}

// ---- stateless_gen.go ----

func (g *goGen) statelessFile() *jen.File {
	f := g.newFile()
	f.ImportName(goStatelessPkg, "stateless")
	sl := func(name string) *jen.Statement { return jen.Qual(goStatelessPkg, name) }
	ctx := func() *jen.Statement { return jen.Qual("context", "Context") }

	f.Add(goComment("Stateless is the transition table of Step built on github.com/qmuntal/stateless,"))
	f.Add(goComment("to cross-check the generated dispatcher and for introspection (ToGraph). Fire"))
	f.Add(goComment("evaluates guards only: it runs no actions. A Stateless is not safe for"))
	f.Add(goComment("concurrent use."))
	f.Type().Id(g.n("Stateless")).Struct(
		jen.Id("sm").Op("*").Add(sl("StateMachine")),
		jen.Id("state").Id(g.n("State")).Add(goComment("sm's state, stored outside it")),
		jen.Id("f").Id(g.n("firing")).Add(goComment("passed to every guard as args[0]")),
	)
	f.Line()
	f.Add(goComment("firing carries the Actions to the guards and brings back the rule that fired."))
	f.Add(goComment("Each row's guards end with its recorder (rule<Name>), which records the row"))
	f.Add(goComment("if the row's guards hold. The recorder re-checks them itself: stateless calls"))
	f.Add(goComment("every guard of every row on a trigger, not only up to the first that fails."))
	f.Type().Id(g.n("firing")).Struct(
		jen.Id("a").Id(g.n("Actions")),
		jen.Id("rule").Id(g.n("Rule")),
	)
	f.Line()
	f.Add(goComment("NewStateless returns a machine in state initial whose guards consult a."))
	f.Add(goComment("With a nil a, guarded rows never fire."))
	f.Func().Id(g.n("NewStateless")).Params(jen.Id("initial").Id(g.n("State")), jen.Id("a").Id(g.n("Actions"))).Op("*").Id(g.n("Stateless")).Block(
		jen.Id("m").Op(":=").Op("&").Id(g.n("Stateless")).Values(jen.Id("state").Op(":").Id("initial"), jen.Id("f").Op(":").Id(g.n("firing")).Values(jen.Id("a").Op(":").Id("a"))),
		jen.Id("m").Dot("sm").Op("=").Add(sl("NewStateMachineWithExternalStorage")).Call(jen.Id("m").Dot("load"), jen.Id("m").Dot("store"), sl("FiringImmediate")),
		jen.Id(g.n("configureStateless")).Call(jen.Id("m").Dot("sm")),
		jen.Return(jen.Id("m")),
	)
	f.Line()
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id("load").Params(ctx()).Params(sl(g.n("State")), jen.Error()).Block(
		jen.Return(jen.Id("m").Dot("state"), jen.Nil()),
	)
	f.Line()
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id("store").Params(jen.Id("_").Add(ctx()), jen.Id("s").Add(sl(g.n("State")))).Error().Block(
		jen.List(jen.Id("st"), jen.Id("ok")).Op(":=").Id("s").Assert(jen.Id(g.n("State"))),
		jen.If(jen.Op("!").Id("ok")).Block(
			jen.Return(jen.Qual("fmt", "Errorf").Call(jen.Lit("machine: stateless stored a %T, want a State"), jen.Id("s"))),
		),
		jen.Id("m").Dot("state").Op("=").Id("st"),
		jen.Return(jen.Nil()),
	)
	f.Line()
	f.Add(goComment("Fire offers e to the machine and returns the next state and the rule that"))
	f.Add(goComment("fired. If no rule applies it returns the current state, RuleNone and"))
	f.Add(goComment("stateless's error. No actions run."))
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id("Fire").Params(jen.Id("e").Id(g.n("Event"))).Params(jen.Id(g.n("State")), jen.Id(g.n("Rule")), jen.Error()).Block(
		jen.Id("m").Dot("f").Dot("rule").Op("=").Id(g.n("RuleNone")),
		jen.If(jen.Err().Op(":=").Id("m").Dot("sm").Dot("Fire").Call(jen.Id("e"), jen.Op("&").Id("m").Dot("f")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Id("m").Dot("state"), jen.Id(g.n("RuleNone")), jen.Err()),
		),
		jen.Return(jen.Id("m").Dot("state"), jen.Id("m").Dot("f").Dot("rule"), jen.Nil()),
	)
	f.Line()
	f.Add(goComment("State returns the current state."))
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id(g.n("State")).Params().Id(g.n("State")).Block(jen.Return(jen.Id("m").Dot("state")))
	f.Line()
	f.Add(goComment("SetState puts the machine in state s."))
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id("SetState").Params(jen.Id("s").Id(g.n("State"))).Block(jen.Id("m").Dot("state").Op("=").Id("s"))
	f.Line()
	f.Add(goComment("Machine returns the underlying stateless machine, for ToGraph and"))
	f.Add(goComment("introspection. Its guards need the argument Fire passes: fire through Fire."))
	f.Func().Params(jen.Id("m").Op("*").Id(g.n("Stateless"))).Id("Machine").Params().Op("*").Add(sl("StateMachine")).Block(jen.Return(jen.Id("m").Dot("sm")))
	f.Line()

	guardParams := func() []jen.Code { return []jen.Code{jen.Id("_").Add(ctx()), jen.Id("args").Op("...").Any()} }
	f.Add(goComment("firingOf returns the firing among a guard's arguments, or nil if there is"))
	f.Add(goComment("none or it has no Actions."))
	f.Func().Id(g.n("firingOf")).Params(jen.Id("args").Index().Any()).Op("*").Id(g.n("firing")).Block(
		jen.If(jen.Len(jen.Id("args")).Op("==").Lit(0)).Block(jen.Return(jen.Nil())),
		jen.If(jen.List(jen.Id("f"), jen.Id("ok")).Op(":=").Id("args").Index(jen.Lit(0)).Assert(jen.Op("*").Id(g.n("firing"))),
			jen.Id("ok").Op("&&").Id("f").Dot("a").Op("!=").Nil()).Block(jen.Return(jen.Id("f"))),
		jen.Return(jen.Nil()),
	)
	f.Line()
	f.Add(goComment("keepState is the action of the rows that keep the state; the Actions methods"))
	f.Add(goComment("do not run under stateless."))
	f.Func().Id(g.n("keepState")).Params(ctx(), jen.Op("...").Any()).Error().Block(jen.Return(jen.Nil()))
	f.Line()

	for i, gd := range g.m.Guards {
		for form, name := range g.guardFuncs[i] {
			if name == "" {
				continue
			}
			call := jen.Id("f").Dot("a").Dot(g.guards[i]).Call()
			if form == 1 {
				f.Add(goComment("%s is the stateless guard for !%s.", name, gd.Name))
				call = jen.Op("!").Add(call)
			} else {
				f.Add(goComment("%s is the stateless guard for %s.", name, gd.Name))
			}
			f.Func().Id(name).Params(guardParams()...).Bool().Block(
				jen.Id("f").Op(":=").Id(g.n("firingOf")).Call(jen.Id("args")),
				jen.Return(jen.Id("f").Op("!=").Nil().Op("&&").Add(call)),
			)
			f.Line()
		}
	}

	for _, gr := range g.rules {
		cond := jen.Id("f").Op("!=").Nil()
		if len(gr.conds) > 0 {
			cond.Op("&&").Add(g.condExpr(jen.Id("f").Dot("a"), gr.conds))
		}
		f.Add(goComment("%s records rule %s if its guards hold (see firing).", gr.recorder, gr.r.ID))
		f.Func().Id(gr.recorder).Params(guardParams()...).Bool().Block(
			jen.If(jen.Id("f").Op(":=").Id(g.n("firingOf")).Call(jen.Id("args")), cond).Block(
				jen.Id("f").Dot("rule").Op("=").Id(gr.id),
			),
			jen.Return(jen.True()),
		)
		f.Line()
	}

	var body []jen.Code
	for s := range g.states {
		stmt := jen.Id("sm").Dot("Configure").Call(jen.Id(g.states[s]))
		for e, rules := range g.pairs[s] {
			for _, i := range rules {
				gr := &g.rules[i]
				var guards []jen.Code
				for _, c := range gr.conds {
					form := 0
					if c.not {
						form = 1
					}
					guards = append(guards, jen.Id(g.guardFuncs[c.guard][form]))
				}
				guards = append(guards, jen.Id(gr.recorder))
				args := []jen.Code{jen.Id(g.events[e])}
				method := "InternalTransition"
				if gr.to >= 0 && gr.to != s {
					method = "Permit"
					args = append(args, jen.Id(g.states[gr.to]))
				} else {
					args = append(args, jen.Id(g.n("keepState")))
				}
				stmt.Op(".").Line().Id(method).Call(append(args, guards...)...)
			}
		}
		body = append(body, stmt)
	}
	f.Add(goComment("configureStateless adds every row of the table to sm: Permit when the state"))
	f.Add(goComment("changes, InternalTransition when it does not, each with the row's guards"))
	f.Add(goComment("and its recorder last."))
	f.Func().Id(g.n("configureStateless")).Params(jen.Id("sm").Op("*").Add(sl("StateMachine"))).Block(body...)
	return f
}
