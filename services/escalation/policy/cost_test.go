package policy

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// bomb is a route expression small enough to pass the parser's limits
// whose evaluation would take 10^8 steps.
func bomb() string {
	digits := "[0,1,2,3,4,5,6,7,8,9]"
	expr := "a+b+c+d+e+f+g+h >= 0"
	for _, v := range []string{"h", "g", "f", "e", "d", "c", "b", "a"} {
		expr = digits + ".all(" + v + ", " + expr + ")"
	}
	return expr
}

func TestExpensiveRouteIsCutOffAtTheCostLimitAndDoesNotMatch(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(minimal, "match: complaint", "match: '"+bomb()+"'", 1)))
	if err != nil {
		t.Fatal(err)
	}
	out := p.Evaluate(Input{Mention: &fbv1.Mention{Id: "x:1", Text: "hi"}, Score: &fbv1.Score{Complaint: 1}})
	if out.Escalate || len(out.Reasons) == 0 || out.Reasons[0].Code != CodeRouteError || !strings.Contains(out.Reasons[0].Text, "cost limit") {
		t.Fatalf("escalate %v, reasons %v: want the route cut off at the cost limit", out.Escalate, out.Reasons)
	}
}

// wide is a route expression well within the cost limit whose
// comprehension runs long enough to look at the deadline several times.
func wide() string {
	items := make([]string, 200)
	for i := range items {
		items[i] = strconv.Itoa(i)
	}
	return "complaint && [" + strings.Join(items, ",") + "].all(x, x >= 0)"
}

func TestDeadlineStopsAnEvaluationWithinTheCostLimit(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(minimal, "match: complaint", "match: '"+wide()+"'", 1)))
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Mention: &fbv1.Mention{Id: "x:1", Text: "hi"}, Score: &fbv1.Score{Complaint: 1}}
	if out, err := p.EvaluateContext(context.Background(), in); err != nil || !out.Escalate {
		t.Fatalf("with time to run: escalate %v, err %v; want the route to match within the cost limit", out.Escalate, err)
	}

	// A deadline already past stands in for one reached mid-evaluation:
	// the comprehension stops at its next look at the deadline.
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	out, err := p.EvaluateContext(expired, in)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "route all-complaints") {
		t.Fatalf("err %v, want the route named and the deadline as the cause", err)
	}
	if out.Escalate || len(out.Reasons) == 0 || out.Reasons[0].Code != CodeRouteError {
		t.Fatalf("escalate %v, reasons %v: want the stopped route not to match, with a reason", out.Escalate, out.Reasons)
	}
	d, err := p.DecideContext(expired, in, time.Unix(1, 0))
	if err == nil || d.Escalate {
		t.Fatalf("DecideContext: escalate %v, err %v; want the same stop", d.Escalate, err)
	}
}

func TestOwnDeadlineIsReportedAsErrDeadline(t *testing.T) {
	p, err := Parse([]byte(strings.Replace(minimal, "match: complaint", "match: '"+wide()+"'", 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := activation{in: p.empty, complaint: true}
	frame, err := newBoundedFrame(context.Background(), &a, true)
	if err != nil {
		t.Fatal(err)
	}
	defer frame.done()
	if frame.stopped() != nil {
		t.Fatal("a fresh frame reports itself stopped")
	}
	frame.cancel() // as the MaxEvalTime timer would
	if _, err := p.routes[0].match.eval(&frame); !errors.Is(err, ErrDeadline) {
		t.Fatalf("eval after the frame's own deadline: %v, want ErrDeadline", err)
	}
}

// Only expressions with a comprehension can run past the deadline, so only
// decisions with one pay for it (a timer and a cancellable frame).
func TestOnlyExpressionsWithComprehensionsAreMarkedAsLoops(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]bool{
		"complaint":                                                 false,
		"complaint && reach.tier == TIER_HIGH":                      false,
		"mention.text.contains('refund') || escalated":              false,
		"[1, 2].exists(x, x > 1)":                                   true,
		"complaint && mention.text.size() > 3 && [1].all(x, x > 0)": true,
	} {
		p, err := compile(env, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.loops != want {
			t.Errorf("%s: loops %v, want %v", src, p.loops, want)
		}
	}
}
