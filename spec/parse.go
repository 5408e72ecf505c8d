package spec

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

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
// are errors) without checking that its names resolve: see Validate.
func Decode(file string, data []byte) (*Machine, error) {
	d := &decoder{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, ErrorList{d.yamlError(err)}
	}
	m := &Machine{File: file}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, ErrorList{{Pos: Pos{file, 1, 1}, Msg: "empty spec"}}
	}
	d.machine(m, doc.Content[0])
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

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{d.file, n.Line, n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// yamlError turns a yaml syntax error ("yaml: line 3: ...") into a positioned Error.
func (d *decoder) yamlError(err error) *Error {
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
	}
	return &Error{Pos: Pos{d.file, line, 1}, Msg: "syntax error: " + msg}
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
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a string", what)
		return ""
	}
	return n.Value
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
			if s := d.str(c, what+" entry"); s != "" {
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
	required := map[string]bool{"machine": false, "initial": false, "states": false, "events": false, "rules": false}
	d.fields(n, "the spec", []string{"machine", "rfc", "initial", "final", "states", "events", "guards", "options", "actions", "rules"}, func(key string, k, v *yaml.Node) {
		required[key] = true
		switch key {
		case "machine":
			m.Name = d.str(v, "machine")
		case "rfc":
			m.RFC = d.str(v, "rfc")
		case "initial":
			m.Initial = d.str(v, "initial")
		case "final":
			m.Final = d.str(v, "final")
		case "states":
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
	if m.Final == "" {
		m.Final = m.Initial
	}
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
		d.fields(v, "event "+name, []string{"kind", "doc"}, func(key string, _, v *yaml.Node) {
			switch key {
			case "kind":
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
		if e.Kind == "" && v.Kind == yaml.MappingNode {
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
					d.errorf(v, "rule %s: path %q is not active or passive", r.ID, r.Path)
				}
			}
		})
		if rn.Kind != yaml.MappingNode {
			continue
		}
		for _, key := range []string{"id", "from", "on", "do", "to", "rfc"} {
			if !has[key] {
				d.errorf(rn, "rule %s: missing required key %q", r.ID, key)
			}
		}
		m.Rules = append(m.Rules, r)
	}
}
