// Writing stateless_gen.go: the same table on github.com/qmuntal/stateless,
// to cross-check Step.

package gen

import (
	"github.com/dave/jennifer/jen"
)

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
