package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a spec, at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem found in a spec, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Sort orders the errors by position, then message.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return l[i].Msg < l[j].Msg
	})
}

// Load reads, parses and validates the spec at path.
func Load(path string) (*Machine, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a spec. The error, if any, is an ErrorList
// whose entries carry file:line:col.
func Parse(file string, data []byte) (*Machine, error) {
	m, err := Decode(file, data)
	if err != nil {
		return nil, err
	}
	if errs := Validate(m); len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// Decode parses a spec strictly (unknown keys, wrong types and duplicate keys
// are errors). It checks that initial and final name declared states, since
// only it knows where those names are written; every other name is resolved
// by Validate.
func Decode(file string, data []byte) (*Machine, error) {
	d := &decoder{file: file}
	root, err := d.document(data)
	if err != nil {
		return nil, ErrorList{err}
	}
	m := &Machine{File: file}
	d.machine(m, root)
	if len(d.errs) > 0 {
		d.errs.Sort()
		return nil, d.errs
	}
	return m, nil
}

type decoder struct {
	file string
	errs ErrorList
}

// document returns the root node of the one YAML document in data.
func (d *decoder) document(data []byte) (*yaml.Node, *Error) {
	if i := invalidUTF8(data); i >= 0 {
		return nil, &Error{Pos: d.offsetPos(data, i), Msg: "invalid UTF-8: a spec is UTF-8 text"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, &Error{Pos: Pos{d.file, 1, 1}, Msg: "empty spec"}
	} else if err != nil {
		return nil, d.yamlError(err, data)
	}
	if len(doc.Content) == 0 || doc.Content[0].Tag == "!!null" {
		return nil, &Error{Pos: Pos{d.file, 1, 1}, Msg: "empty spec"}
	}
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{Pos: d.pos(&extra), Msg: "a second YAML document: a spec is one document (remove the ---)"}
	case !errors.Is(err, io.EOF):
		return nil, d.yamlError(err, data)
	}
	return doc.Content[0], nil
}

// invalidUTF8 returns the offset of the first byte of data that is not valid
// UTF-8, or -1. (YAML would also accept UTF-16 with a byte order mark.)
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// offsetPos returns the line and column (in runes) of a byte offset.
func (d *decoder) offsetPos(data []byte, off int) Pos {
	before := data[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return Pos{d.file, 1 + bytes.Count(before, []byte("\n")), 1 + utf8.RuneCount(before[start:])}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// yamlError turns a yaml syntax error ("yaml: line 3: ...") into a positioned Error.
func (d *decoder) yamlError(err error, data []byte) *Error {
	msg := err.Error()
	line := 1
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		if i := strings.Index(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if zeroBased(msg) {
			line++
		}
		// An error at the end of the input may be numbered past its last line.
		line = max(1, min(line, lineCount(data)))
	}
	return &Error{Pos: Pos{d.file, line, 1}, Msg: "syntax error: " + msg}
}

// lineCount returns the number of lines in data, counting line breaks as
// YAML does: LF, CR, CR LF, NEL, LS and PS.
func lineCount(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}

// zeroBased reports whether yaml.v3 numbered the line of this error from 0.
// It numbers scanner errors from 1 but parser errors (the ones below, which
// point at the start of the enclosing flow or block collection) from 0; the
// error carries only the line, so the column is always reported as 1.
func zeroBased(msg string) bool {
	for _, p := range []string{
		"did not find expected <",
		"did not find expected key",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected ',' or ",
		"found duplicate %",
		"found incompatible YAML document",
		"found undefined tag handle",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// fields walks a mapping node, calling fn for each key, and reports keys not
// in known and keys given twice.
func (d *decoder) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if known != nil && !contains(known, key) {
			d.errorf(k, "unknown key %q in %s (want one of: %s)", key, what, strings.Join(known, ", "))
			continue
		}
		if seen[key] {
			d.errorf(k, "duplicate key %q in %s", key, what)
			continue
		}
		seen[key] = true
		fn(key, k, v)
	}
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

// scalar returns the text of a plain scalar. ok is false, and an error is
// recorded, for anything else: a list, a mapping, null, or a scalar with a
// YAML tag (an unquoted "!guard" is read by YAML as a tag, not as text).
func (d *decoder) scalar(n *yaml.Node, what string) (s string, ok bool) {
	switch {
	case n.Kind != yaml.ScalarNode || n.Tag == "!!null":
		d.errorf(n, "%s must be a string", what)
		return "", false
	case !strings.HasPrefix(n.Tag, "!!"):
		d.errorf(n, "%s: YAML reads the unquoted %s as a tag, not text; write it in quotes, e.g. \"%s\"",
			what, n.Tag, strings.TrimRight(n.Tag, ","))
		return "", false
	}
	return n.Value, true
}

// strs accepts a scalar or a sequence of scalars.
func (d *decoder) strs(n *yaml.Node, what string) ([]string, []Pos) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		return []string{n.Value}, []Pos{d.pos(n)}
	case n.Kind == yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		pos := make([]Pos, 0, len(n.Content))
		for _, c := range n.Content {
			if s, ok := d.scalar(c, what+" entry"); ok {
				out = append(out, s)
				pos = append(pos, d.pos(c))
			}
		}
		return out, pos
	}
	d.errorf(n, "%s must be a name or a list of names", what)
	return nil, nil
}

func (d *decoder) machine(m *Machine, n *yaml.Node) {
	m.Pos = d.pos(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "the spec must be a mapping of keys (machine, states, events, rules, ...)")
		return
	}
	var initial, final *yaml.Node
	statesOK := false
	required := map[string]bool{"machine": false, "initial": false, "states": false, "events": false, "rules": false}
	d.fields(n, "the spec", []string{"machine", "rfc", "go", "paths", "initial", "final", "states", "events", "guards", "options", "actions", "rules"}, func(key string, k, v *yaml.Node) {
		required[key] = true
		switch key {
		case "machine":
			m.Name = d.str(v, "machine")
		case "rfc":
			m.RFC = d.str(v, "rfc")
		case "go":
			d.goTarget(m, k, v)
		case "paths":
			d.fields(v, "paths", []string{"active", "passive", "other"}, func(key string, _, pv *yaml.Node) {
				s := d.str(pv, "paths."+key)
				switch key {
				case "active":
					m.Paths.Active = s
				case "passive":
					m.Paths.Passive = s
				case "other":
					m.Paths.Other = s
				}
			})
		case "initial":
			if s, ok := d.scalar(v, "initial"); ok {
				m.Initial, initial = s, v
			}
		case "final":
			if s, ok := d.scalar(v, "final"); ok {
				m.Final, final = s, v
			}
		case "states":
			statesOK = v.Kind == yaml.SequenceNode
			d.states(m, v)
		case "events":
			d.events(m, v)
		case "guards":
			d.guards(m, v, false)
		case "options":
			d.guards(m, v, true)
		case "actions":
			d.actions(m, v)
		case "rules":
			d.rules(m, v)
		}
	})
	for _, key := range []string{"machine", "initial", "states", "events", "rules"} {
		if !required[key] {
			d.errorf(n, "missing required key %q", key)
		}
	}
	if statesOK { // else the names cannot be checked
		d.endpoint(m, initial, "initial", m.Initial)
		d.endpoint(m, final, "final", m.Final)
	}
	if !required["final"] {
		m.Final = m.Initial
	}
}

// goTarget reads `go: {package: import/path, prefix: Name}`.
func (d *decoder) goTarget(m *Machine, k, n *yaml.Node) {
	m.Go.Pos = d.pos(k)
	seen := false
	d.fields(n, "go", []string{"package", "prefix"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "package":
			m.Go.Package, seen = d.str(v, "go.package"), true
		case "prefix":
			m.Go.Prefix = d.str(v, "go.prefix")
		}
	})
	if n.Kind == yaml.MappingNode && !seen {
		d.errorf(n, "go: missing required key \"package\" (the generated code's import path)")
	}
}

// endpoint reports an initial or final state that is not declared. n is nil
// if the key is absent or its value was already reported as malformed.
func (d *decoder) endpoint(m *Machine, n *yaml.Node, what, name string) {
	if n == nil || m.StateIndex(name) >= 0 {
		return
	}
	d.errorf(n, "%s state %q is not a declared state%s", what, name, suggest(name, stateNames(m)))
}

func (d *decoder) states(m *Machine, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "states must be a list")
		return
	}
	for _, sn := range n.Content {
		s := State{Pos: d.pos(sn)}
		d.fields(sn, "a state", []string{"name", "doc", "rfc"}, func(key string, k, v *yaml.Node) {
			switch key {
			case "name":
				s.Name = d.str(v, "state name")
			case "doc":
				s.Doc = d.str(v, "doc")
			case "rfc":
				s.RFC = d.str(v, "rfc")
			}
		})
		if sn.Kind == yaml.MappingNode && s.Name == "" {
			d.errorf(sn, "state has no name")
			continue
		}
		m.States = append(m.States, s)
	}
}

func (d *decoder) events(m *Machine, n *yaml.Node) {
	d.fields(n, "events", nil, func(name string, k, v *yaml.Node) {
		e := Event{Name: name, Pos: d.pos(k)}
		hasKind := false
		d.fields(v, "event "+name, []string{"kind", "doc"}, func(key string, _, v *yaml.Node) {
			switch key {
			case "kind":
				hasKind = true
				e.Kind = EventKind(d.str(v, "kind"))
				switch e.Kind {
				case UserEvent, SegmentEvent, TimerEvent:
				default:
					d.errorf(v, "event %s: kind %q is not one of user, segment, timer", name, e.Kind)
				}
			case "doc":
				e.Doc = d.str(v, "doc")
			}
		})
		if !hasKind && v.Kind == yaml.MappingNode {
			d.errorf(k, "event %s has no kind", name)
		}
		m.Events = append(m.Events, e)
	})
}

func (d *decoder) guards(m *Machine, n *yaml.Node, option bool) {
	d.fields(n, "guards", nil, func(name string, k, v *yaml.Node) {
		m.Guards = append(m.Guards, Guard{Name: name, Doc: d.str(v, "doc of "+name), Option: option, Pos: d.pos(k)})
	})
}

func (d *decoder) actions(m *Machine, n *yaml.Node) {
	d.fields(n, "actions", nil, func(name string, k, v *yaml.Node) {
		m.Actions = append(m.Actions, Action{Name: name, Doc: d.str(v, "doc of "+name), Pos: d.pos(k)})
	})
}

func (d *decoder) rules(m *Machine, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "rules must be a list")
		return
	}
	for _, rn := range n.Content {
		r := Rule{Pos: d.pos(rn)}
		has := map[string]bool{}
		d.fields(rn, "a rule", []string{"id", "from", "on", "if", "do", "to", "rfc", "path"}, func(key string, k, v *yaml.Node) {
			has[key] = true
			switch key {
			case "id":
				r.ID = d.str(v, "id")
			case "from":
				r.From, r.FromPos = d.strs(v, "from")
			case "on":
				r.On, r.OnPos = d.strs(v, "on")
			case "if":
				names, pos := d.strs(v, "if")
				for i, g := range names {
					c := Cond{Guard: g, Pos: pos[i]}
					if strings.HasPrefix(g, "!") {
						c.Guard, c.Not = strings.TrimSpace(g[1:]), true
					}
					r.If = append(r.If, c)
				}
			case "do":
				if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
					return // do: [] drops the segment or call
				}
				r.Do, r.DoPos = d.strs(v, "do")
			case "to":
				r.To, r.ToPos = d.str(v, "to"), d.pos(v)
				if r.To == "same" {
					r.To, r.Same = "", true
				}
			case "rfc":
				r.RFC = d.str(v, "rfc")
			case "path":
				r.Path = d.str(v, "path")
				if r.Path != "active" && r.Path != "passive" {
					d.errorf(v, "path %q is not active or passive", r.Path)
				}
			}
		})
		if rn.Kind != yaml.MappingNode {
			continue
		}
		for _, key := range []string{"id", "from", "on", "do", "to", "rfc"} {
			if !has[key] {
				d.errorf(rn, "rule %s: missing required key %q", ruleName(&r), key)
			}
		}
		m.Rules = append(m.Rules, r)
	}
}
