package escalation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// openCase opens a critical case and returns its id.
func openCase(t *testing.T, r *rig, id string) string {
	t.Helper()
	m := mention(id, strings.ReplaceAll(id, ":", "-"), 500_000, time.Now())
	r.send(scored(m, 0.9), 1)
	r.send(reached(m, fbv1.Tier_TIER_RIVAL), 1)
	return r.decision(id).CaseId
}

func (r *rig) caseNow(id string) *fbv1.GetCaseResponse {
	r.t.Helper()
	resp, err := r.svc[0].GetCase(context.Background(), &fbv1.GetCaseRequest{Id: id})
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func TestAssignSnoozeAndReopenAreRecordedWithTheAuthenticatedActor(t *testing.T) {
	r := newRig(t, 1)
	id := openCase(t, r, "x:actions")
	svc := r.svc[0]
	if _, err := svc.AssignCase(asAna(), &fbv1.AssignCaseRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	resp, err := svc.AssignCase(asAna(), &fbv1.AssignCaseRequest{Id: id, Assignee: "Ben Okafor", Note: "he knows the area"})
	if err != nil || resp.Case.Assignee != "Ben Okafor" || resp.Case.AssignedBy != "ana" {
		t.Fatalf("assign to ben: %v %v", resp, err)
	}
	sn, err := svc.SnoozeCase(asAna(), &fbv1.SnoozeCaseRequest{Id: id, Seconds: 3600, Note: "engineer on the way"})
	if err != nil {
		t.Fatal(err)
	}
	until := sn.Case.SnoozedUntil.AsTime()
	if d := time.Until(until); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("snoozed until %s, want an hour from now", until)
	}
	// No level fires while snoozed: the chain's next look is the snooze's end.
	if next := svc.nextLook(svc.policy.Load(), sn.Case); !next.Equal(until) {
		t.Fatalf("next look at %s, want the snooze's end %s", next, until)
	}
	// Only assigned cases are listed for an assignee.
	list, err := svc.ListCases(context.Background(), &fbv1.ListCasesRequest{Assignee: "Ben Okafor"})
	if err != nil || len(list.Cases) != 1 || list.Cases[0].Id != id {
		t.Fatalf("cases assigned to ben: %v %v", list, err)
	}
	if list, _ := svc.ListCases(context.Background(), &fbv1.ListCasesRequest{Assignee: "nobody"}); len(list.Cases) != 0 {
		t.Fatalf("cases assigned to nobody: %v", list.Cases)
	}
	if _, err := svc.ResolveCase(asAna(), &fbv1.ResolveCaseRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	re, err := svc.ReopenCase(asAna(), &fbv1.ReopenCaseRequest{Id: id, Note: "he wrote again"})
	if err != nil || re.Case.State != fbv1.CaseState_CASE_STATE_OPEN || re.Case.Level != 1 {
		t.Fatalf("reopen: %v %v", re, err)
	}
	var got []string
	for _, e := range r.caseNow(id).Timeline {
		if e.Actor != "" {
			got = append(got, fmt.Sprintf("%s by %s (%s): %s", strings.TrimPrefix(e.Type.String(), "CASE_EVENT_TYPE_"), e.Actor, e.AuthMethod, e.Note))
		}
	}
	want := []string{
		"ASSIGNED by ana (api-key): ",
		"ASSIGNED by ana (api-key): he knows the area",
		"SNOOZED by ana (api-key): engineer on the way",
		"RESOLVED by ana (api-key): ",
		"REOPENED by ana (api-key): he wrote again",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The reopened case pages its chain's first level again.
	r.waitEvents("the reopening to be published", func(evs []*fbv1.CaseEvent) bool {
		for _, e := range evs {
			if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED && len(e.Receivers) == 1 && e.Receivers[0] == "oncall" {
				return true
			}
		}
		return false
	})
}

func TestBadActionsAreRefusedWithTheReasonAndChangeNothing(t *testing.T) {
	r := newRig(t, 1)
	id := openCase(t, r, "x:bad-actions")
	svc := r.svc[0]
	before := r.caseNow(id)
	for _, c := range []struct {
		name string
		call func() error
		code codes.Code
		says string
	}{
		{"assign to blanks", func() error {
			_, err := svc.AssignCase(asAna(), &fbv1.AssignCaseRequest{Id: id, Assignee: "   "})
			return err
		}, codes.InvalidArgument, "assignee is empty"},
		{"snooze for nothing", func() error {
			_, err := svc.SnoozeCase(asAna(), &fbv1.SnoozeCaseRequest{Id: id})
			return err
		}, codes.InvalidArgument, "snooze for 1 minute to 168 hours"},
		{"snooze for eight days", func() error {
			_, err := svc.SnoozeCase(asAna(), &fbv1.SnoozeCaseRequest{Id: id, Seconds: 8 * 24 * 3600})
			return err
		}, codes.InvalidArgument, "out of bounds"},
		{"snooze for ever", func() error {
			_, err := svc.SnoozeCase(asAna(), &fbv1.SnoozeCaseRequest{Id: id, Seconds: 1 << 62})
			return err
		}, codes.InvalidArgument, "out of bounds"},
		{"reopen an open case", func() error {
			_, err := svc.ReopenCase(asAna(), &fbv1.ReopenCaseRequest{Id: id})
			return err
		}, codes.FailedPrecondition, "only resolved cases can be reopened"},
		{"unsnooze a case that is not snoozed", func() error {
			_, err := svc.UnsnoozeCase(asAna(), &fbv1.UnsnoozeCaseRequest{Id: id})
			return err
		}, codes.FailedPrecondition, "is not snoozed"},
		{"a note too long", func() error {
			_, err := svc.AssignCase(asAna(), &fbv1.AssignCaseRequest{Id: id, Assignee: "ben", Note: strings.Repeat("x", 2001)})
			return err
		}, codes.InvalidArgument, "at most 2000"},
	} {
		err := c.call()
		if status.Code(err) != c.code || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.code, c.says)
		}
	}
	after := r.caseNow(id)
	if !proto.Equal(before.Case, after.Case) || len(before.Timeline) != len(after.Timeline) {
		t.Fatal("a refused action changed the case")
	}
}

// slowPolicy gives level 1 five seconds, so a snooze made just after the
// case opens lands before level 2 is due.
const slowPolicy = `
complaint: score.complaint >= 0.5
routes:
  - name: rival
    match: complaint && reach.tier == TIER_RIVAL
    team: senior
    priority: CRITICAL
    reason: "author has {audience}"
chains:
  senior:
    levels:
      - {receivers: [oncall], ack_timeout: 5s}
      - {receivers: [head], ack_timeout: 1h}
`

func TestSnoozeFromTheBusIsAppliedOnceAndPausesTheChainUntilUnsnoozed(t *testing.T) {
	path := t.TempDir() + "/slow.yaml"
	if err := writeFile(path, slowPolicy); err != nil {
		t.Fatal(err)
	}
	r := newRigWith(t, 1, func(c *Config) { c.PolicyFile = path })
	id := openCase(t, r, "x:snooze-bus")
	at := time.Now()
	cmd := &fbv1.CaseCommand{Id: "slack:snooze-1", CaseId: id, Action: fbv1.CaseCommandAction_CASE_COMMAND_ACTION_SNOOZE, SnoozeSeconds: 3600,
		Actor: "amy", Source: "slack", Via: "slack:U0CA5", At: timestamppb.New(at)}
	for i := range 3 { // redelivered past the broker's dedup window
		if _, err := r.bus.Publisher.Publish(context.Background(), bus.Event{Subject: r.bus.Names.CaseCommands(), MsgID: fmt.Sprintf("snooze-1#%d", i), Message: cmd}); err != nil {
			t.Fatal(err)
		}
	}
	evs := r.waitEvents("the snooze", func(evs []*fbv1.CaseEvent) bool { return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED) >= 1 })
	until := at.Add(time.Hour)
	for _, e := range evs {
		if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED && (e.Actor != "amy" || e.AuthMethod != "slack" || e.Via != "slack:U0CA5" ||
			!e.Case.SnoozedUntil.AsTime().Equal(until)) {
			t.Fatalf("snoozed by %q via %q (%q) until %s", e.Actor, e.AuthMethod, e.Via, e.Case.SnoozedUntil.AsTime())
		}
	}
	// Level 2 falls due 5s after the case opened; the timer looks, finds the
	// case asleep, and puts its next look at the snooze's end.
	testkit.EventuallyWithin(t, 20*time.Second, "the chain to wait for the snooze's end", func() bool {
		next, err := r.svc[0].store.NextLook(context.Background(), id)
		return err == nil && next.Equal(until.Truncate(time.Millisecond))
	})
	c := r.caseNow(id)
	snoozes := 0
	for _, e := range c.Timeline {
		switch e.Type {
		case fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED:
			snoozes++
		case fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED:
			t.Fatalf("level %d fired while the case was snoozed", e.Level)
		}
	}
	// The redeliveries have been handled by now (they precede the timer's
	// look), and the same command is applied once.
	if snoozes != 1 {
		t.Fatalf("%d snoozes on the timeline, want 1", snoozes)
	}
	if _, err := r.svc[0].UnsnoozeCase(asAna(), &fbv1.UnsnoozeCaseRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	r.waitEvents("level 2 once the snooze ends", func(evs []*fbv1.CaseEvent) bool {
		for _, e := range evs {
			if e.Type == fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED && e.Case.GetId() == id && e.Level == 2 {
				return true
			}
		}
		return false
	})
}

func TestResolutionOfAnEarlierEpisodeChangesNothing(t *testing.T) {
	// On a fake clock, so the chain's own timers cannot change the case
	// while the test compares it before and after.
	r := newTimedRig(t)
	id := openCase(t, r, "x:episodes")
	svc := r.svc[0]
	if _, err := svc.ResolveCase(asAna(), &fbv1.ResolveCaseRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	re, err := svc.ReopenCase(asAna(), &fbv1.ReopenCaseRequest{Id: id, Note: "he wrote again"})
	if err != nil || re.Case.Episode != 1 {
		t.Fatalf("reopen: episode %d, %v", re.GetCase().GetEpisode(), err)
	}
	before := r.caseNow(id)
	send := func(cmdID string, action fbv1.CaseCommandAction, episode int32) {
		cmd := &fbv1.CaseCommand{Id: cmdID, CaseId: id, Action: action, Actor: "pagerduty:Ana", Source: "pagerduty",
			Episode: proto.Int32(episode), At: timestamppb.Now()}
		for i := range 2 { // redelivered past the broker's dedup window
			if _, err := r.bus.Publisher.Publish(context.Background(), bus.Event{Subject: r.bus.Names.CaseCommands(), MsgID: fmt.Sprintf("%s#%d", cmdID, i), Message: cmd}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// PagerDuty's incident of the first episode is resolved late (or the
	// webhook replayed), and its acknowledgement too.
	send("pd:late-resolve", fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE, 0)
	send("pd:late-ack", fbv1.CaseCommandAction_CASE_COMMAND_ACTION_ACKNOWLEDGE, 0)
	r.waitEvents("both ignored", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_COMMAND_IGNORED) >= 2
	})
	after := r.caseNow(id)
	if after.Case.State != fbv1.CaseState_CASE_STATE_OPEN || after.Case.Episode != 1 || after.Case.ResolvedBy != "" || after.Case.AcknowledgedBy != "" {
		t.Fatalf("case after a late resolution of episode 0: %s episode %d resolved by %q acked by %q",
			after.Case.State, after.Case.Episode, after.Case.ResolvedBy, after.Case.AcknowledgedBy)
	}
	if !proto.Equal(before.Case, after.Case) {
		t.Fatalf("the case changed:\n%v\n%v", before.Case, after.Case)
	}
	var ignored []string
	for _, e := range after.Timeline[len(before.Timeline):] {
		if e.Type != fbv1.CaseEventType_CASE_EVENT_TYPE_COMMAND_IGNORED || len(e.Reasons) != 1 {
			t.Fatalf("unexpected event on the timeline: %v", e)
		}
		ignored = append(ignored, fmt.Sprintf("%s (%s): %s", e.Actor, e.AuthMethod, e.Reasons[0].Text))
	}
	want := []string{
		"pagerduty:Ana (pagerduty): resolve for episode 0 ignored: the case is in episode 1, which it does not concern",
		"pagerduty:Ana (pagerduty): acknowledge for episode 0 ignored: the case is in episode 1, which it does not concern",
	}
	slices.Sort(ignored) // the consumer may apply the two in either order
	slices.Sort(want)
	if strings.Join(ignored, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline, once per command whatever the redeliveries:\n%s\nwant:\n%s", strings.Join(ignored, "\n"), strings.Join(want, "\n"))
	}
	// The current episode's resolution applies.
	send("pd:resolve-1", fbv1.CaseCommandAction_CASE_COMMAND_ACTION_RESOLVE, 1)
	r.waitEvents("the resolution of episode 1", func(evs []*fbv1.CaseEvent) bool {
		return count(evs, fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED) >= 2
	})
	if c := r.caseNow(id).Case; c.State != fbv1.CaseState_CASE_STATE_RESOLVED || c.ResolvedBy != "pagerduty:Ana" {
		t.Fatalf("case after resolving episode 1: %s by %q", c.State, c.ResolvedBy)
	}
}
