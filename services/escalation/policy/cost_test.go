package policy

import (
	"strings"
	"testing"

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
