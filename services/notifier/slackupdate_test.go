package notifier

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify/slack"
)

// The record kept of the event that took a case leaves out the case's
// lists and private messages, and still shows the same Slack message.
func TestTakenRecordKeepsWhatTheMessageShowsAndNoPrivateText(t *testing.T) {
	c := &fbv1.Case{Id: "c-1", Brand: "acme", Platform: fbv1.Platform_PLATFORM_X, State: fbv1.CaseState_CASE_STATE_ACKNOWLEDGED,
		Priority: fbv1.Priority_PRIORITY_CRITICAL, Author: &fbv1.Author{Handle: "dan", Followers: 332_000},
		Reach: &fbv1.Reach{Followers: 332_000, Tier: fbv1.Tier_TIER_RIVAL}, PrivateTexts: map[string]string{"dm-1": "my card is 4111..."},
		MentionUrls: map[string]string{}, UpdatedAt: timestamppb.New(time.Unix(1_700_000_000, 0))}
	for i := range 500 {
		id := fmt.Sprintf("x:%d", i)
		c.MentionIds, c.Texts = append(c.MentionIds, id), append(c.Texts, "cancelled again and nobody answers")
		c.MentionUrls[id] = "https://x.com/dan/status/" + id
	}
	ev := &fbv1.CaseEvent{Type: fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED, Actor: "ana", Via: "console", At: c.UpdatedAt, Case: c}
	rec := takenRecord(ev)
	if n, whole := proto.Size(rec), proto.Size(ev); n > 1024 || len(rec.Case.PrivateTexts) > 0 {
		t.Fatalf("record of %d bytes (the event is %d) with %d private texts; want under 1 KiB and none", n, whole, len(rec.Case.PrivateTexts))
	}
	if len(ev.Case.MentionIds) != 500 {
		t.Fatal("takenRecord changed the event it was given")
	}
	want, _ := json.Marshal(slack.Taken(ev, "https://firebreak.example.com"))
	got, _ := json.Marshal(slack.Taken(rec, "https://firebreak.example.com"))
	if string(got) != string(want) {
		t.Fatalf("message from the record:\n%s\nwant, from the whole event:\n%s", got, want)
	}
}
