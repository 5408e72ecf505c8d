// Writing machine_gen.go: the enums, the rule metadata, the Actions
// interface and Step.

package gen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"
)

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
