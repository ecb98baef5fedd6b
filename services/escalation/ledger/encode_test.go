package ledger

import (
	"testing"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// An event encoded from its timeline entry and its case's bytes decodes
// to the event: with the commit's case, another case, or none.
func TestEncodeEventDecodesToTheEvent(t *testing.T) {
	c := &fbv1.Case{Id: "t:1", Brand: "acme", Level: 2, Reasons: []*fbv1.Reason{{Code: "rival", Text: "author has 300k followers"}}}
	other := &fbv1.Case{Id: "t:2", Brand: "acme"}
	caseBytes, err := proto.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]*fbv1.CaseEvent{
		"the commit's case": {Id: "t:1:opened", Type: fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED, Case: c, MentionId: "x:1", Level: 1, TraceId: "abc"},
		"another case":      {Id: "t:2:raised", Case: other, MentionId: "x:2"},
		"an empty case":     {Id: "t:3:raised", Case: &fbv1.Case{}},
		"no case":           {Id: "t:4:raised", MentionId: "x:4"},
	} {
		entry, err := timelineEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		b, err := encodeEvent(entry, e, c, caseBytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got fbv1.CaseEvent
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !proto.Equal(&got, e) {
			t.Errorf("%s: decoded %v, want %v", name, &got, e)
		}
	}
}
