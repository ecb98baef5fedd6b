package wording

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// TestEveryEnumValueHasAWord keeps the switches in step with the protos: a
// value added to an enum must be given a word here.
func TestEveryEnumValueHasAWord(t *testing.T) {
	for v := range fbv1.Priority_name {
		if got := Priority(fbv1.Priority(v)); (got == "") != (v == 0) {
			t.Errorf("Priority(%s) = %q", fbv1.Priority(v), got)
		}
	}
	for v := range fbv1.CaseState_name {
		if got := State(fbv1.CaseState(v)); (got == "") != (v == 0) {
			t.Errorf("State(%s) = %q", fbv1.CaseState(v), got)
		}
	}
	for v := range fbv1.Tier_name {
		if got := Tier(fbv1.Tier(v)); (got == "") != (v == 0) {
			t.Errorf("Tier(%s) = %q", fbv1.Tier(v), got)
		}
	}
	for v := range fbv1.Sentiment_name {
		if got := Sentiment(fbv1.Sentiment(v)); (got == "") != (v == 0) {
			t.Errorf("Sentiment(%s) = %q", fbv1.Sentiment(v), got)
		}
	}
	if Severity(fbv1.Severity_SEVERITY_CRITICAL) != "critical" || Severity(fbv1.Severity_SEVERITY_WARNING) != "warning" || Severity(fbv1.Severity_SEVERITY_INFO) != "info" {
		t.Error("severity words changed")
	}
}
