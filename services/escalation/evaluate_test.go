package escalation

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// EvaluatePolicy runs a policy under the same bounds as live decisions: a
// call whose time is up is stopped mid-comprehension and answered with
// DeadlineExceeded, not left running.
func TestEvaluatePolicyIsStoppedWhenItsDeadlinePasses(t *testing.T) {
	r := newRig(t, 1)
	items := make([]string, 200)
	for i := range items {
		items[i] = strconv.Itoa(i)
	}
	doc := strings.Replace(fastPolicy, "match: complaint\n", "match: 'complaint && ["+strings.Join(items, ",")+"].all(x, x >= 0)'\n", 1)
	req := &fbv1.EvaluatePolicyRequest{Policy: doc, Mention: mention("x:wide", "ana", 10, time.Now()),
		Score: &fbv1.Score{Complaint: 0.9, Sentiment: fbv1.Sentiment_SENTIMENT_NEGATIVE}}
	resp, err := r.svc[0].EvaluatePolicy(context.Background(), req)
	if err != nil || !resp.Decision.Escalate {
		t.Fatalf("with time to run: %v, %v; want the wide route to match", resp, err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err = r.svc[0].EvaluatePolicy(expired, req)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "route standard") {
		t.Fatalf("past its deadline: %v, want DeadlineExceeded naming the route stopped", err)
	}
}
