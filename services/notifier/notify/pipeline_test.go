package notify_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/notifier/notify"
	"github.com/firebreak/firebreak/services/notifier/notify/notifytest"
	"github.com/firebreak/firebreak/services/platform/clock/clocktest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// script is a Notifier that answers from a list of errors, then succeeds.
type script struct {
	mu    sync.Mutex
	errs  []error
	retry bool
	calls []*notify.Notification
}

func (s *script) Notify(_ context.Context, n *notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, n)
	if len(s.calls) <= len(s.errs) {
		return s.retry, s.errs[len(s.calls)-1]
	}
	return false, nil
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

type routes struct {
	levels   map[int32][]string
	fallback string
}

// Route is the level's receivers, or level 1's when the level has none.
func (r routes) Route(_ string, level int32) []string {
	if names, ok := r.levels[level]; ok {
		return names
	}
	return r.levels[1]
}
func (r routes) Fallback(string) string { return r.fallback }

func testBackoff() notify.Backoff {
	b := notify.DefaultBackoff()
	b.Jitter = 0
	return b
}

func receiver(name string, n notify.Notifier) notify.Receiver {
	return notify.Receiver{Name: name, Type: "test", Notifier: n, Backoff: testBackoff(), SendResolved: true}
}

func TestRateLimitedAttemptWaitsForRetryAfter(t *testing.T) {
	clock := clocktest.New(t0)
	hook := &script{retry: true, errs: []error{&notify.Error{Reason: notify.ReasonRateLimited, StatusCode: 429, RetryAfter: 7 * time.Second}}}
	log := &notifytest.Log{}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, log, clock, "")

	results, err := p.Deliver(t.Context(), notifytest.Opened("c1", "senior", t0))
	if err != nil {
		t.Fatal(err)
	}
	if got := results[0].Outcome; got != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED {
		t.Fatalf("outcome = %v, want delivered", got)
	}
	// The backoff would wait 1s; the receiver asked for 7s.
	if got := clock.Sleeps(); !slices.Equal(got, []time.Duration{7 * time.Second}) {
		t.Fatalf("sleeps = %v, want [7s]", got)
	}
	ds := log.Deliveries()
	if len(ds) != 2 || ds[0].GetOutcome() != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING || ds[0].GetStatusCode() != 429 ||
		ds[1].GetOutcome() != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED || ds[1].GetDedupKey() != "c1:e0.r0.l1:hook" {
		t.Fatalf("log = %v, want a retrying 429 then a delivery keyed c1:e0.r0.l1:hook", ds)
	}
}

func TestServerErrorsBackOffExponentiallyThenFailAndUseFallback(t *testing.T) {
	clock := clocktest.New(t0)
	fail := &notify.Error{Reason: notify.ReasonServerError, StatusCode: 503}
	pager := &script{retry: true, errs: []error{fail, fail, fail, fail, fail}}
	mail := &script{}
	p := notify.NewPipeline(
		[]notify.Receiver{receiver("pager", pager), receiver("mail", mail)},
		routes{levels: map[int32][]string{1: {"pager"}}, fallback: "mail"},
		&notifytest.Log{}, clock, "")

	results, err := p.Deliver(t.Context(), notifytest.Opened("c1", "senior", t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || !results[0].Failed() || results[0].Reason() != notify.ReasonServerError ||
		results[1].Receiver != "mail" || !results[1].Fallback || results[1].Failed() {
		t.Fatalf("results = %+v, want pager failed with server_error then mail delivered as fallback", results)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if got := clock.Sleeps(); !slices.Equal(got, want) {
		t.Fatalf("sleeps = %v, want %v", got, want)
	}
	if pager.count() != 5 {
		t.Fatalf("pager tried %d times, want 5", pager.count())
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	hook := &script{errs: []error{&notify.Error{Reason: notify.ReasonClientError, StatusCode: 400}}}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, &notifytest.Log{}, clocktest.New(t0), "")
	results, err := p.Deliver(t.Context(), notifytest.Opened("c1", "senior", t0))
	if err != nil {
		t.Fatal(err)
	}
	if hook.count() != 1 || !results[0].Failed() || results[0].Reason() != notify.ReasonClientError {
		t.Fatalf("calls = %d, result = %+v; want one call failing with client_error", hook.count(), results[0])
	}
}

func TestRetryAfterBeyondLimitFailsAtOnce(t *testing.T) {
	hook := &script{retry: true, errs: []error{&notify.Error{Reason: notify.ReasonRateLimited, RetryAfter: time.Hour}}}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, &notifytest.Log{}, clocktest.New(t0), "")
	results, _ := p.Deliver(t.Context(), notifytest.Opened("c1", "senior", t0))
	if hook.count() != 1 || !results[0].Failed() || results[0].Reason() != notify.ReasonRateLimited {
		t.Fatalf("calls = %d, result = %+v; want one call failing rate_limited", hook.count(), results[0])
	}
}

func TestRedeliveredEventPagesOnce(t *testing.T) {
	hook := &script{}
	log := &notifytest.Log{}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, log, clocktest.New(t0), "")
	ev := notifytest.Opened("c1", "senior", t0)
	for range 3 {
		if _, err := p.Deliver(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	results, _ := p.Deliver(t.Context(), ev)
	if hook.count() != 1 || results[0].Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED {
		t.Fatalf("calls = %d, last outcome %v; want one page and later deliveries suppressed", hook.count(), results[0].Outcome)
	}
	// A new level pages again; resolution is told once.
	p.Deliver(t.Context(), notifytest.Escalated(ev, 2))
	p.Deliver(t.Context(), notifytest.Resolved(ev, "ops", t0))
	p.Deliver(t.Context(), notifytest.Resolved(ev, "ops", t0))
	if hook.count() != 3 {
		t.Fatalf("calls = %d, want 3 (open, level 2, resolve)", hook.count())
	}
}

// blocker is a Notifier that waits until released, a receiver that hangs.
type blocker struct{ release chan struct{} }

func (b blocker) Notify(ctx context.Context, _ *notify.Notification) (bool, error) {
	select {
	case <-b.release:
		return false, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

func TestHangingReceiverDoesNotHoldUpOthers(t *testing.T) {
	slow := blocker{release: make(chan struct{})}
	log := &notifytest.Log{}
	p := notify.NewPipeline([]notify.Receiver{receiver("slow", slow), receiver("fast", &script{})},
		routes{levels: map[int32][]string{1: {"slow", "fast"}}}, log, clocktest.New(t0), "")
	done := make(chan []notify.Result)
	go func() {
		results, _ := p.Deliver(context.Background(), notifytest.Opened("c1", "senior", t0))
		done <- results
	}()
	testkit.Eventually(t, "the condition", func() bool { return len(log.Deliveries()) == 1 })
	if got := log.Deliveries()[0].GetReceiver(); got != "fast" {
		t.Fatalf("first delivery went to %q, want fast while slow hangs", got)
	}
	close(slow.release)
	if results := <-done; len(results) != 2 || results[0].Receiver != "slow" {
		t.Fatalf("results = %+v, want both in route order", results)
	}
}

func TestRateLimitSpacesSendsToOneReceiver(t *testing.T) {
	clock := clocktest.New(t0)
	r := receiver("slack", &script{})
	r.Limit, r.Burst = 1, 1
	p := notify.NewPipeline([]notify.Receiver{r}, routes{levels: map[int32][]string{1: {"slack"}}}, &notifytest.Log{}, clock, "")
	for i := range 3 {
		p.Deliver(t.Context(), notifytest.Opened(string(rune('a'+i)), "senior", t0))
	}
	if got := clock.Sleeps(); !slices.Equal(got, []time.Duration{time.Second, time.Second}) {
		t.Fatalf("sleeps = %v, want the 2nd and 3rd sends held 1s each", got)
	}
}

func TestUnreachableLogIsAnError(t *testing.T) {
	hook := &script{}
	log := &notifytest.Log{Err: errors.New("connection refused")}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, log, clocktest.New(t0), "")
	if _, err := p.Deliver(t.Context(), notifytest.Opened("c1", "senior", t0)); err == nil || hook.count() != 0 {
		t.Fatalf("err = %v, calls = %d; want an error and no page when dedup cannot be checked", err, hook.count())
	}
}

func TestGroupSuppressesMembersAlreadyPaged(t *testing.T) {
	hook := &script{}
	log := &notifytest.Log{}
	p := notify.NewPipeline([]notify.Receiver{receiver("hook", hook)}, routes{levels: map[int32][]string{1: {"hook"}}}, log, clocktest.New(t0), "")
	a, b := notifytest.Opened("a", "senior", t0), notifytest.Opened("b", "senior", t0)
	p.Deliver(t.Context(), a)
	results, err := p.DeliverGroup(t.Context(), []*fbv1.CaseEvent{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got := results[0].Events; len(got) != 1 || got[0].GetCase().GetId() != "b" {
		t.Fatalf("group delivered %v, want only case b", got)
	}
	if again, _ := p.Deliver(t.Context(), b); again[0].Outcome != fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED {
		t.Fatalf("case b alone after its group: %v, want suppressed", again[0].Outcome)
	}
}

func TestAHeldGroupPagesEachEventsOwnLevel(t *testing.T) {
	queue, lead, oncall := &script{}, &script{}, &script{}
	p := notify.NewPipeline([]notify.Receiver{receiver("queue", queue), receiver("lead", lead), receiver("oncall", oncall)},
		routes{levels: map[int32][]string{1: {"queue"}, 2: {"lead"}}}, &notifytest.Log{}, clocktest.New(t0), "")
	a, b := notifytest.Opened("a", "standard", t0), notifytest.Opened("b", "standard", t0)
	raised := notifytest.Escalated(notifytest.Opened("c", "standard", t0), 2)
	named := notifytest.Escalated(notifytest.Opened("d", "standard", t0), 2)
	named.Receivers = []string{"oncall"} // the chain level names its receivers
	results, err := p.DeliverGroup(t.Context(), []*fbv1.CaseEvent{a, raised, b, named})
	if err != nil {
		t.Fatal(err)
	}
	cases := func(s *script) []string {
		var ids []string
		for _, n := range s.calls {
			for _, ev := range n.Events {
				ids = append(ids, ev.GetCase().GetId())
			}
		}
		return ids
	}
	if got := cases(queue); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("level 1 receiver got %v, want the openings a and b in one page", got)
	}
	if got := cases(lead); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("level 2 receiver got %v, want c, held with level-1 openings", got)
	}
	if got := cases(oncall); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("the chain's named receiver got %v, want d", got)
	}
	if len(results) != 3 || queue.count() != 1 {
		t.Fatalf("results %d, level 1 pages %d; want 3 results and one grouped page", len(results), queue.count())
	}
}
