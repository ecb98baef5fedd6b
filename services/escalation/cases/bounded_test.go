package cases

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// maxCaseEventBytes is the size a case event must stay under: NATS's
// default max_payload is 1 MiB, and headers and the bus envelope need room.
const maxCaseEventBytes = 512 << 10

// worstMention is a mention with every field at the limit ingest accepts:
// a 256-byte id, a 16 KiB text of multi-byte characters, a long address.
func worstMention(i int, private bool, at time.Time) *fbv1.Mention {
	id := fmt.Sprintf("x:%06d:", i)
	id += strings.Repeat("i", 256-len(id))
	m := mention(id, at)
	m.Text = strings.Repeat("é", 8<<10) // 16 KiB
	m.Url = "https://x.com/dan/status/" + strings.Repeat("9", MaxURLBytes-len("https://x.com/dan/status/"))
	if private {
		m.Visibility = fbv1.Visibility_VISIBILITY_PRIVATE
	}
	return m
}

func TestCaseOfTenThousandMentionsStaysBounded(t *testing.T) {
	const n = 10_000
	d := decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint")
	var c *fbv1.Case
	var last []*fbv1.CaseEvent
	var biggest int
	for i := range n {
		m := worstMention(i, i%3 == 0, t0.Add(time.Duration(i)*time.Second))
		next, evs := Decide(Current{Case: c, N: 1}, "tag", d, m, settings(), t0.Add(time.Duration(i)*time.Second))
		if next == nil {
			t.Fatalf("mention %d changed nothing", i)
		}
		c, last = next, evs
		if i%50 == 0 {
			// Brand replies are kept on the case too, as long as ingest allows.
			r := brandReply(fmt.Sprintf("reply-%d", i), t0, &fbv1.ReplyCheck{}, false)
			r.Mention.Text, r.Mention.Url = m.Text, m.Url
			c, _ = DecideReply(Current{Case: c, N: 1}, "tag", &fbv1.Decision{}, r, settings(), t0)
		}
		if i%100 == 99 {
			biggest = max(biggest, proto.Size(last[0]))
		}
	}
	t.Logf("worst-case event after %d mentions: %d bytes (largest on the way %d); case %d bytes", n, proto.Size(last[0]), biggest, proto.Size(c))
	if biggest > maxCaseEventBytes {
		t.Fatalf("a case event reached %d bytes, want at most %d", biggest, maxCaseEventBytes)
	}
	if c.MentionsTotal != n || MentionCount(c) != n {
		t.Errorf("case counts %d mentions, want %d", c.MentionsTotal, n)
	}
	if len(c.MentionIds) != MaxMentionIDs || c.MentionIds[len(c.MentionIds)-1] != worstMention(n-1, false, t0).Id ||
		c.MentionIds[0] != worstMention(n-MaxMentionIDs, false, t0).Id {
		t.Errorf("case keeps %d ids from %.10s to %.10s, want the latest %d", len(c.MentionIds), c.MentionIds[0], c.MentionIds[len(c.MentionIds)-1], MaxMentionIDs)
	}
	if len(c.MentionUrls) != MaxLinks || len(c.PrivateTexts) != MaxPrivateTexts || len(c.Replies) != MaxReplies {
		t.Errorf("case keeps %d addresses, %d private texts, %d replies; want %d, %d, %d",
			len(c.MentionUrls), len(c.PrivateTexts), len(c.Replies), MaxLinks, MaxPrivateTexts, MaxReplies)
	}
	latest := c.MentionIds[len(c.MentionIds)-MaxLinks:]
	for id := range c.MentionUrls {
		if !Holds(&fbv1.Case{MentionIds: latest}, id) {
			t.Fatalf("case keeps the address of %.10s, not among its latest %d mentions", id, MaxLinks)
		}
	}
	for _, text := range append(c.Texts, c.Replies[0].Text) {
		if len(text) > MaxKeptTextBytes || !utf8.ValidString(text) || !strings.HasSuffix(text, "…") {
			t.Fatalf("kept text of %d bytes (valid UTF-8 %v), want at most %d, cut with an ellipsis", len(text), utf8.ValidString(text), MaxKeptTextBytes)
		}
	}
}

func TestOldCaseWithoutATotalCountsItsIDs(t *testing.T) {
	old := &fbv1.Case{Id: "tag-1", State: fbv1.CaseState_CASE_STATE_OPEN, MentionIds: []string{"m1", "m2"}, LastComplaintAt: timestamppb.New(t0)}
	c, _ := Decide(Current{Case: old, N: 1}, "tag", decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"), mention("m3", t0), settings(), t0)
	if c.MentionsTotal != 3 {
		t.Fatalf("case stored before mentions_total, after a third mention, counts %d", c.MentionsTotal)
	}
	if again, _ := Decide(Current{Case: c, N: 1}, "tag", decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint"), mention("m2", t0), settings(), t0); again != nil {
		t.Fatalf("a mention the case lists was attached again: %d mentions", again.MentionsTotal)
	}
}

func TestSpreadRaisesACappedCaseForAMentionOlderThanItsIDs(t *testing.T) {
	d := decision("standard", fbv1.Priority_PRIORITY_NORMAL, "complaint")
	var c *fbv1.Case
	for i := range MaxMentionIDs + 10 {
		c, _ = Decide(Current{Case: c, N: 1}, "tag", d, mention(fmt.Sprintf("m%d", i), t0), settings(), t0)
	}
	if Holds(c, "m0") || !MayHold(c, "m0") {
		t.Fatalf("capped case: holds m0 %v, may hold %v; want false, true", Holds(c, "m0"), MayHold(c, "m0"))
	}
	raised, evs := Spread(c, decision("senior", fbv1.Priority_PRIORITY_HIGH, "viral"), mention("m0", t0), settings(), t0, "1.2.3.4")
	if raised == nil || evs[0].Type != fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED {
		t.Fatal("the first mention of a capped case spread and the case was not raised")
	}
	small, _ := Decide(Current{}, "tag", d, mention("a", t0), settings(), t0)
	if r, _ := Spread(small, decision("senior", fbv1.Priority_PRIORITY_HIGH, "viral"), mention("b", t0), settings(), t0, "1"); r != nil {
		t.Fatal("a case that lists all its mentions was raised for a mention it does not hold")
	}
}
