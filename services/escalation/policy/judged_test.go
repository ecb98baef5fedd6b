package policy

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// A judgement answers only for the policy that made it and the score it
// judged: another policy (a reload, the shadow) or another score is
// judged afresh.
func TestJudgedHoldsForItsPolicyAndScoreOnly(t *testing.T) {
	lenient, err := Parse([]byte("complaint: score.complaint >= 0.5\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	strict, err := Parse([]byte("complaint: score.complaint >= 0.8\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	mild := &fbv1.Score{Complaint: 0.6}
	judged := lenient.Judge(mild)
	if !judged.Complaint() || !lenient.ComplaintOf(mild, judged) {
		t.Fatal("the lenient policy counts a 0.6 complaint score as a complaint")
	}
	if strict.ComplaintOf(mild, judged) {
		t.Error("the strict policy took the lenient policy's judgement")
	}
	if lenient.ComplaintOf(praiseScore(), judged) {
		t.Error("a judgement of one score answered for another")
	}
	in := Input{Mention: mention(), Score: mild, Reach: reachOf(10, 1000, fbv1.Tier_TIER_LOW), History: historyOf(0, 0), Judged: judged}
	if d := strict.Decide(in, time.Now()); d.Complaint {
		t.Error("the strict policy's decision took the lenient policy's judgement")
	}
	if d := lenient.Decide(in, time.Now()); !d.Complaint {
		t.Error("the lenient policy's decision lost its own judgement")
	}
}

// The decision takes the judgement for its routes' `complaint` only when
// the complaint expression reads nothing but the score; one that reads
// the reach is evaluated on the whole input, as always.
func TestDecisionTakesTheJudgementOnlyForAScoreOnlyComplaint(t *testing.T) {
	for src, want := range map[string]bool{
		"score.complaint >= 0.5 || score.sentiment == SENTIMENT_NEGATIVE": true,
		"score.topics.exists(t, t == 'billing')":                          true,
		"score.complaint >= 0.5 && reach.followers > 100":                 false,
		"score.topics.exists(mention, mention == 'billing')":              false,
		"has(mention.text) && score.complaint > 0.5":                      false,
	} {
		p, err := Parse([]byte("complaint: \"" + src + "\"\n" + minimal))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if p.complaint.scoreOnly != want {
			t.Errorf("%s: scoreOnly %v, want %v", src, p.complaint.scoreOnly, want)
		}
	}

	byReach, err := Parse([]byte("complaint: score.complaint >= 0.5 && reach.followers > 100\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	score := &fbv1.Score{Complaint: 0.9}
	judged := byReach.Judge(score) // the score alone: no reach, no complaint
	in := Input{Mention: mention(), Score: score, Reach: reachOf(1000, 1000, fbv1.Tier_TIER_LOW), History: historyOf(0, 0), Judged: judged}
	if d := byReach.Decide(in, time.Now()); !d.Escalate {
		t.Errorf("a complaint by its reach did not escalate with the score's judgement passed: %v", d)
	}

	byScore, err := Parse([]byte("complaint: score.complaint >= 0.5\n" + minimal))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*fbv1.Score{{Complaint: 0.9}, {Complaint: 0.1}} {
		in := Input{Mention: mention(), Score: s, Reach: reachOf(10, 1000, fbv1.Tier_TIER_LOW), History: historyOf(0, 0)}
		without := byScore.Decide(in, time.Unix(0, 0))
		in.Judged = byScore.Judge(s)
		with := byScore.Decide(in, time.Unix(0, 0))
		if !proto.Equal(with, without) {
			t.Errorf("complaint %v: decided %v with the judgement, %v without", s.Complaint, with, without)
		}
	}
}

// Every variable the environment declares, not only those there were when
// readsOnly was written, makes an expression more than the score's.
func TestEveryDeclaredVariableCountsAsAnInput(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, v := range env.Variables() {
		if v.Value() == nil { // enum constants are declared as valued variables
			vars = append(vars, v.Name())
		}
	}
	if len(vars) < 9 {
		t.Fatalf("the environment declares %d variables %v; want the 9 policies read", len(vars), vars)
	}
	for _, name := range vars {
		src := "score.complaint > 0.5 && " + name + " == " + name
		ast, iss := env.Compile(src)
		if iss.Err() != nil {
			t.Fatalf("%s: %v", src, iss.Err())
		}
		want := name == varScore
		if got := readsOnly(env, ast.NativeRep().Expr(), varScore); got != want {
			t.Errorf("%s: reads only the score %v, want %v", src, got, want)
		}
	}
}
