package console

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestACaseKeepingOnlyItsLatestMentionsShowsTheirCount(t *testing.T) {
	fake := newCases()
	c := storyCase("long-1")
	c.MentionsTotal = 12_345 // it keeps the ids of the latest only
	fake.put(c, fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED)
	con := start(t, "admin", fake)

	_, page, _ := con.get(t, "/cases/long-1")
	contains(t, page, "the latest 1 of 12,345")
	_, queue, _ := con.get(t, "/")
	contains(t, queue, "12,345 mentions on")
}
