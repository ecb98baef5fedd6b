package escalation

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

func (r *rig) client(replica int) fbv1.EscalationServiceClient {
	r.t.Helper()
	conn, err := rpc.Dial(r.svc[replica].GRPCAddr(), r.env.Token)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.(*testing.T).Cleanup(func() { conn.Close() })
	return fbv1.NewEscalationServiceClient(conn)
}

func outageSilence(matchers ...*fbv1.Matcher) *fbv1.Silence {
	return &fbv1.Silence{Matchers: matchers, Comment: "broadband outage north", CreatedBy: "typed-by-hand",
		EndsAt: timestamppb.New(time.Now().Add(time.Hour))}
}

func eq(name, value string) *fbv1.Matcher {
	return &fbv1.Matcher{Name: name, Type: fbv1.MatchType_MATCH_TYPE_EQUAL, Value: value}
}

func TestSilencedDecisionsAreExplainedAndTheirEventsPageNobodyOnEitherReplica(t *testing.T) {
	r := newRig(t, 2)
	ctx := context.Background()
	added, err := r.client(0).AddSilence(ctx, &fbv1.AddSilenceRequest{Silence: outageSilence(eq("author", "muted"))})
	if err != nil {
		t.Fatal(err)
	}
	if added.Silence.CreatedBy == "typed-by-hand" || added.Silence.CreatedBy == "" || added.Silence.Id == "" {
		t.Fatalf("silence %v: its creator must be who authenticated", added.Silence)
	}
	// Both replicas decide; whichever takes the mention sees the silence.
	m := mention("x:muted-1", "muted", 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	d := r.decision("x:muted-1")
	want := "silenced by 'broadband outage north', until "
	if !d.Escalate || d.Silenced.GetId() != added.Silence.Id || !strings.HasPrefix(d.Reasons[len(d.Reasons)-1].Text, want) ||
		!strings.HasSuffix(d.Reasons[len(d.Reasons)-1].Text, "by "+added.Silence.CreatedBy) {
		t.Fatalf("decision %v: want it made, escalating, and saying %q...", d, want)
	}
	// The chain's next level (150ms) is muted too while the silence lasts.
	evs := r.waitEvents("the chain's second level", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED) >= 1
	})
	for _, e := range evs {
		if e.Silenced.GetId() != added.Silence.Id {
			t.Fatalf("event %s %v was not marked silenced", e.Id, types([]*fbv1.CaseEvent{e}))
		}
	}
	got, err := r.client(1).GetCase(ctx, &fbv1.GetCaseRequest{Id: d.CaseId})
	if err != nil {
		t.Fatal(err)
	}
	for _, reason := range got.Case.Reasons {
		if reason.Code == "silenced" {
			t.Fatalf("the case's own reasons carry the silence: %v", got.Case.Reasons)
		}
	}

	// Expired on the other replica, the silence no longer mutes.
	if _, err := r.client(1).ExpireSilence(ctx, &fbv1.ExpireSilenceRequest{Id: added.Silence.Id}); err != nil {
		t.Fatal(err)
	}
	after := mention("x:loud-1", "muted2", 500_000, time.Now())
	after.Author.Handle = "muted"
	r.send(scored(after, 0.9), 1)
	r.send(reached(after, fbv1.Tier_TIER_RIVAL), 1)
	if d := r.decision("x:loud-1"); d.Silenced != nil {
		t.Fatalf("decision after the silence was expired is still silenced: %v", d.Reasons)
	}
	list, err := r.client(0).ListSilences(ctx, &fbv1.ListSilencesRequest{Expired: true, Audit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Silences) != 1 || list.Silences[0].ExpiredBy == "" || len(list.Audit) != 2 || list.Audit[0].Action != "expired" || list.Audit[1].Action != "added" {
		t.Fatalf("list %v: want the expired silence, with who expired it, and two audit entries", list)
	}
	if active, _ := r.client(0).ListSilences(ctx, &fbv1.ListSilencesRequest{}); len(active.GetSilences()) != 0 {
		t.Fatalf("an expired silence is listed as active: %v", active)
	}
}

func TestBadSilencesAreRefusedAndNothingIsStored(t *testing.T) {
	r := newRig(t, 1)
	ctx := context.Background()
	backwards := outageSilence(eq("brand", "acme"))
	backwards.StartsAt, backwards.EndsAt = timestamppb.New(time.Now().Add(2*time.Hour)), timestamppb.New(time.Now().Add(time.Hour))
	for name, tc := range map[string]struct {
		s    *fbv1.Silence
		says string
	}{
		"no matchers":      {outageSilence(), "no matchers"},
		"everything":       {outageSilence(&fbv1.Matcher{Name: "brand", Type: fbv1.MatchType_MATCH_TYPE_REGEX, Value: ".*"}), "empty value"},
		"end before start": {backwards, "is not after the start"},
		"bad regex":        {outageSilence(&fbv1.Matcher{Name: "topic", Type: fbv1.MatchType_MATCH_TYPE_REGEX, Value: "broad(band"}), "missing closing )"},
	} {
		_, err := r.client(0).AddSilence(ctx, &fbv1.AddSilenceRequest{Silence: tc.s})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want InvalidArgument saying %q", name, err, tc.says)
		}
	}
	list, err := r.client(0).ListSilences(ctx, &fbv1.ListSilencesRequest{Expired: true, Audit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Silences)+len(list.Audit) != 0 {
		t.Fatalf("refused silences left something: %v", list)
	}
	if _, err := r.client(0).AddSilence(ctx, &fbv1.AddSilenceRequest{Silence: outageSilence(), Force: true}); err != nil {
		t.Fatalf("a forced silence of everything: %v", err)
	}
	if _, err := r.client(0).ExpireSilence(ctx, &fbv1.ExpireSilenceRequest{Id: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("expiring an unknown silence: %v, want NotFound", err)
	}
}
