package notify_test

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
)

func TestPrivateTextsAreLeftOutOfReceiversByDefault(t *testing.T) {
	private := &fbv1.BrandReply{MentionId: "x:dm", Text: "Your account 1234 is refunded", Visibility: fbv1.Visibility_VISIBILITY_PRIVATE}
	public := &fbv1.BrandReply{MentionId: "x:pub", Text: "Please DM us", Visibility: fbv1.Visibility_VISIBILITY_PUBLIC}
	c := &fbv1.Case{Id: "c-1", Texts: []string{"still broken"}, PrivateTexts: map[string]string{"x:cdm": "my address is 1 High St"},
		Replies: []*fbv1.BrandReply{public, private}}
	in := []*fbv1.CaseEvent{{Id: "e1", Case: c, Reply: private}, {Id: "e2", Case: &fbv1.Case{Id: "c-2", Texts: []string{"hi"}}}}

	out := notify.WithoutPrivate(in)
	got := out[0]
	if len(got.Case.PrivateTexts) != 0 || got.Reply.Text == private.Text || got.Case.Replies[1].Text == private.Text {
		t.Fatalf("private text reached the receiver: %v", got)
	}
	if got.Case.Replies[0].Text != "Please DM us" || got.Case.Texts[0] != "still broken" {
		t.Errorf("public texts changed: %v", got.Case)
	}
	if out[1] != in[1] {
		t.Error("an event with nothing private was copied")
	}
	if in[0].Reply.Text != "Your account 1234 is refunded" || len(in[0].Case.PrivateTexts) != 1 {
		t.Error("the shared event was changed in place")
	}
}
