package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strconv"
)

// A mutant is one small change to one source file: the bytes
// [Off, Off+len(Old)) replaced by New.
type mutant struct {
	File string // absolute path of the source file
	Rel  string // path shown in reports (relative to the module root)
	Line int
	Col  int
	Off  int
	Old  string
	New  string
}

// ID names the mutant stably enough to be listed in MUTANTS.md and picked
// again with -only: file:line:col old→new.
func (m mutant) ID() string {
	return fmt.Sprintf("%s:%d:%d %s→%s", m.Rel, m.Line, m.Col, m.Old, m.New)
}

// apply returns src with the mutant applied.
func (m mutant) apply(src []byte) ([]byte, error) {
	end := m.Off + len(m.Old)
	if m.Off < 0 || end > len(src) || string(src[m.Off:end]) != m.Old {
		return nil, fmt.Errorf("%s: source does not hold %q at offset %d", m.ID(), m.Old, m.Off)
	}
	out := make([]byte, 0, len(src)-len(m.Old)+len(m.New))
	out = append(out, src[:m.Off]...)
	out = append(out, m.New...)
	return append(out, src[end:]...), nil
}

// flips are the operator mutations: each boundary and each logical
// connective moved by one step, and + / − swapped.
var flips = map[token.Token]token.Token{
	token.LSS:  token.LEQ,
	token.LEQ:  token.LSS,
	token.GTR:  token.GEQ,
	token.GEQ:  token.GTR,
	token.EQL:  token.NEQ,
	token.NEQ:  token.EQL,
	token.LAND: token.LOR,
	token.LOR:  token.LAND,
	token.ADD:  token.SUB,
	token.SUB:  token.ADD,
}

func isComparison(t token.Token) bool {
	switch t {
	case token.LSS, token.LEQ, token.GTR, token.GEQ, token.EQL, token.NEQ:
		return true
	}
	return false
}

// findMutants parses one Go file and returns its mutants in source order:
//   - every binary operator in flips, flipped;
//   - every integer or float literal that is an operand of a comparison,
//     moved by +1 and −1 (boundary constants).
//
// Constant declarations are left alone: changing a constant's expression
// changes a name that tests usually read back, and the comparisons that
// use the name are mutated where they stand.
func findMutants(path, rel string) ([]mutant, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []mutant
	add := func(pos token.Pos, old, new string) {
		p := fset.Position(pos)
		out = append(out, mutant{File: path, Rel: rel, Line: p.Line, Col: p.Column, Off: p.Offset, Old: old, New: new})
	}
	literal := func(e ast.Expr) {
		lit, ok := e.(*ast.BasicLit)
		if !ok {
			return
		}
		switch lit.Kind {
		case token.INT:
			v, err := strconv.ParseInt(lit.Value, 0, 64)
			if err != nil {
				return
			}
			add(lit.Pos(), lit.Value, strconv.FormatInt(v+1, 10))
			if v > 0 { // −1 of 0 would be a negative literal: a new kind of value, not a boundary
				add(lit.Pos(), lit.Value, strconv.FormatInt(v-1, 10))
			}
		case token.FLOAT:
			v, err := strconv.ParseFloat(lit.Value, 64)
			if err != nil {
				return
			}
			add(lit.Pos(), lit.Value, strconv.FormatFloat(v+1, 'g', -1, 64))
			if v >= 1 {
				add(lit.Pos(), lit.Value, strconv.FormatFloat(v-1, 'g', -1, 64))
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok == token.CONST {
				return false
			}
		case *ast.BinaryExpr:
			if to, ok := flips[n.Op]; ok {
				add(n.OpPos, n.Op.String(), to.String())
			}
			if isComparison(n.Op) {
				literal(n.X)
				literal(n.Y)
			}
		}
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Off < out[j].Off })
	return out, nil
}
