package console

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestIncidentsShowAsCasesOfKindIncidentWithTheirMembers(t *testing.T) {
	fake := newCases()
	inc := storyCase("bed66ba26ed70cf7-1")
	inc.Kind, inc.Author, inc.MentionIds, inc.Texts = fbv1.CaseKind_CASE_KIND_INCIDENT, &fbv1.Author{Id: "incident"}, nil, nil
	inc.Reasons = []*fbv1.Reason{{Code: "surge", Text: "41 people complained about broadband in 15 minutes; usually 3 ± 2"}}
	inc.Incident = &fbv1.Incident{Topic: "broadband", Authors: 41, Reach: 12_300, Peak: 41, MembersTotal: 2, MemberCaseIds: []string{"member-1", "member-2"},
		Severity: fbv1.Priority_PRIORITY_CRITICAL, Reason: inc.Reasons[0].Text, FirstMentionId: "x:1", LatestMentionId: "x:41"}
	member := storyCase("member-1")
	member.IncidentId = inc.Id
	fake.put(inc, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	fake.put(member, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)

	_, queue, _ := con.get(t, "/")
	contains(t, queue, `>incident</a>`, "41 people, 2 cases · broadband", `in <a href="/cases/bed66ba26ed70cf7-1">incident bed66ba26ed70cf7-1</a>`)
	_, page, _ := con.get(t, "/cases/bed66ba26ed70cf7-1")
	contains(t, page, "Incident <small>about acme, broadband</small>", "41 people complained about broadband in 15 minutes; usually 3 ± 2",
		"41 distinct authors, 12,300 followers together", `<a href="/cases/member-1">member-1</a>`, `<a href="/cases/member-2">member-2</a>`)
	_, memberPage, _ := con.get(t, "/cases/member-1")
	contains(t, memberPage, `Joined <a href="/cases/bed66ba26ed70cf7-1">incident bed66ba26ed70cf7-1</a> while it was open.`)
}
