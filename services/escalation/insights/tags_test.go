package insights

import (
	"fmt"
	"testing"

	"github.com/firebreak/firebreak/services/platform/store"
)

// A series' key with its tag remembered is the key Read reads, before
// and after the remembered tags are forgotten for being too many.
func TestSeriesKeyIsTheKeyReadReads(t *testing.T) {
	tally := New(store.Keys{Prefix: "fbtest:"})
	for i := range maxSeriesTags + 10 {
		brand := fmt.Sprintf("brand-%d", i%(maxSeriesTags+5))
		if got, want := tally.seriesKey("mentions/", brand, "2026120103"), tally.key("mentions/"+brand, "2026120103"); got != want {
			t.Fatalf("seriesKey(mentions/, %s) = %q, key reads %q", brand, got, want)
		}
	}
	if n := len(tally.tags.m); n > maxSeriesTags {
		t.Errorf("%d series tags remembered, more than the %d bound", n, maxSeriesTags)
	}
}
