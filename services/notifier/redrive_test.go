package notifier

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/redrive"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// TestARedriveAfterRedisLostItsWritesPagesEachEventOnce: three cases of a
// grouped team, the first paged at once and two held. Redis then loses
// everything the notifier wrote (its keys deleted), the delivery mark of
// the first page and the held group with it. A redrive restores the mark
// from the notifications stream, so the first page is not sent again, and
// handles the events again, so the held ones are held again and go out
// with their group, once. A second redrive pages nobody.
func TestARedriveAfterRedisLostItsWritesPagesEachEventOnce(t *testing.T) {
	h, file := groupedHook(t, "1h")
	since := time.Now().Add(-time.Second)
	r := newRig(t, 1, Config{ReceiversFile: file, GroupTick: 20 * time.Millisecond})
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		ev := event(fmt.Sprintf("lost%d-1", i), fmt.Sprintf("lost%d-1:opened:m", i), 1)
		ids = append(ids, ev.Id)
		r.publish(ev, 0)
		if i == 0 {
			// The first event opens the group, the others are held: handled
			// side by side, any of the three could have been the one paged.
			testkit.Eventually(t, "the first page", func() bool { return len(h.got()) == 1 })
		}
	}
	settle(t, r.bus)
	svc := r.svc[0]
	if held := svc.d.Redis.HLen(ctx, svc.teamGroupKey("senior", "held")).Val(); held != 2 {
		t.Fatalf("%d events held before the loss, want 2", held)
	}

	storetest.Clean(t, svc.d.Redis, svc.d.Keys.Prefix) // power lost: Redis forgot it all

	server := redrive.New(svc.d.JS, "notifier", svc.redrive)
	req := &fbv1.RedriveRequest{Since: timestamppb.New(since)}
	resp, err := server.Redrive(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Outcomes["delivery_marks_restored"] != 1 {
		t.Errorf("outcomes %v, want the first page's mark restored", resp.Outcomes)
	}
	cases := resp.Streams[1]
	if cases.Offered != 3 || cases.Failed != 0 {
		t.Fatalf("case events: %v, want the 3 offered again without failure", cases)
	}
	if _, err := server.Redrive(ctx, req); err != nil {
		t.Fatal(err)
	}
	settle(t, r.bus)
	if pages := h.got(); len(pages) != 1 {
		t.Fatalf("pages %v: want the first event's once", pages)
	}
	group, err := loadState(ctx, svc.d.Redis, svc.teamGroupKey("senior", "state"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		if !slices.Contains(group.Pending, id) {
			t.Fatalf("held after the redrives: %v, want %s held again", group.Pending, id)
		}
	}
	// The group's interval ends: it goes out once, without the first
	// event, whose page was made (its mark restored).
	group.FlushAt = time.Now().Add(-time.Second)
	svc.d.Redis.Set(ctx, svc.teamGroupKey("senior", "state"), encodeState(group), 0)
	svc.d.Redis.ZAdd(ctx, svc.dueKey("senior"), redis.Z{Score: float64(group.FlushAt.UnixMilli()), Member: "senior"})
	testkit.Eventually(t, "the held group to go out", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.sizes) == 2
	})
	settle(t, r.bus)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sizes) != 2 || h.sizes[1] != 2 {
		t.Fatalf("notifications of %v events, want the first page alone and the two held events in one group, each once", h.sizes)
	}
}
