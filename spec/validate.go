package spec

import (
	"fmt"
	"go/token"
	"regexp"
	"strings"
)

// Validate checks that a decoded spec is well-formed and returns every
// problem found, sorted by position (nil if there is none):
//
//   - names are unique and well spelled;
//   - the go key, if present, names an import path and a usable prefix;
//   - initial, final and every name a rule uses are declared;
//   - each rule is well formed (no repeats, no g && !g, a target state);
//   - rules sharing a (state, event) have disjoint guards;
//   - every state is reachable from initial and can reach final;
//   - every declared event, guard, option and action is used.
//
// Each check is one method of validator below; docs/spec.md lists them with
// an example message for each.
func Validate(m *Machine) ErrorList {
	v := &validator{m: m}
	v.duplicates()
	v.spelling()
	v.goTarget()
	v.endpoints()
	v.references()
	v.ruleShapes()
	v.overlaps()
	v.reachable()
	v.coreachable()
	v.unused()
	v.errs.Sort()
	return v.errs
}

type validator struct {
	m    *Machine
	errs ErrorList
}

func (v *validator) errorf(pos Pos, format string, args ...any) {
	v.errs = append(v.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// decl is one declared name, whatever its kind.
type decl struct {
	kind string // "state", "event", "guard", "option", "action", "rule ID"
	name string
	pos  Pos
}

func (v *validator) stateDecls() []decl {
	out := make([]decl, len(v.m.States))
	for i, s := range v.m.States {
		out[i] = decl{"state", s.Name, s.Pos}
	}
	return out
}

func (v *validator) eventDecls() []decl {
	out := make([]decl, len(v.m.Events))
	for i, e := range v.m.Events {
		out[i] = decl{"event", e.Name, e.Pos}
	}
	return out
}

// guardDecls returns guards and options: they share one namespace.
func (v *validator) guardDecls() []decl {
	out := make([]decl, len(v.m.Guards))
	for i, g := range v.m.Guards {
		kind := "guard"
		if g.Option {
			kind = "option"
		}
		out[i] = decl{kind, g.Name, g.Pos}
	}
	return out
}

func (v *validator) actionDecls() []decl {
	out := make([]decl, len(v.m.Actions))
	for i, a := range v.m.Actions {
		out[i] = decl{"action", a.Name, a.Pos}
	}
	return out
}

func (v *validator) ruleDecls() []decl {
	out := make([]decl, len(v.m.Rules))
	for i, r := range v.m.Rules {
		out[i] = decl{"rule ID", r.ID, r.Pos}
	}
	return out
}

// duplicates reports a name declared twice within one namespace, and two
// names that differ but would become the same Go identifier in generated code
// ("a_1" and "a1" are both A1).
func (v *validator) duplicates() {
	for _, decls := range [][]decl{v.stateDecls(), v.eventDecls(), v.guardDecls(), v.actionDecls(), v.ruleDecls()} {
		byName := map[string]decl{}
		byGo := map[string]decl{}
		for _, d := range decls {
			if first, ok := byName[d.name]; ok {
				as := ""
				if first.kind != d.kind {
					as = " as " + article(first.kind)
				}
				v.errorf(d.pos, "duplicate %s %q (first declared%s at %s)", d.kind, d.name, as, first.pos)
				continue
			}
			byName[d.name] = d
			goName := GoName(d.name)
			if first, ok := byGo[goName]; ok && goName != "" {
				v.errorf(d.pos, "%s %q and %s %q (%s) have the same Go name %s", d.kind, d.name, first.kind, first.name, first.pos, goName)
				continue
			}
			byGo[goName] = d
		}
	}
}

func article(kind string) string {
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an " + kind
	}
	return "a " + kind
}

var (
	snakeCase  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	stateCase  = regexp.MustCompile(`^[A-Z][A-Z0-9-]*$`)
	importElem = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// spelling reports names that break the naming rules: states are upper case
// with '-' (as in the RFC), everything else is snake_case.
func (v *validator) spelling() {
	for _, d := range v.stateDecls() {
		if !stateCase.MatchString(d.name) {
			v.errorf(d.pos, "state name %q must match [A-Z][A-Z0-9-]* (like SYN-SENT)", d.name)
		}
	}
	for _, decls := range [][]decl{v.eventDecls(), v.guardDecls(), v.actionDecls(), v.ruleDecls()} {
		for _, d := range decls {
			if !snakeCase.MatchString(d.name) {
				v.errorf(d.pos, "%s %q must be snake_case: [a-z][a-z0-9_]*", d.kind, d.name)
			}
		}
	}
}

// goTarget checks the go key: the package is an import path whose last
// element is a Go package name, the prefix an exported identifier or "".
// A spec without the key is valid; the Go generator requires it.
func (v *validator) goTarget() {
	g := v.m.Go
	if g.Package == "" && g.Prefix == "" {
		return
	}
	if g.Package == "" {
		v.errorf(g.Pos, "go.package is empty: name the generated code's import path")
	}
	pathOK := g.Package != ""
	for _, elem := range strings.Split(g.Package, "/") {
		if pathOK && !importElem.MatchString(elem) {
			v.errorf(g.Pos, "go.package %q: path element %q is not a valid import path element", g.Package, elem)
			pathOK = false
		}
	}
	if name := g.PackageName(); pathOK && (!token.IsIdentifier(name) || name == "main") {
		v.errorf(g.Pos, "go.package %q: its last element %q is not a usable Go package name", g.Package, name)
	}
	if g.Prefix != "" && (!token.IsIdentifier(g.Prefix) || !token.IsExported(g.Prefix)) {
		v.errorf(g.Pos, "go.prefix %q is not an exported Go identifier (like CC), nor empty", g.Prefix)
	}
}

// endpoints reports an initial or final state that is not declared. Decode
// already reports these at the offending name; this catches a Machine built
// in code, at m.Pos.
func (v *validator) endpoints() {
	names := stateNames(v.m)
	for _, e := range []struct{ what, name string }{{"initial", v.m.Initial}, {"final", v.m.Final}} {
		if v.m.StateIndex(e.name) < 0 {
			v.errorf(v.m.Pos, "%s state %q is not a declared state%s", e.what, e.name, suggest(e.name, names))
		}
	}
}

// references reports a name in a rule that is not declared, suggesting the
// closest declared name of the same kind.
func (v *validator) references() {
	states, events := stateNames(v.m), namesOf(v.eventDecls())
	guards, actions := namesOf(v.guardDecls()), namesOf(v.actionDecls())
	for i := range v.m.Rules {
		r := &v.m.Rules[i]
		for j, s := range r.From {
			v.reference(r, posAt(r.FromPos, j, r.Pos), "state", s, states)
		}
		if !r.Same && r.To != "" {
			v.reference(r, r.ToPos, "state", r.To, states)
		}
		for j, e := range r.On {
			v.reference(r, posAt(r.OnPos, j, r.Pos), "event", e, events)
		}
		for _, c := range r.If {
			v.reference(r, c.Pos, "guard or option", c.Guard, guards)
		}
		for j, a := range r.Do {
			v.reference(r, posAt(r.DoPos, j, r.Pos), "action", a, actions)
		}
	}
}

func (v *validator) reference(r *Rule, pos Pos, kind, name string, declared []string) {
	if !contains(declared, name) {
		v.errorf(pos, "rule %s: unknown %s %q%s", ruleName(r), kind, name, suggest(name, declared))
	}
}

// ruleShapes reports rules that are malformed on their own: no source state
// or event, a state, event or guard listed twice, a guard required both true
// and false, or no target state.
func (v *validator) ruleShapes() {
	for i := range v.m.Rules {
		r := &v.m.Rules[i]
		if len(r.From) == 0 {
			v.errorf(r.Pos, "rule %s has no from: state", ruleName(r))
		}
		if len(r.On) == 0 {
			v.errorf(r.Pos, "rule %s has no on: event", ruleName(r))
		}
		v.repeats(r, "state", "from", r.From, r.FromPos)
		v.repeats(r, "event", "on", r.On, r.OnPos)
		v.guardRepeats(r)
		if r.To == "" && !r.Same {
			v.errorf(orPos(r.ToPos, r.Pos), "rule %s has no to: state (name a state, or write to: same to stay)", ruleName(r))
		}
	}
}

func (v *validator) repeats(r *Rule, kind, key string, names []string, pos []Pos) {
	for j, name := range names {
		if contains(names[:j], name) {
			v.errorf(posAt(pos, j, r.Pos), "rule %s lists %s %q twice in %s:", ruleName(r), kind, name, key)
		}
	}
}

func (v *validator) guardRepeats(r *Rule) {
	for j, c := range r.If {
		for _, prev := range r.If[:j] {
			if prev.Guard != c.Guard {
				continue
			}
			if prev.Not == c.Not {
				v.errorf(c.Pos, "rule %s lists guard %q twice in if:", ruleName(r), c.String())
			} else {
				v.errorf(c.Pos, "rule %s requires both %s and !%s, so it can never fire", ruleName(r), c.Guard, c.Guard)
			}
			break
		}
	}
}

// overlaps reports two rules that can both fire on one (state, event): each
// pair sharing a (state, event) must be disjoint, some guard being g in one
// and !g in the other. A pair is reported once, at the later rule, for the
// first (state, event) they share.
func (v *validator) overlaps() {
	rules := v.m.Rules
	for j := range rules {
		for i := range rules[:j] {
			a, b := &rules[i], &rules[j]
			state, event, ok := shared(a, b)
			if !ok || disjoint(a, b) {
				continue
			}
			v.errorf(b.Pos, "rule %s overlaps rule %s (%s:%d) in %s on %s: no guard is g in one and !g in the other, so both can fire",
				ruleName(b), ruleName(a), a.Pos.File, a.Pos.Line, state, event)
		}
	}
}

// shared returns the first (state, event), in b's order, that both rules handle.
func shared(a, b *Rule) (state, event string, ok bool) {
	for _, s := range b.From {
		if !contains(a.From, s) {
			continue
		}
		for _, e := range b.On {
			if contains(a.On, e) {
				return s, e, true
			}
		}
	}
	return "", "", false
}

// disjoint reports whether some guard is required true by one rule and false
// by the other, so they never fire together.
func disjoint(a, b *Rule) bool {
	for _, ca := range a.If {
		for _, cb := range b.If {
			if ca.Guard == cb.Guard && ca.Not != cb.Not {
				return true
			}
		}
	}
	return false
}

// reachable reports states that no sequence of rules leads to from initial.
// to: same does not move.
func (v *validator) reachable() {
	if v.m.StateIndex(v.m.Initial) < 0 {
		return // reported by endpoints
	}
	seen := v.closure(v.m.Initial, true)
	for _, s := range v.m.States {
		if !seen[s.Name] {
			v.errorf(s.Pos, "state %s is unreachable from initial state %s", s.Name, v.m.Initial)
		}
	}
}

// coreachable reports states from which no sequence of rules leads to final.
func (v *validator) coreachable() {
	if v.m.StateIndex(v.m.Final) < 0 {
		return // reported by endpoints
	}
	seen := v.closure(v.m.Final, false)
	for _, s := range v.m.States {
		if !seen[s.Name] {
			v.errorf(s.Pos, "state %s has no path to final state %s", s.Name, v.m.Final)
		}
	}
}

// closure returns the states connected to start by the rules' edges,
// followed forwards (from -> to) or backwards (to -> from).
func (v *validator) closure(start string, forward bool) map[string]bool {
	seen := map[string]bool{start: true}
	for changed := true; changed; {
		changed = false
		for i := range v.m.Rules {
			r := &v.m.Rules[i]
			for _, from := range r.From {
				src, dst := from, r.Target(from)
				if !forward {
					src, dst = dst, src
				}
				if seen[src] && !seen[dst] {
					seen[dst], changed = true, true
				}
			}
		}
	}
	return seen
}

// unused reports declared events, guards, options and actions that no rule uses.
func (v *validator) unused() {
	used := map[string]bool{} // kind + " " + name
	for _, r := range v.m.Rules {
		for _, e := range r.On {
			used["event "+e] = true
		}
		for _, c := range r.If {
			used["guard "+c.Guard] = true
		}
		for _, a := range r.Do {
			used["action "+a] = true
		}
	}
	for _, decls := range [][]decl{v.eventDecls(), v.guardDecls(), v.actionDecls()} {
		for _, d := range decls {
			kind := d.kind
			if kind == "option" {
				kind = "guard"
			}
			if !used[kind+" "+d.name] {
				v.errorf(d.pos, "%s %q is declared but no rule uses it", d.kind, d.name)
			}
		}
	}
}

// posAt returns pos[i], or def if a Machine built in code left it out.
func posAt(pos []Pos, i int, def Pos) Pos {
	if i < len(pos) {
		return pos[i]
	}
	return def
}

// orPos returns p, or def if p was never set.
func orPos(p, def Pos) Pos {
	if p.Line == 0 {
		return def
	}
	return p
}

func ruleName(r *Rule) string {
	if r.ID == "" {
		return "(no id)"
	}
	return r.ID
}

func stateNames(m *Machine) []string {
	out := make([]string, len(m.States))
	for i, s := range m.States {
		out[i] = s.Name
	}
	return out
}

func namesOf(decls []decl) []string {
	out := make([]string, len(decls))
	for i, d := range decls {
		out[i] = d.name
	}
	return out
}

// suggest returns ` (did you mean "x"?)` for the first declared name closest
// to name, ignoring case, if it is within edit distance 2; otherwise "".
func suggest(name string, declared []string) string {
	best, bestDist := "", 3
	for _, d := range declared {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(d)); dist < bestDist && d != "" {
			best, bestDist = d, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
