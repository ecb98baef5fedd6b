package policy

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"google.golang.org/protobuf/reflect/protoreflect"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Variables an expression can read. The container makes the firebreak.v1
// enum values usable by their short names: TIER_HIGH, SENTIMENT_NEGATIVE.
const (
	varMention   = "mention"
	varScore     = "score"
	varReach     = "reach"
	varHistory   = "history"
	varReply     = "reply"     // score.reply: the reply check of a brand reply, empty otherwise
	varComplaint = "complaint" // the policy's complaint expression, already evaluated
	varEscalated = "escalated" // an earlier route matched and continued
	varAuthor    = "author"    // AuthorFacts: the policy's lists on the author
	varSurge     = "surge"     // SurgeFacts: the open incident the mention belongs to
)

// newEnv declares the typed variables, so a misspelt field is refused at
// Parse rather than failing every evaluation.
func newEnv() (*cel.Env, error) {
	reg, err := types.NewRegistry(&fbv1.Mention{}, &fbv1.Score{}, &fbv1.Reach{}, &fbv1.History{}, &fbv1.ReplyCheck{})
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{
		cel.CustomTypeAdapter(reg),
		cel.CustomTypeProvider(newFieldProvider(reg)),
		cel.Container("firebreak.v1"),
		cel.Variable(varMention, cel.ObjectType("firebreak.v1.Mention")),
		cel.Variable(varScore, cel.ObjectType("firebreak.v1.Score")),
		cel.Variable(varReach, cel.ObjectType("firebreak.v1.Reach")),
		cel.Variable(varHistory, cel.ObjectType("firebreak.v1.History")),
		cel.Variable(varReply, cel.ObjectType("firebreak.v1.ReplyCheck")),
		cel.Variable(varComplaint, cel.BoolType),
		cel.Variable(varEscalated, cel.BoolType),
		// After the protobuf provider, as ext.NativeTypes requires.
		ext.NativeTypes(reflect.TypeFor[AuthorFacts](), ext.ParseStructTags(true)),
		cel.Variable(varAuthor, cel.ObjectType("policy.AuthorFacts")),
		ext.NativeTypes(reflect.TypeFor[SurgeFacts](), ext.ParseStructTags(true)),
		cel.Variable(varSurge, cel.ObjectType("policy.SurgeFacts")),
		// Policies are short; these bounds refuse a pathological document
		// at Parse instead of letting it slow down every decision.
		cel.ParserExpressionSizeLimit(4096),
		cel.ParserRecursionLimit(64),
	}
	return cel.NewEnv(append(opts, enumConstants()...)...)
}

// enumConstants declares every value of the enums a policy compares against
// by its bare name (TIER_HIGH rather than firebreak.v1.Tier.TIER_HIGH). The
// value names carry their enum's prefix, so they cannot collide.
func enumConstants() []cel.EnvOption {
	var opts []cel.EnvOption
	for _, e := range policyEnums() {
		values := e.Values()
		for i := range values.Len() {
			v := values.Get(i)
			opts = append(opts, cel.Constant(string(v.Name()), cel.IntType, types.Int(v.Number())))
		}
	}
	return opts
}

// policyEnums are the enums whose values a policy names bare.
func policyEnums() []protoreflect.EnumDescriptor {
	return []protoreflect.EnumDescriptor{
		fbv1.Tier(0).Descriptor(),
		fbv1.Sentiment(0).Descriptor(),
		fbv1.Priority(0).Descriptor(),
		fbv1.Platform(0).Descriptor(),
		fbv1.Visibility(0).Descriptor(),
		fbv1.Severity(0).Descriptor(),
	}
}

// program is a compiled boolean expression.
type program struct {
	source string
	prg    cel.Program
	// needsComplaint is true when the expression is a conjunction with
	// `complaint` as one of its terms, so it is false whenever the mention is
	// not a complaint. Most routes are; skipping them for the common
	// non-complaint mention halves the cost of a decision. CEL's && is false
	// when any term is false, even if another errs, so skipping is exact.
	needsComplaint bool
	// loops is true when the expression has a comprehension (all, exists,
	// map, filter...): only those run long enough to need the deadline, so
	// a decision made only of expressions without any skips its cost.
	loops bool
	// scoreOnly is true when the expression reads no variable but score:
	// its answer on a decision's input is its answer on the score alone.
	scoreOnly bool
	// expr and info are the checked expression, kept for Lint.
	expr celast.Expr
	info *celast.SourceInfo
}

// MaxCost bounds one evaluation of one expression, in CEL's cost units
// (about one per operation). Real routes cost tens; a policy sent to
// EvaluatePolicy or loaded from a file that nests comprehensions to cost
// more is cut off, its route not matching and a reason saying why, within
// milliseconds instead of running for minutes.
const MaxCost = 100_000

// MaxEvalTime bounds one decision's evaluation, every expression of it, in
// wall time. The cost limit counts operations, not what each costs: string
// and list work grows with the input, and a loaded machine runs all of it
// slower. Real decisions take microseconds; 250 ms is far above that and
// still well inside a gRPC caller's patience and the consumer's ack wait,
// so only a runaway program is stopped.
const MaxEvalTime = 250 * time.Millisecond

// interruptEvery is how many comprehension iterations run between looks at
// the deadline: often enough to stop within a fraction of MaxEvalTime, rare
// enough that the look (a channel poll) costs nothing measurable.
const interruptEvery = 32

// ErrDeadline is a decision stopped at MaxEvalTime; the routes not yet
// evaluated, or cut off, did not match.
var ErrDeadline = fmt.Errorf("policy evaluation ran past its %s deadline and was stopped", MaxEvalTime)

// boundedFrame is an execution frame over a whose comprehensions stop when
// ctx ends or MaxEvalTime passes, whichever is first. done releases it.
type boundedFrame struct {
	*interpreter.ExecutionFrame
	caller context.Context
	ctx    context.Context
	cancel context.CancelFunc
}

// newBoundedFrame makes the frame for expressions of which some have loops
// (comprehensions); when none has, nothing can look at a deadline, so none
// is set and the frame costs what a plain one does.
func newBoundedFrame(caller context.Context, a interpreter.Activation, loops bool) (boundedFrame, error) {
	frame, err := interpreter.NewExecutionFrame(a)
	if err != nil {
		return boundedFrame{}, err
	}
	if !loops {
		return boundedFrame{ExecutionFrame: frame, caller: caller, ctx: caller}, nil
	}
	ctx, cancel := context.WithTimeout(caller, MaxEvalTime)
	if err := frame.SetContext(ctx, interruptEvery); err != nil {
		cancel()
		frame.Close()
		return boundedFrame{}, err
	}
	return boundedFrame{ExecutionFrame: frame, caller: caller, ctx: ctx, cancel: cancel}, nil
}

func (f *boundedFrame) done() {
	f.ExecutionFrame.Close()
	if f.cancel != nil {
		f.cancel()
	}
}

// stopped says why an evaluation was stopped: the caller's context ended
// (its error), or MaxEvalTime passed (ErrDeadline); nil when it was not.
func (f *boundedFrame) stopped() error {
	if err := f.caller.Err(); err != nil {
		return err
	}
	if f.ctx.Err() != nil {
		return ErrDeadline
	}
	return nil
}

// compile checks that src is a boolean expression over the declared variables
// and plans it once, so evaluation does no parsing or type checking.
func compile(env *cel.Env, src string) (*program, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, fmt.Errorf("want a true/false expression, got %s", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxCost),
		// Makes comprehensions look at the frame's deadline (boundedFrame).
		cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	return &program{source: src, prg: prg, needsComplaint: conjoins(ast.NativeRep().Expr(), varComplaint), loops: loops(ast.NativeRep().Expr()),
		scoreOnly: readsOnly(env, ast.NativeRep().Expr(), varScore),
		expr:      ast.NativeRep().Expr(), info: ast.NativeRep().SourceInfo()}, nil
}

// loops reports whether e has a comprehension anywhere in it.
func loops(e celast.Expr) bool {
	found := false
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		found = found || e.Kind() == celast.ComprehensionKind
	}))
	return found
}

// readsOnly reports whether the only variable e reads is name, among the
// variables env declares: asked of the environment, not of a list kept
// by hand, so a variable added to newEnv is counted without anyone having
// to remember this. It looks at names, not at what they resolve to: a
// comprehension's own variable named like an input counts as reading it,
// which only errs on the safe side.
func readsOnly(env *cel.Env, e celast.Expr, name string) bool {
	inputs := make(map[string]bool)
	for _, v := range env.Variables() {
		inputs[v.Name()] = v.Value() == nil // not an enum constant
	}
	only := true
	celast.PreOrderVisit(e, celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.IdentKind && e.AsIdent() != name && inputs[e.AsIdent()] {
			only = false
		}
	}))
	return only
}

// conjoins reports whether e is ident, or an && chain with ident as a term.
func conjoins(e celast.Expr, ident string) bool {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent() == ident
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() != operators.LogicalAnd {
			return false
		}
		for _, arg := range call.Args() {
			if conjoins(arg, ident) {
				return true
			}
		}
	}
	return false
}

// eval runs the program in frame. An evaluation error (a division by zero,
// say) is returned, not treated as a match.
func (p *program) eval(frame *boundedFrame) (bool, error) {
	out, _, err := p.prg.Eval(frame.ExecutionFrame)
	if err != nil {
		if stop := frame.stopped(); stop != nil {
			return false, stop
		}
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("got %v, want a bool", out)
	}
	return bool(b), nil
}

// activation hands the inputs to CEL without building a map per evaluation.
// It also carries the facts reasons are rendered from, so one allocation
// serves a whole decision.
type activation struct {
	in        inputs
	complaint types.Bool
	escalated types.Bool
	facts     facts
	// author is looked up on first use: most expressions never read it.
	author *AuthorFacts
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varMention:
		return a.in.mention, true
	case varScore:
		return a.in.score, true
	case varReach:
		return a.in.reach, true
	case varHistory:
		return a.in.history, true
	case varReply:
		return a.in.reply, true
	case varComplaint:
		return a.complaint, true
	case varEscalated:
		return a.escalated, true
	case varSurge:
		if a.facts.in != nil && a.facts.in.Surge != nil {
			return a.facts.in.Surge, true
		}
		return noSurge, true
	case varAuthor:
		if a.author == nil {
			a.author = noFacts
			if a.facts.in != nil {
				a.author = a.facts.policy.Author(*a.facts.in)
			}
		}
		return a.author, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }
