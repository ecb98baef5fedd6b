package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/testkit"
)

func TestAComplaintReshared500TimesInAnHourEscalatesWithTheSpreadReason(t *testing.T) {
	// Every growth is an update here; in production --update-every spaces
	// a post's updates out.
	w := startSetup(t, setup{replicas: 2, extra: map[string][]string{"ingest": {"--update-every=0s"}}, clock: &shiftClock{}})
	posted := time.Now().Add(-20 * time.Minute).Format(time.RFC3339Nano)
	complaint := func(reposts int) string {
		return fmt.Sprintf(`{"platform":"x","platform_id":"7001","brand":"acme","author":{"id":"u-small","handle":"small","followers":150},`+
			`"text":"@acme charged twice for one month and nobody answers","created_at":%q,"metrics":{"reposts":%d,"likes":%d}}`, posted, reposts, 2*reposts)
	}
	if got := w.acceptAt(0, "7001", complaint(3)); got["duplicate"] != false {
		t.Fatalf("first sight: %v", got)
	}
	first := w.decision("x:7001")
	if first.Team != "standard" {
		t.Fatalf("a small author's complaint went to %q, want the standard queue", first.Team)
	}
	w.skip(holdOver) // the standard route's hold: no incident, so it pages
	w.pagesAbout("small", 1)

	// The same post, seen again on the other replica, reshared 500 times.
	if got := w.acceptAt(1, "7001", complaint(503)); got["duplicate"] != true || got["updated"] != true {
		t.Fatalf("a repeat with more reposts: %v, want a duplicate published as an update", got)
	}
	page := w.pageWith("small", "reshared 503 times in the last hour")
	if page.Action != "trigger" {
		t.Fatalf("page %+v", page)
	}
	var d = w.decision("x:7001")
	testkit.Eventually(t, "the recorded decision to say the post spreads", func() bool {
		d = w.decision("x:7001")
		return hasReason(d.Reasons, "reshared 503 times in the last hour")
	})
	if d.Team != "senior" || d.Route != "viral" || d.CaseId != first.CaseId {
		t.Fatalf("decision %v: want the same case raised to senior by the viral route", d)
	}

	// The same counts again are a plain duplicate, and page nobody.
	if got := w.acceptAt(0, "7001", complaint(503)); got["updated"] == true {
		t.Fatalf("the same counts again were an update: %v", got)
	}
	w.settle()
	if pages := w.hook.about("small"); len(pages) != 2 {
		t.Fatalf("%d pages about @small, want the standard page and the spread one: %v", len(pages), pages)
	}
}
