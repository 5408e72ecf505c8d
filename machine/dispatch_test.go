package machine

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/gen"
	"github.com/tcpfsm/tcpfsm/spec"
)

// fakeGuardNames are the spec's guards and options; bit i of
// fakeActions.guards is the value of fakeGuardNames[i].
var fakeGuardNames = [...]string{
	"ack_acceptable", "ack_in_range", "fin_acked", "rst_exact", "rst_in_window",
	"passive_open", "syn_new_incarnation", "syn_fin", "keepalive_exhausted", "syn_cookies", "cookie_valid", "paws_reject", "rfc1337",
}

// Bits of fakeActions.guards, in fakeGuardNames order.
const (
	fakeAckAcceptable uint16 = 1 << iota
	fakeAckInRange
	fakeFinAcked
	fakeRstExact
	fakeRstInWindow
	fakePassiveOpen
	fakeSynNewIncarnation
	fakeSynFin
	fakeKeepaliveExhausted
	fakeSynCookies
	fakeCookieValid
	fakePawsReject
	fakeRfc1337
)

// fakeActions is an Actions whose guards return scripted values and whose
// actions record that they ran. It records action numbers in a fixed array,
// not names in a slice, so that it costs the benchmarks next to nothing.
type fakeActions struct {
	guards uint16
	n      int       // actions run since the last reset
	ran    [16]uint8 // the first of them, as fakeActionNames indices
}

var _ Actions = (*fakeActions)(nil)

func (f *fakeActions) is(bit uint16) bool { return f.guards&bit != 0 }

// did records an action. It reads n once and writes it last, so that in a
// dispatcher that inlines several actions in a row the compiler carries n
// from one to the next in a register: incremented in place after the store
// to ran, which might alias it, n was reloaded from memory each time, a
// store-to-load round trip per action.
func (f *fakeActions) did(action uint8) {
	n := f.n
	if uint(n) < uint(len(f.ran)) {
		f.ran[n] = action
	}
	f.n = n + 1
}

// reset forgets the actions run so far.
func (f *fakeActions) reset() { f.n = 0 }

// log returns the spec names of the actions run since the last reset.
func (f *fakeActions) log() []string {
	out := []string{}
	for i := range min(f.n, len(f.ran)) {
		out = append(out, fakeActionNames[f.ran[i]])
	}
	if f.n > len(f.ran) {
		out = append(out, "(and more)")
	}
	return out
}

func (f *fakeActions) AckAcceptable() bool     { return f.is(fakeAckAcceptable) }
func (f *fakeActions) AckInRange() bool        { return f.is(fakeAckInRange) }
func (f *fakeActions) FinAcked() bool          { return f.is(fakeFinAcked) }
func (f *fakeActions) RstExact() bool          { return f.is(fakeRstExact) }
func (f *fakeActions) RstInWindow() bool       { return f.is(fakeRstInWindow) }
func (f *fakeActions) PassiveOpen() bool       { return f.is(fakePassiveOpen) }
func (f *fakeActions) SynNewIncarnation() bool { return f.is(fakeSynNewIncarnation) }
func (f *fakeActions) SynFin() bool            { return f.is(fakeSynFin) }
func (f *fakeActions) PawsReject() bool        { return f.is(fakePawsReject) }
func (f *fakeActions) KeepaliveExhausted() bool {
	return f.is(fakeKeepaliveExhausted)
}
func (f *fakeActions) SynCookies() bool  { return f.is(fakeSynCookies) }
func (f *fakeActions) CookieValid() bool { return f.is(fakeCookieValid) }
func (f *fakeActions) Rfc1337() bool     { return f.is(fakeRfc1337) }

// Actions of the fake, indices into fakeActionNames.
const (
	fakeCreateTcb uint8 = iota
	fakeSelectIss
	fakeSendSyn
	fakeAcceptSyn
	fakeSendSynack
	fakeTakeOptions
	fakeRememberPassive
	fakeRememberActive
	fakeCompleteOpen
	fakeCompletePassive
	fakeSendAck
	fakeSendChallengeAck
	fakeSendDupack
	fakeSendRstReply
	fakeSendRstAbort
	fakeProcessAck
	fakeAcceptText
	fakeAcceptFin
	fakeQueueSend
	fakeQueueFin
	fakeDeliver
	fakeErrClosing
	fakeSignalReset
	fakeSignalRefused
	fakeSignalTimeout
	fakeRetransmit
	fakeStart2msl
	fakeReincarnate
	fakeDeleteTcb
	fakeSendCookieSynack
	fakeAcceptCookie
	fakeSendKeepalive
	fakeNumActions
)

// fakeActionNames are the spec names of the fake's actions.
var fakeActionNames = [fakeNumActions]string{
	fakeCreateTcb:        "create_tcb",
	fakeSelectIss:        "select_iss",
	fakeSendSyn:          "send_syn",
	fakeAcceptSyn:        "accept_syn",
	fakeSendSynack:       "send_synack",
	fakeTakeOptions:      "take_options",
	fakeRememberPassive:  "remember_passive",
	fakeRememberActive:   "remember_active",
	fakeCompleteOpen:     "complete_open",
	fakeCompletePassive:  "complete_passive",
	fakeSendAck:          "send_ack",
	fakeSendChallengeAck: "send_challenge_ack",
	fakeSendDupack:       "send_dupack",
	fakeSendRstReply:     "send_rst_reply",
	fakeSendRstAbort:     "send_rst_abort",
	fakeProcessAck:       "process_ack",
	fakeAcceptText:       "accept_text",
	fakeAcceptFin:        "accept_fin",
	fakeQueueSend:        "queue_send",
	fakeQueueFin:         "queue_fin",
	fakeDeliver:          "deliver",
	fakeErrClosing:       "err_closing",
	fakeSignalReset:      "signal_reset",
	fakeSignalRefused:    "signal_refused",
	fakeSignalTimeout:    "signal_timeout",
	fakeRetransmit:       "retransmit",
	fakeStart2msl:        "start_2msl",
	fakeReincarnate:      "reincarnate",
	fakeDeleteTcb:        "delete_tcb",
	fakeSendCookieSynack: "send_cookie_synack",
	fakeAcceptCookie:     "accept_cookie",
	fakeSendKeepalive:    "send_keepalive",
}

func (f *fakeActions) CreateTcb()        { f.did(fakeCreateTcb) }
func (f *fakeActions) SelectIss()        { f.did(fakeSelectIss) }
func (f *fakeActions) SendSyn()          { f.did(fakeSendSyn) }
func (f *fakeActions) AcceptSyn()        { f.did(fakeAcceptSyn) }
func (f *fakeActions) SendSynack()       { f.did(fakeSendSynack) }
func (f *fakeActions) TakeOptions()      { f.did(fakeTakeOptions) }
func (f *fakeActions) RememberPassive()  { f.did(fakeRememberPassive) }
func (f *fakeActions) RememberActive()   { f.did(fakeRememberActive) }
func (f *fakeActions) CompleteOpen()     { f.did(fakeCompleteOpen) }
func (f *fakeActions) CompletePassive()  { f.did(fakeCompletePassive) }
func (f *fakeActions) SendAck()          { f.did(fakeSendAck) }
func (f *fakeActions) SendChallengeAck() { f.did(fakeSendChallengeAck) }
func (f *fakeActions) SendDupack()       { f.did(fakeSendDupack) }
func (f *fakeActions) SendRstReply()     { f.did(fakeSendRstReply) }
func (f *fakeActions) SendRstAbort()     { f.did(fakeSendRstAbort) }
func (f *fakeActions) ProcessAck()       { f.did(fakeProcessAck) }
func (f *fakeActions) AcceptText()       { f.did(fakeAcceptText) }
func (f *fakeActions) AcceptFin()        { f.did(fakeAcceptFin) }
func (f *fakeActions) QueueSend()        { f.did(fakeQueueSend) }
func (f *fakeActions) QueueFin()         { f.did(fakeQueueFin) }
func (f *fakeActions) Deliver()          { f.did(fakeDeliver) }
func (f *fakeActions) ErrClosing()       { f.did(fakeErrClosing) }
func (f *fakeActions) SignalReset()      { f.did(fakeSignalReset) }
func (f *fakeActions) SignalRefused()    { f.did(fakeSignalRefused) }
func (f *fakeActions) SignalTimeout()    { f.did(fakeSignalTimeout) }
func (f *fakeActions) Retransmit()       { f.did(fakeRetransmit) }
func (f *fakeActions) Start2msl()        { f.did(fakeStart2msl) }
func (f *fakeActions) Reincarnate()      { f.did(fakeReincarnate) }
func (f *fakeActions) SendKeepalive()    { f.did(fakeSendKeepalive) }
func (f *fakeActions) SendCookieSynack() { f.did(fakeSendCookieSynack) }
func (f *fakeActions) AcceptCookie()     { f.did(fakeAcceptCookie) }
func (f *fakeActions) DeleteTcb()        { f.did(fakeDeleteTcb) }

// fakeGuardBit returns the bit of the named guard or option.
func fakeGuardBit(t testing.TB, name string) uint16 {
	t.Helper()
	i := slices.Index(fakeGuardNames[:], name)
	if i < 0 {
		t.Fatalf("guard %q is not in fakeGuardNames", name)
	}
	return 1 << i
}

// fakeConds splits a RuleInfo.If list into the bits that must be set and the
// bits that must be clear.
func fakeConds(t testing.TB, conds []string) (set, clear uint16) {
	t.Helper()
	for _, c := range conds {
		if name, neg := strings.CutPrefix(c, "!"); neg {
			clear |= fakeGuardBit(t, name)
		} else {
			set |= fakeGuardBit(t, c)
		}
	}
	return set, clear
}

// fakeAssignments is every value of fakeActions.guards.
const fakeAssignments = 1 << len(fakeGuardNames)

func dispatchLoadSpec(t *testing.T) *spec.Machine {
	t.Helper()
	m, err := spec.Load("../spec/tcp.yaml")
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	return m
}

// TestDispatchFakeMatchesSpec checks the fake against the spec through reflection, so
// the tests below can trust that a guard's bit and an action's log entry are
// the spec's: method GoName(g) reads g's bit, method GoName(a) logs a.
func TestDispatchFakeMatchesSpec(t *testing.T) {
	m := dispatchLoadSpec(t)
	actions := reflect.TypeFor[Actions]()
	if want := len(m.Guards) + len(m.Actions); actions.NumMethod() != want {
		t.Errorf("Actions has %d methods, the spec %d guards, options and actions", actions.NumMethod(), want)
	}
	var names []string
	for _, g := range m.Guards {
		names = append(names, g.Name)
	}
	if !slices.Equal(names, fakeGuardNames[:]) {
		t.Fatalf("fakeGuardNames = %v, spec guards and options = %v", fakeGuardNames, names)
	}
	for _, g := range m.Guards {
		bit := fakeGuardBit(t, g.Name)
		for _, guards := range []uint16{bit, ^bit} {
			f := &fakeActions{guards: guards}
			meth := reflect.ValueOf(f).MethodByName(spec.GoName(g.Name))
			if !meth.IsValid() {
				t.Fatalf("fakeActions has no method %s for guard %s", spec.GoName(g.Name), g.Name)
			}
			if got, want := meth.Call(nil)[0].Bool(), guards == bit; got != want {
				t.Errorf("with guards %#x, %s() = %v, want %v", guards, spec.GoName(g.Name), got, want)
			}
		}
	}
	for _, a := range m.Actions {
		f := &fakeActions{}
		meth := reflect.ValueOf(f).MethodByName(spec.GoName(a.Name))
		if !meth.IsValid() {
			t.Fatalf("fakeActions has no method %s for action %s", spec.GoName(a.Name), a.Name)
		}
		meth.Call(nil)
		if !slices.Equal(f.log(), []string{a.Name}) {
			t.Errorf("%s() logged %v, want [%s]", spec.GoName(a.Name), f.log(), a.Name)
		}
	}
}

// TestGeneratedEnumsMatchSpec checks the generated names, docs, kinds and rule
// metadata against the spec they were generated from.
func TestGeneratedEnumsMatchSpec(t *testing.T) {
	m := dispatchLoadSpec(t)
	if NumStates != len(m.States) || NumEvents != len(m.Events) || NumRules != len(m.Rules)+1 {
		t.Fatalf("NumStates, NumEvents, NumRules = %d, %d, %d; spec has %d states, %d events, %d rules (+ RuleNone)",
			NumStates, NumEvents, NumRules, len(m.States), len(m.Events), len(m.Rules))
	}
	stateOf := func(name string) State { return State(m.StateIndex(name)) }
	for i, s := range m.States {
		if got := State(i); got.String() != s.Name || got.Doc() != s.Doc {
			t.Errorf("State(%d) = %q, %q; spec: %q, %q", i, got, got.Doc(), s.Name, s.Doc)
		}
	}
	for i, e := range m.Events {
		if got := Event(i); got.String() != e.Name || got.Doc() != e.Doc || got.Kind().String() != string(e.Kind) {
			t.Errorf("Event(%d) = %q, %q, kind %v; spec: %q, %q, %s", i, got, got.Doc(), got.Kind(), e.Name, e.Doc, e.Kind)
		}
	}
	for i := range m.Rules {
		r := &m.Rules[i]
		want := RuleInfo{ID: r.ID, Same: r.Same, RFC: r.RFC, Path: r.Path, Line: r.Pos.Line, Do: r.Do}
		for _, s := range r.From {
			want.From = append(want.From, stateOf(s))
		}
		for _, e := range r.On {
			want.On = append(want.On, Event(m.EventIndex(e)))
		}
		for _, c := range r.If {
			want.If = append(want.If, c.String())
		}
		if !r.Same {
			want.To = stateOf(r.To)
		}
		rule := Rule(i + 1)
		if got := rule.Info(); !reflect.DeepEqual(*got, want) {
			t.Errorf("Rule(%d).Info() = %+v, want %+v", i+1, *got, want)
		}
		if rule.String() != r.ID {
			t.Errorf("Rule(%d).String() = %q, want %q", i+1, rule, r.ID)
		}
	}
	if RuleNone.String() != "none" || RuleNone.Info() == nil {
		t.Errorf("RuleNone = %q, info %v", RuleNone, RuleNone.Info())
	}
	// Out of range values print as their number and never index out of bounds.
	if got, want := State(NumStates).String(), "State("+strconv.Itoa(NumStates)+")"; got != want {
		t.Errorf("State(NumStates).String() = %q, want %q", got, want)
	}
	if got := Rule(255).Info(); got != RuleNone.Info() {
		t.Errorf("Rule(255).Info() = %+v, want RuleNone's", got)
	}
	if got := Event(255); got.String() != "Event(255)" || got.Doc() != "" || got.Kind().String() != "EventKind(255)" {
		t.Errorf("Event(255) = %q, doc %q, kind %q", got, got.Doc(), got.Kind())
	}
}

// TestStepEveryRule fires every rule from each of its states on each of its
// events, under every guard assignment that makes its guards true, and checks
// the rule, the next state, the actions and their order, and that stateless
// agrees.
func TestStepEveryRule(t *testing.T) {
	for r := Rule(1); r < NumRules; r++ {
		info := r.Info()
		set, clear := fakeConds(t, info.If)
		for _, s := range info.From {
			for _, e := range info.On {
				want := info.Target(s)
				for guards := uint16(0); guards < fakeAssignments; guards++ {
					if guards&set != set || guards&clear != 0 {
						continue
					}
					f := &fakeActions{guards: guards}
					next, got := Step(s, e, f)
					if got != r || next != want {
						t.Fatalf("Step(%v, %v) with guards %#x = %v, %v; want %v, %v", s, e, guards, next, got, want, r)
					}
					if !slices.Equal(f.log(), info.Do) {
						t.Fatalf("rule %v: Step(%v, %v) ran %v, want %v", r, s, e, f.log(), info.Do)
					}
					if guards != set {
						continue // stateless is checked on every assignment by TestStepAgreesWithStateless
					}
					sl := NewStateless(s, &fakeActions{guards: guards})
					next, got, err := sl.Fire(e)
					if err != nil || got != r || next != want {
						t.Fatalf("Stateless in %v: Fire(%v) = %v, %v, %v; want %v, %v, nil", s, e, next, got, err, want, r)
					}
				}
			}
		}
	}
}

// dispatchWant is the oracle: the first rule, by RuleInfo, on (s, e) whose
// guards hold under guards.
func dispatchWant(t *testing.T, s State, e Event, guards uint16) (State, Rule) {
	for r := Rule(1); r < NumRules; r++ {
		info := r.Info()
		if !slices.Contains(info.From, s) || !slices.Contains(info.On, e) {
			continue
		}
		if set, clear := fakeConds(t, info.If); guards&set == set && guards&clear == 0 {
			return info.Target(s), r
		}
	}
	return s, RuleNone
}

// TestStepAgreesWithStateless runs every (state, event, guard assignment)
// through Step, Stateless and the direct dispatcher stepFake, and checks them
// against the rule metadata.
func TestStepAgreesWithStateless(t *testing.T) {
	f := &fakeActions{}
	sl := NewStateless(StateClosed, f)
	fired := 0
	for s := range State(NumStates) {
		for e := range Event(NumEvents) {
			for guards := uint16(0); guards < fakeAssignments; guards++ {
				wantNext, wantRule := dispatchWant(t, s, e, guards)

				f.guards = guards
				f.reset()
				next, rule := Step(s, e, f)
				if next != wantNext || rule != wantRule {
					t.Fatalf("Step(%v, %v) with guards %#x = %v, %v; want %v, %v", s, e, guards, next, rule, wantNext, wantRule)
				}
				if !slices.Equal(f.log(), rule.Info().Do) {
					t.Fatalf("Step(%v, %v) with guards %#x (rule %v) ran %v, want %v", s, e, guards, rule, f.log(), rule.Info().Do)
				}

				f.reset()
				if dnext, drule := stepFake(s, e, f); dnext != next || drule != rule || !slices.Equal(f.log(), rule.Info().Do) {
					t.Fatalf("stepFake(%v, %v) with guards %#x = %v, %v and ran %v; Step: %v, %v and %v",
						s, e, guards, dnext, drule, f.log(), next, rule, rule.Info().Do)
				}

				f.reset()
				sl.SetState(s)
				next, rule, err := sl.Fire(e)
				if f.n != 0 {
					t.Fatalf("Stateless.Fire ran actions %v", f.log())
				}
				if wantRule == RuleNone {
					if err == nil || next != s || rule != RuleNone {
						t.Fatalf("Stateless in %v: Fire(%v) with guards %#x = %v, %v, %v; want %v, none, an error", s, e, guards, next, rule, err, s)
					}
					continue
				}
				fired++
				if err != nil || next != wantNext || rule != wantRule {
					t.Fatalf("Stateless in %v: Fire(%v) with guards %#x = %v, %v, %v; want %v, %v", s, e, guards, next, rule, err, wantNext, wantRule)
				}
			}
		}
	}
	if fired == 0 {
		t.Fatal("no (state, event, guards) fired a rule")
	}
}

// TestStatelessGuardsAreNamed checks that stateless sees the generated guard
// functions by name, not as anonymous closures.
func TestStatelessGuardsAreNamed(t *testing.T) {
	graph := NewStateless(StateClosed, &fakeActions{}).Machine().ToGraph()
	if strings.Contains(graph, "func1") {
		t.Errorf("stateless graph names a closure:\n%s", graph)
	}
	for _, g := range fakeGuardNames {
		name := spec.GoName(g)
		name = strings.ToLower(name[:1]) + name[1:]
		if !strings.Contains(graph, name) {
			t.Errorf("stateless graph does not name guard %s (%s)", g, name)
		}
	}
	for r := Rule(1); r < NumRules; r++ {
		if name := "rule" + spec.GoName(r.String()); !strings.Contains(graph, name) {
			t.Errorf("stateless graph does not name recorder %s", name)
		}
	}
}

// TestStepDoesNotAllocate checks the hot path's allocation budget, zero, for
// Step and for a direct dispatcher.
func TestStepDoesNotAllocate(t *testing.T) {
	for _, d := range []struct {
		name string
		step func(State, Event, *fakeActions) (State, Rule)
	}{
		{"Step", func(s State, e Event, f *fakeActions) (State, Rule) { return Step(s, e, f) }},
		{"stepFake", stepFake},
	} {
		f := &fakeActions{}
		allocs := testing.AllocsPerRun(100, func() {
			for _, side := range benchLifecycles {
				s := StateClosed
				for _, st := range side {
					f.guards = st.guards
					f.reset()
					s, _ = d.step(s, st.ev, f)
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%s allocates %.1f times per lifecycle, want 0", d.name, allocs)
		}
	}
}

// directDispatchers are the files mkdispatch.go writes: Step's switch for
// one concrete type each.
var directDispatchers = []struct{ file, fn, recv string }{
	{"dispatch_conn_gen.go", "stepConn", "*Conn"},
	{"dispatch_fake_gen_test.go", "stepFake", "*fakeActions"},
}

// TestDirectDispatchersUpToDate checks that the direct dispatchers on disk are
// what gen.GoDirect makes of the spec today.
func TestDirectDispatchersUpToDate(t *testing.T) {
	m := dispatchLoadSpec(t)
	for _, d := range directDispatchers {
		want, err := gen.GoDirect(m, "spec/tcp.yaml", d.fn, d.recv)
		if err != nil {
			t.Fatalf("GoDirect(%s, %s): %v", d.fn, d.recv, err)
		}
		got, err := os.ReadFile(d.file)
		if err != nil {
			t.Fatalf("%v (run go generate ./machine/)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./machine/", d.file)
		}
	}
}

// TestDirectDispatchersAreStep checks, on the syntax trees of the files on
// disk, that each direct dispatcher is Step with another type for a: same
// parameters otherwise, same results, same body.
func TestDirectDispatchersAreStep(t *testing.T) {
	fset := token.NewFileSet()
	decl := func(file, fn string) *ast.FuncDecl {
		t.Helper()
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == fn {
				return fd
			}
		}
		t.Fatalf("%s declares no func %s", file, fn)
		return nil
	}
	src := func(n ast.Node) string {
		var b strings.Builder
		if err := printer.Fprint(&b, fset, n); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	// params renders the parameter list with a's type replaced by "A".
	params := func(fd *ast.FuncDecl) string {
		var out []string
		for _, f := range fd.Type.Params.List {
			for _, n := range f.Names {
				typ := src(f.Type)
				if n.Name == "a" {
					typ = "A"
				}
				out = append(out, n.Name+" "+typ)
			}
		}
		return strings.Join(out, ", ")
	}
	results := func(fd *ast.FuncDecl) string {
		var out []string
		for _, f := range fd.Type.Results.List {
			out = append(out, src(f.Type))
		}
		return strings.Join(out, ", ")
	}
	step := decl("machine_gen.go", "Step")
	if got := src(step.Type.Params.List[len(step.Type.Params.List)-1].Type); got != "Actions" {
		t.Fatalf("Step's a is %s, want Actions", got)
	}
	for _, d := range directDispatchers {
		fd := decl(d.file, d.fn)
		if got := src(fd.Type.Params.List[len(fd.Type.Params.List)-1].Type); got != d.recv {
			t.Errorf("%s's a is %s, want %s", d.fn, got, d.recv)
		}
		if got, want := params(fd), params(step); got != want {
			t.Errorf("%s takes (%s), Step (%s)", d.fn, got, want)
		}
		if got, want := results(fd), results(step); got != want {
			t.Errorf("%s returns %s, Step %s", d.fn, got, want)
		}
		if src(fd.Body) != src(step.Body) {
			t.Errorf("%s's body differs from Step's", d.fn)
		}
	}
}
