package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Mutant is one planted bug: files that replace the originals.
type Mutant struct {
	ID   string // stable: file:func:operator#n (n counts that operator's sites in the function)
	Pos  string // file:line, for reading the code
	Desc string // what changed
	// Files maps absolute paths to the mutated content.
	Files map[string][]byte
	// Tests, if set, are the go test arguments (packages, -run) that judge
	// the mutant instead of the property suite and the checker: a planted
	// bug aimed at one check elsewhere (pathsim's fairness).
	Tests []string
}

// site is one place an operator applies: apply changes the AST, undo
// restores it.
type site struct {
	op, fn, desc string
	pos          token.Pos
	apply, undo  func()
}

// goMutants returns the mutants of the hand-written Go files in dir.
func goMutants(root, dir string) ([]Mutant, error) {
	paths, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Mutant
	for _, path := range paths {
		name := filepath.Base(path)
		if strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, "_gen.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(src, []byte("//go:build ignore")) {
			continue // a go:generate program, not part of the package
		}
		ms, err := fileMutants(root, path, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

func fileMutants(root, path string, src []byte) ([]Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(root, path)
	var sites []site
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Body == nil || notMutated[d.Name.Name] || notMutatedFiles[filepath.Base(path)] {
				continue
			}
			sites = appendSites(sites, d.Name.Name, d.Body)
		case *ast.GenDecl:
			if (d.Tok != token.CONST && d.Tok != token.VAR) || notMutatedFiles[filepath.Base(path)] {
				continue
			}
			for _, sp := range d.Specs {
				if vs, ok := sp.(*ast.ValueSpec); ok && !isDefault(vs) {
					sites = appendSites(sites, "("+d.Tok.String()+")", vs)
				}
			}
		}
	}
	// Number each operator's sites per function, so IDs survive edits
	// elsewhere in the file.
	count := map[string]int{}
	var out []Mutant
	for _, s := range sites {
		key := s.fn + ":" + s.op
		count[key]++
		s.apply()
		var buf bytes.Buffer
		err := format.Node(&buf, fset, f)
		s.undo()
		if err != nil {
			continue // the operator made something unprintable: not a mutant
		}
		p := fset.Position(s.pos)
		out = append(out, Mutant{
			ID:    fmt.Sprintf("%s:%s:%s#%d", rel, s.fn, s.op, count[key]),
			Pos:   fmt.Sprintf("%s:%d", rel, p.Line),
			Desc:  s.desc,
			Files: map[string][]byte{path: buf.Bytes()},
		})
	}
	return out, nil
}

// notMutated names the functions whose mutants would test the tests, not
// the TCP: what observers and invariants read (String, Vars, Holds, HeldRange,
// Footprint), and
// the SipHash core of the ISN generator, where any change is another keyed
// function with the same properties (distinct per 4-tuple, rising with
// the clock), so an equivalent mutant.
var notMutated = map[string]bool{"String": true, "Vars": true, "Holds": true, "HeldRange": true, "Footprint": true, "sipHash24": true,
	// The exhaustive checker's support in buffer.go (ring copies and key
	// bytes for CopyTo and AppendKey), which its own unit tests check.
	"copyTo": true, "appendTo": true}

// notMutatedFiles holds the exhaustive checker's support code (CopyTo,
// AppendKey), which its own unit tests check; it is not TCP behaviour.
var notMutatedFiles = map[string]bool{"key.go": true}

// isDefault reports an exported Default* constant: Config's defaults are
// choices a user may change (the property suite runs with its own
// configuration), not logic; the RFC's values among them are checked by
// machine's unit tests.
func isDefault(vs *ast.ValueSpec) bool {
	for _, n := range vs.Names {
		if !strings.HasPrefix(n.Name, "Default") {
			return false
		}
	}
	return true
}

var swapCmp = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

var swapSeq = map[string]string{
	"SeqLT": "SeqLEQ", "SeqLEQ": "SeqLT",
	"SeqGT": "SeqGEQ", "SeqGEQ": "SeqGT",
}

// appendSites adds the sites under n, in source order.
func appendSites(sites []site, fn string, n ast.Node) []site {
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ArrayType:
			return false // array lengths are types: changing them changes nothing to test
		case *ast.BinaryExpr:
			op := x.Op
			if to, ok := swapCmp[op]; ok {
				sites = append(sites, site{op: "cmp", fn: fn, pos: x.OpPos, desc: op.String() + " -> " + to.String(),
					apply: func() { x.Op = to }, undo: func() { x.Op = op }})
			}
			switch op {
			case token.ADD, token.SUB:
				to := token.SUB
				if op == token.SUB {
					to = token.ADD
				}
				sites = append(sites, site{op: "arith", fn: fn, pos: x.OpPos, desc: op.String() + " -> " + to.String(),
					apply: func() { x.Op = to }, undo: func() { x.Op = op }})
			case token.LAND, token.LOR:
				to := token.LOR
				if op == token.LOR {
					to = token.LAND
				}
				sites = append(sites, site{op: "cond", fn: fn, pos: x.OpPos, desc: op.String() + " -> " + to.String(),
					apply: func() { x.Op = to }, undo: func() { x.Op = op }})
			}
		case *ast.CallExpr:
			if id, ok := x.Fun.(*ast.Ident); ok {
				if to, ok := swapSeq[id.Name]; ok {
					from := id.Name
					sites = append(sites, site{op: "seq", fn: fn, pos: id.Pos(), desc: from + " -> " + to,
						apply: func() { id.Name = to }, undo: func() { id.Name = from }})
				}
			}
		case *ast.BasicLit:
			if x.Kind != token.INT {
				break
			}
			v, err := strconv.ParseInt(x.Value, 0, 64)
			if err != nil {
				break
			}
			old := x.Value
			for _, d := range []int64{1, -1} {
				nv := strconv.FormatInt(v+d, 10)
				if v+d < 0 {
					continue
				}
				sites = append(sites, site{op: "const", fn: fn, pos: x.Pos(), desc: old + " -> " + nv,
					apply: func() { x.Value = nv }, undo: func() { x.Value = old }})
			}
		case *ast.IfStmt:
			sites = append(sites, negate(fn, &x.Cond))
		case *ast.ForStmt:
			if x.Cond != nil {
				sites = append(sites, negate(fn, &x.Cond))
			}
		case *ast.BlockStmt:
			sites = appendDeletions(sites, fn, x.List)
		case *ast.CaseClause:
			sites = appendDeletions(sites, fn, x.Body)
		}
		return true
	})
	return sites
}

// appendDeletions adds a site per deletable statement of list.
func appendDeletions(sites []site, fn string, list []ast.Stmt) []site {
	for i, st := range list {
		if !deletable(st) {
			continue
		}
		sites = append(sites, site{op: "del", fn: fn, pos: st.Pos(), desc: "delete " + stmtText(st),
			apply: func() { list[i] = &ast.EmptyStmt{Semicolon: st.Pos(), Implicit: true} },
			undo:  func() { list[i] = st }})
	}
	return sites
}

func negate(fn string, cond *ast.Expr) site {
	old := *cond
	return site{op: "cond", fn: fn, pos: old.Pos(), desc: "negate " + exprText(old),
		apply: func() { *cond = &ast.UnaryExpr{Op: token.NOT, X: &ast.ParenExpr{X: old}} },
		undo:  func() { *cond = old }}
}

// deletable reports a statement whose deletion leaves valid Go: a call, an
// assignment that declares nothing, an increment.
func deletable(st ast.Stmt) bool {
	switch st := st.(type) {
	case *ast.ExprStmt:
		_, ok := st.X.(*ast.CallExpr)
		return ok
	case *ast.AssignStmt:
		return st.Tok != token.DEFINE
	case *ast.IncDecStmt:
		return true
	}
	return false
}

func exprText(e ast.Expr) string {
	var b bytes.Buffer
	format.Node(&b, token.NewFileSet(), e)
	return oneLine(b.String())
}

func stmtText(st ast.Stmt) string {
	var b bytes.Buffer
	format.Node(&b, token.NewFileSet(), st)
	return oneLine(b.String())
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}
