package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestCasesGetShowsWhatAnIncidentGathers(t *testing.T) {
	at := timestamppb.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	c := &fbv1.Case{Id: "bed66ba26ed70cf7-1", Brand: "acme", Kind: fbv1.CaseKind_CASE_KIND_INCIDENT, Team: "senior",
		State: fbv1.CaseState_CASE_STATE_OPEN, Priority: fbv1.Priority_PRIORITY_CRITICAL, Level: 1, Author: &fbv1.Author{Id: "incident"},
		Reasons: []*fbv1.Reason{{Code: "surge", Text: "41 people complained about broadband in 15 minutes; usually 3 ± 2"}},
		Incident: &fbv1.Incident{Topic: "broadband", Authors: 41, Reach: 12_300, MembersTotal: 2, MemberCaseIds: []string{"a-1", "b-1"},
			Peak: 41, Severity: fbv1.Priority_PRIORITY_CRITICAL, FirstMentionId: "x:1", FirstMentionAt: at, LatestMentionId: "x:41", LatestMentionAt: at}}
	member := &fbv1.Case{Id: "a-1", IncidentId: c.Id}
	var out bytes.Buffer
	printCase(&out, c, nil)
	printCase(&out, member, []*fbv1.CaseEvent{{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, At: at, Case: member, Quiet: true}})
	for _, want := range []string{
		"Incident of brand acme, topic broadband: 41 distinct authors (12,300 followers together), 2 member cases, peak 41 in a window, severity critical",
		"41 people complained about broadband in 15 minutes; usually 3 ± 2",
		"Members: a-1, b-1",
		"Joined incident bed66ba26ed70cf7-1",
		"[joined incident bed66ba26ed70cf7-1 quietly; nobody paged]",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
