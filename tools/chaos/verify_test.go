package chaos

import (
	"testing"
	"time"

	"github.com/firebreak/firebreak/tools/load"
)

func sent(id string, at time.Time) load.Sent {
	return load.Sent{Mention: load.Mention{Platform: "x", PlatformID: id}, Sent: at, Accepted: at}
}

func page(at time.Time, key, caseID, eventID, mention string) load.Page {
	ev := load.PageEvent{ID: eventID, Type: "CASE_EVENT_TYPE_OPENED", MentionID: mention, Level: 1}
	ev.Case.ID = caseID
	return load.Page{At: at, IdempotencyKey: key, Events: []load.PageEvent{ev}}
}

func TestAPageRepeatedUnderAnotherKeyIsADuplicateButNotUnderTheSameKey(t *testing.T) {
	t0 := time.Now()
	s := &Suite{}
	cl := &caseLog{}
	var v Verdict
	paged, dups := s.pageStats([]load.Page{
		page(t0, "k1", "c1", "c1:opened:x:1", "x:1"),
		page(t0, "k1", "c1", "c1:opened:x:1", "x:1"), // a retry the receiver dedups
		page(t0, "k2", "c2", "c2:opened:x:2", "x:2"),
		page(t0, "k3", "c2", "c2:opened:x:2", "x:2"), // a second page: nobody dedups it
	}, cl, &v)
	if dups["x:1"] != 0 || dups["x:2"] != 1 {
		t.Fatalf("duplicates = %v, want one for x:2 only", dups)
	}
	if v.SameKeyRepeats != 1 {
		t.Fatalf("same-key repeats = %d, want 1", v.SameKeyRepeats)
	}
	if !paged["c1:opened:x:1"] || !paged["c2:opened:x:2"] {
		t.Fatalf("paged = %v", paged)
	}
}

func TestACaseOpenedAgainBelongsToThePhaseThatReopenedIt(t *testing.T) {
	t0 := time.Now()
	cl := &caseLog{
		opened:   map[string][]string{"c1": {"c1:opened:x:1", "c1:opened:x:9"}, "c2": {"c2:opened:x:2"}},
		openedBy: map[string]string{"c1:opened:x:1": "x:1", "c1:opened:x:9": "x:9", "c2:opened:x:2": "x:2"},
	}
	paged := map[string]bool{"c1:opened:x:1": true, "c1:opened:x:9": true}
	first := PhaseRun{Sent: []load.Sent{sent("1", t0), sent("2", t0)}}
	later := PhaseRun{Sent: []load.Sent{sent("9", t0)}}
	var row Row
	if twice, unpaged := casesOf(first, cl, paged, &row); twice != 0 || unpaged != 1 {
		t.Fatalf("first phase: twice %d unpaged %d, want 0 and 1 (c2 never paged)", twice, unpaged)
	}
	if twice, unpaged := casesOf(later, cl, paged, &row); twice != 1 || unpaged != 0 {
		t.Fatalf("later phase: twice %d unpaged %d, want 1 and 0", twice, unpaged)
	}
}

func TestRecoveryIsTheLongestWaitOfAMentionSentDuringTheFault(t *testing.T) {
	t0 := time.Now()
	r := PhaseRun{
		Sent:    []load.Sent{sent("1", t0.Add(-time.Second)), sent("2", t0.Add(time.Second)), sent("3", t0.Add(2*time.Second))},
		Windows: []Window{{Fault: "SIGKILL escalation", At: t0, Restored: t0.Add(2 * time.Second)}},
	}
	decided := map[string]load.Decided{
		"x:1": {At: t0.Add(-time.Second)},
		"x:2": {At: t0.Add(5 * time.Second)},
		"x:3": {At: t0.Add(4 * time.Second)},
	}
	if got, _ := recovery(r, decided, nil); got != 5*time.Second {
		t.Fatalf("recovery = %s, want 5s", got)
	}
}
