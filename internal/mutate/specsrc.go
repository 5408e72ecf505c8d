package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tcpfsm/tcpfsm/gen"
	"github.com/tcpfsm/tcpfsm/spec"
)

// specMutants returns the mutants of the spec at root/specRel: each changes
// one rule, and replaces the generated files of root/machineDir with what
// package gen makes of the changed spec. The spec is decoded, not validated
// (a mutant may break a rule of the validator, such as leaving an action
// unused); a mutant gen refuses is skipped.
func specMutants(root, specRel, machineDir string) ([]Mutant, error) {
	path := filepath.Join(root, specRel)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := spec.Parse(specRel, data); err != nil {
		return nil, err
	}
	var out []Mutant
	add := func(id, desc string, r spec.Rule, edit func(m *spec.Machine)) {
		m, err := spec.Decode(specRel, data)
		if err != nil {
			return
		}
		edit(m)
		files, err := gen.Go(m, specRel)
		if err != nil {
			return
		}
		direct, err := gen.GoDirect(m, specRel, "stepConn", "*Conn")
		if err != nil {
			return
		}
		mu := Mutant{ID: id, Pos: fmt.Sprintf("%s:%d", specRel, r.Pos.Line), Desc: desc, Files: map[string][]byte{}}
		for name, b := range files {
			mu.Files[filepath.Join(root, machineDir, name)] = b
		}
		mu.Files[filepath.Join(root, machineDir, "dispatch_conn_gen.go")] = direct
		out = append(out, mu)
	}
	m, _ := spec.Decode(specRel, data)
	for ri, r := range m.Rules {
		ri := ri
		for ai, a := range r.Do {
			ai := ai
			add(fmt.Sprintf("%s:%s:spec-drop#%d", specRel, r.ID, ai+1), "rule "+r.ID+" loses action "+a, r, func(m *spec.Machine) {
				rr := &m.Rules[ri]
				rr.Do = append(append([]string(nil), rr.Do[:ai]...), rr.Do[ai+1:]...)
			})
		}
		if !r.Same {
			add(fmt.Sprintf("%s:%s:spec-stay#1", specRel, r.ID), "rule "+r.ID+" keeps the state instead of going to "+r.To, r, func(m *spec.Machine) {
				m.Rules[ri].Same = true
			})
		}
		for ci, c := range r.If {
			ci := ci
			add(fmt.Sprintf("%s:%s:spec-neg#%d", specRel, r.ID, ci+1), "rule "+r.ID+" negates its guard "+c.String(), r, func(m *spec.Machine) {
				cc := &m.Rules[ri].If[ci]
				cc.Not = !cc.Not
			})
		}
	}
	return out, nil
}
