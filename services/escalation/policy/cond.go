package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/parser"
)

// cond is a match expression seen as an OR of ANDs of terms, the shape
// routes are written in. Lint reasons over it shallowly and soundly: two
// terms are the same when their checked expressions print the same, and
// comparisons of one expression with literals are intervals. It does not
// distribute && over ||, look inside functions, macros or arithmetic, or
// know how fields relate (that reach.tier follows reach.followers): what it
// cannot see it treats as unknown, so it may miss a dead route but never
// calls a live one dead.
type cond struct {
	disjuncts [][]term // each a conjunction; an empty one is true
}

// termKind is what Lint knows about a term.
type termKind int

const (
	termFalse  termKind = iota + 1 // the literal false
	termAtom                       // a boolean expression, possibly negated
	termNumber                     // expression op number
	termString                     // expression op string
	termOpaque                     // something Lint does not look into
)

// term is one conjunct.
type term struct {
	kind termKind
	// text is the term as written, for messages.
	text string
	// subject is the atom (termAtom) or the compared expression.
	subject string
	neg     bool   // termAtom: the subject must be false
	op      string // comparisons: one of operators.Equals ... GreaterEquals
	num     float64
	str     string
}

func newCond(e celast.Expr, info *celast.SourceInfo) cond {
	var c cond
	for _, d := range flatten(e, operators.LogicalOr) {
		var terms []term
		for _, t := range flatten(d, operators.LogicalAnd) {
			if tm, isTrue := newTerm(t); !isTrue {
				if src, err := parser.Unparse(t, info); err == nil {
					tm.text = src // as the author would write it, for messages
				}
				terms = append(terms, tm)
			}
		}
		c.disjuncts = append(c.disjuncts, terms)
	}
	return c
}

// flatten splits a chain of op (&& or ||) into its operands.
func flatten(e celast.Expr, op string) []celast.Expr {
	if e.Kind() != celast.CallKind || e.AsCall().FunctionName() != op {
		return []celast.Expr{e}
	}
	var out []celast.Expr
	for _, arg := range e.AsCall().Args() {
		out = append(out, flatten(arg, op)...)
	}
	return out
}

// newTerm reads one conjunct; isTrue reports the literal true, which a
// conjunction drops.
func newTerm(e celast.Expr) (t term, isTrue bool) {
	text, ok := canon(e)
	if !ok {
		return term{kind: termOpaque}, false
	}
	if e.Kind() == celast.LiteralKind {
		if b, isBool := e.AsLiteral().(types.Bool); isBool {
			if b {
				return term{}, true
			}
			return term{kind: termFalse, text: text}, false
		}
	}
	if e.Kind() == celast.CallKind {
		call := e.AsCall()
		args := call.Args()
		switch name := call.FunctionName(); {
		case name == operators.LogicalNot && len(args) == 1:
			inner, isTrue := newTerm(args[0])
			switch {
			case isTrue:
				return term{kind: termFalse, text: text}, false
			case inner.kind == termAtom:
				inner.neg, inner.text = !inner.neg, text
				return inner, false
			}
			return term{kind: termAtom, text: text, subject: text}, false
		case isComparison(name) && len(args) == 2:
			if t, ok := comparison(name, args[0], args[1], text); ok {
				return t, false
			}
		}
	}
	return term{kind: termAtom, text: text, subject: text}, false
}

func isComparison(name string) bool {
	switch name {
	case operators.Equals, operators.NotEquals, operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		return true
	}
	return false
}

// mirror is the operator with its operands swapped: 3 < x is x > 3.
var mirror = map[string]string{
	operators.Equals: operators.Equals, operators.NotEquals: operators.NotEquals,
	operators.Less: operators.Greater, operators.LessEquals: operators.GreaterEquals,
	operators.Greater: operators.Less, operators.GreaterEquals: operators.LessEquals,
}

// comparison reads `subject op literal` (either way round).
func comparison(op string, left, right celast.Expr, text string) (term, bool) {
	if _, isLit := literal(left); isLit {
		left, right, op = right, left, mirror[op]
	}
	subject, ok := canon(left)
	if !ok {
		return term{}, false
	}
	lit, ok := literal(right)
	if !ok {
		return term{}, false
	}
	switch v := lit.(type) {
	case float64:
		return term{kind: termNumber, text: text, subject: subject, op: op, num: v}, true
	case string:
		if op != operators.Equals && op != operators.NotEquals {
			return term{}, false
		}
		return term{kind: termString, text: text, subject: subject, op: op, str: v}, true
	case bool:
		// x == true is x; x != true and x == false are !x.
		if op != operators.Equals && op != operators.NotEquals {
			return term{}, false
		}
		return term{kind: termAtom, text: text, subject: subject, neg: v != (op == operators.Equals)}, true
	}
	return term{}, false
}

// exactFloat bounds the numbers Lint compares, so float64 holds them
// exactly.
const exactFloat = 1 << 53

// literal is the value of a literal or an enum constant (TIER_HIGH): a
// float64 for numbers, a string or a bool.
func literal(e celast.Expr) (any, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		v, ok := enumValues()[e.AsIdent()]
		return float64(v), ok
	case celast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.Int:
			return float64(v), math.Abs(float64(v)) <= exactFloat
		case types.Uint:
			return float64(v), float64(v) <= exactFloat
		case types.Double:
			return float64(v), !math.IsNaN(float64(v))
		case types.String:
			return string(v), true
		case types.Bool:
			return bool(v), true
		}
	}
	return nil, false
}

// enumValues maps the enum constants a policy may name to their numbers.
var enumValues = func() func() map[string]int32 {
	var m map[string]int32
	return func() map[string]int32 {
		if m == nil {
			m = map[string]int32{}
			for _, d := range policyEnums() {
				for i := range d.Values().Len() {
					v := d.Values().Get(i)
					m[string(v.Name())] = int32(v.Number())
				}
			}
		}
		return m
	}
}()

// canon renders an expression in one canonical form, or reports false for
// one Lint does not compare (comprehensions, maps, struct literals).
func canon(e celast.Expr) (string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent(), true
	case celast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.String:
			return strconv.Quote(string(v)), true
		case types.Double:
			return strconv.FormatFloat(float64(v), 'g', -1, 64) + "d", true
		case types.Int, types.Uint, types.Bool:
			return fmt.Sprint(v), true
		}
		return "", false
	case celast.SelectKind:
		sel := e.AsSelect()
		operand, ok := canon(sel.Operand())
		if sel.IsTestOnly() {
			return "has(" + operand + "." + sel.FieldName() + ")", ok
		}
		return operand + "." + sel.FieldName(), ok
	case celast.ListKind:
		return printAll("[", e.AsList().Elements(), "]")
	case celast.CallKind:
		call := e.AsCall()
		args := call.Args()
		if call.IsMemberFunction() {
			args = append([]celast.Expr{call.Target()}, args...)
		}
		return printAll(call.FunctionName()+"(", args, ")")
	}
	return "", false
}

func printAll(open string, es []celast.Expr, closing string) (string, bool) {
	parts := make([]string, len(es))
	for i, e := range es {
		s, ok := canon(e)
		if !ok {
			return "", false
		}
		parts[i] = s
	}
	return open + strings.Join(parts, ", ") + closing, true
}

// interval is the set of numbers a comparison allows.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (t term) interval() interval {
	in := interval{lo: math.Inf(-1), hi: math.Inf(1)}
	switch t.op {
	case operators.Equals:
		in.lo, in.hi = t.num, t.num
	case operators.Less:
		in.hi, in.hiOpen = t.num, true
	case operators.LessEquals:
		in.hi = t.num
	case operators.Greater:
		in.lo, in.loOpen = t.num, true
	case operators.GreaterEquals:
		in.lo = t.num
	}
	return in
}

func (a interval) intersect(b interval) interval {
	if b.lo > a.lo || b.lo == a.lo && b.loOpen {
		a.lo, a.loOpen = b.lo, b.loOpen
	}
	if b.hi < a.hi || b.hi == a.hi && b.hiOpen {
		a.hi, a.hiOpen = b.hi, b.hiOpen
	}
	return a
}

func (a interval) empty() bool {
	return a.lo > a.hi || a.lo == a.hi && (a.loOpen || a.hiOpen)
}

func (a interval) contains(v float64) bool {
	return !a.intersect(interval{lo: v, hi: v}).empty()
}

// within reports whether every number a allows, b allows too.
func (a interval) within(b interval) bool {
	return a.intersect(b) == a
}

// contradiction says why the conjunction ts can never hold, or "" when Lint
// cannot tell.
func contradiction(ts []term) string {
	atoms := map[string]term{}
	nums := map[string]interval{}
	numBy := map[string]term{}
	strEq := map[string]term{}
	for _, t := range ts {
		switch t.kind {
		case termFalse:
			return t.text + " is always false"
		case termAtom:
			if prev, ok := atoms[t.subject]; ok && prev.neg != t.neg {
				return fmt.Sprintf("%s contradicts %s", t.text, prev.text)
			}
			atoms[t.subject] = t
		case termNumber:
			if t.op == operators.NotEquals {
				continue
			}
			in, seen := nums[t.subject]
			if !seen {
				in = interval{lo: math.Inf(-1), hi: math.Inf(1)}
			}
			if in = in.intersect(t.interval()); in.empty() {
				return fmt.Sprintf("%s contradicts %s", t.text, numBy[t.subject].text)
			}
			nums[t.subject], numBy[t.subject] = in, t
		case termString:
			if prev, ok := strEq[t.subject]; ok && t.op == operators.Equals && prev.str != t.str {
				return fmt.Sprintf("%s contradicts %s", t.text, prev.text)
			}
			if t.op == operators.Equals {
				strEq[t.subject] = t
			}
		}
	}
	// != only contradicts what pins the value: x == 3 && x != 3.
	for _, t := range ts {
		switch {
		case t.kind == termNumber && t.op == operators.NotEquals:
			if in, ok := nums[t.subject]; ok && in.lo == in.hi && in.lo == t.num {
				return fmt.Sprintf("%s contradicts %s", t.text, numBy[t.subject].text)
			}
		case t.kind == termString && t.op == operators.NotEquals:
			if eq, ok := strEq[t.subject]; ok && eq.str == t.str {
				return fmt.Sprintf("%s contradicts %s", t.text, eq.text)
			}
		}
	}
	return ""
}

// implies reports whether t holding makes u hold.
func (t term) implies(u term) bool {
	if t.kind == termOpaque || u.kind == termOpaque || t.subject != u.subject {
		return false
	}
	switch {
	case t.kind == termAtom && u.kind == termAtom:
		return t.neg == u.neg
	case t.kind == termNumber && u.kind == termNumber:
		if u.op == operators.NotEquals {
			return t.op == operators.NotEquals && t.num == u.num ||
				t.op != operators.NotEquals && !t.interval().contains(u.num)
		}
		return t.op != operators.NotEquals && t.interval().within(u.interval())
	case t.kind == termString && u.kind == termString:
		if t.op == operators.Equals {
			return (u.op == operators.Equals) == (t.str == u.str)
		}
		return u.op == operators.NotEquals && t.str == u.str
	}
	return false
}

// conjunctionImplies reports whether every term of b follows from a term of
// a (or a can never hold).
func conjunctionImplies(a, b []term) bool {
	if contradiction(a) != "" {
		return true
	}
	for _, u := range b {
		found := false
		for _, t := range a {
			if t.implies(u) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// implies reports whether c holding makes d hold: each of c's disjuncts
// implies one of d's.
func (c cond) implies(d cond) bool {
	for _, a := range c.disjuncts {
		found := false
		for _, b := range d.disjuncts {
			if conjunctionImplies(a, b) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// never says why c can never hold, or "" when Lint cannot tell.
func (c cond) never() string {
	var why []string
	for _, d := range c.disjuncts {
		w := contradiction(d)
		if w == "" {
			return ""
		}
		why = append(why, w)
	}
	return strings.Join(why, "; ")
}

// needs reports whether every disjunct requires the atom ident to be true.
func (c cond) needs(ident string) bool {
	for _, d := range c.disjuncts {
		found := false
		for _, t := range d {
			if t.kind == termAtom && t.subject == ident && !t.neg {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return len(c.disjuncts) > 0
}

// mentions reports whether ident appears anywhere in e.
func mentions(e celast.Expr, ident string) bool {
	found := false
	visit(e, func(x celast.Expr) {
		if x.Kind() == celast.IdentKind && x.AsIdent() == ident {
			found = true
		}
	})
	return found
}

// visit calls f on e and everything under it.
func visit(e celast.Expr, f func(celast.Expr)) {
	if e == nil {
		return
	}
	f(e)
	switch e.Kind() {
	case celast.CallKind:
		c := e.AsCall()
		if c.IsMemberFunction() {
			visit(c.Target(), f)
		}
		for _, a := range c.Args() {
			visit(a, f)
		}
	case celast.SelectKind:
		visit(e.AsSelect().Operand(), f)
	case celast.ListKind:
		for _, x := range e.AsList().Elements() {
			visit(x, f)
		}
	case celast.ComprehensionKind:
		c := e.AsComprehension()
		for _, x := range []celast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
			visit(x, f)
		}
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			me := en.AsMapEntry()
			visit(me.Key(), f)
			visit(me.Value(), f)
		}
	case celast.StructKind:
		for _, fl := range e.AsStruct().Fields() {
			visit(fl.AsStructField().Value(), f)
		}
	}
}
