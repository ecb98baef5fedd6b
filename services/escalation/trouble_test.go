package escalation

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// undecided reports whether escalation has no decision on id.
func (r *rig) undecided(id string) bool {
	r.t.Helper()
	_, err := r.svc[0].ExplainDecision(context.Background(), &fbv1.ExplainDecisionRequest{MentionId: id})
	if err != nil && status.Code(err) != codes.NotFound {
		r.t.Fatalf("explain decision on %s: %v", id, err)
	}
	return status.Code(err) == codes.NotFound
}

// Escalation's own consumers see nothing fail here; another service (say
// reach, whose publishes to a stream in an election failed) noted trouble.
// The overdue mention waits for its part instead of being decided without
// it, and one overdue before the note is decided on time.
func TestAnOverdueMentionWaitsWhileAnotherServiceNotesTrouble(t *testing.T) {
	r := newTimedRig(t)
	// Past newRigIn's 200ms join timeout, armed on the real clock.
	const past = time.Minute

	calm := mention("x:calm", "calm", 332_000, time.Now())
	r.send(scored(calm, 0.9), 1)
	r.settled()
	r.elapse(past)
	if r.undecided("x:calm") {
		t.Fatal("an overdue mention with no trouble anywhere was not decided on its join timeout")
	}

	late := mention("x:late", "late", 332_000, time.Now())
	r.send(scored(late, 0.9), 1)
	r.settled()
	if err := r.bus.Trouble.Mark(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.elapse(past)
	if !r.undecided("x:late") {
		t.Fatal("an overdue mention was decided without its reach while another service noted trouble")
	}
	r.send(reached(late, fbv1.Tier_TIER_RIVAL), 1)
	d := r.decision("x:late")
	if len(d.Missing) != 0 {
		t.Fatalf("decision after the late reach came: missing %v, want nothing", d.Missing)
	}
}
