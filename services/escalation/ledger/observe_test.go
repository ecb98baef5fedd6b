package ledger

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/firebreak/firebreak/services/escalation/surge"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
)

// TestObserveCountsAsTheCounter checks the surge counting in Redis against
// surge.Counter, which counts the same in memory (the backtest replays
// history through it): random complaints and looks, in and out of order,
// over several windows, in the brand, topics and posts, with and without
// a persist. The finished windows are learned (the list dropped) after
// each look, as the service does, so each observation's are the ones the
// Counter reports.
func TestObserveCountsAsTheCounter(t *testing.T) {
	client, keys := storetest.New(t)
	ctx := context.Background()
	run := 0
	rapid.Check(t, func(rt *rapid.T) {
		run++
		s := NewSurges(client, keys)
		brand := fmt.Sprintf("acme-%d", run)
		cfg := surge.Config{Window: 10 * time.Minute, Persist: rapid.SampledFrom([]time.Duration{0, 2 * time.Minute, 25 * time.Minute}).Draw(rt, "persist")}
		var counter surge.Counter
		at := time.Unix(1_800_000_000, 0)
		for i := range rapid.IntRange(1, 40).Draw(rt, "steps") {
			at = at.Add(time.Duration(rapid.IntRange(-5*60, 12*60).Draw(rt, "step s")) * time.Second)
			author := rapid.SampledFrom([]string{"", "a", "b", "c", "d"}).Draw(rt, "author")
			scopes := surge.ScopesOf(rapid.SliceOfN(rapid.SampledFrom([]string{"delays", "refunds"}), 0, 2).Draw(rt, "topics"),
				rapid.SampledFrom([]string{"", "p1", "p2"}).Draw(rt, "post"))
			want := counter.Observe(author, at, scopes, cfg)
			o, err := s.Observe(ctx, brand, author, at, scopes, cfg)
			if err != nil {
				rt.Fatal(err)
			}
			got := o.Obs
			for _, sc := range scopes {
				if len(want.Closed[sc]) == 0 {
					delete(want.Closed, sc)
				}
			}
			if !reflect.DeepEqual(got, want) {
				rt.Fatalf("step %d (%s at %v in %v): Redis observed\n%+v\nthe Counter\n%+v", i, author, at.UnixMilli(), scopes, got, want)
			}
			if o.Changed(o.State) {
				if err := s.Store(ctx, brand, o, o.State); err != nil {
					rt.Fatal(err)
				}
			}
		}
	})
}
