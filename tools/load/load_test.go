package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentilesAreWithinTheHistogramsPrecision(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarise(ds)
	want := Latency{N: 1000, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	close := func(a, b float64) bool { return math.Abs(a-b) <= b/1000 } // three significant digits
	if got.N != want.N || got.Max != want.Max || !close(got.P50, want.P50) || !close(got.P90, want.P90) ||
		!close(got.P99, want.P99) || !close(got.P999, want.P999) {
		t.Fatalf("Summarise = %+v, want %+v within 0.1%%", got, want)
	}
	if (Summarise(nil) != Latency{}) {
		t.Fatal("no samples must give zero figures")
	}
	if huge := Summarise([]time.Duration{time.Hour}); huge.Max != float64(time.Hour/time.Millisecond) || huge.P99 < 599_000 {
		t.Fatalf("a value past the histogram's range must count at its top and keep its exact max: %+v", huge)
	}
}

func TestOpenLoopMeasuresFromTheScheduleSoAStalledSystemLooksSlow(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	// 100/s for one second; the system stalls for 500 ms at the start, so
	// the first 50 mentions are sent late, all at once, and decided at once.
	var sent []Sent
	decided := map[string]Decided{}
	for i := range 100 {
		due := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		at := maxTime(due, t0.Add(500*time.Millisecond))
		m := Mention{Platform: "x", PlatformID: fmt.Sprint(i)}
		sent = append(sent, Sent{Mention: m, Due: due, Sent: at, Accepted: at.Add(time.Millisecond)})
		decided[m.ID()] = Decided{At: at.Add(2 * time.Millisecond)}
	}
	p := Analyse("stall", 100, sent, decided, nil)
	if p.Decision.Max < 500 || p.Decision.P90 < 400 {
		t.Fatalf("latency from the schedule must include the stall (max ≥ 500 ms, p90 ≥ 400 ms): %+v", p.Decision)
	}
	if p.DecisionAfter202.Max > 2 {
		t.Fatalf("after the 202 a decision took 1 ms: %+v", p.DecisionAfter202)
	}
	if p.Offered != 100 || p.Overloaded {
		t.Fatalf("a system that caught up is not overloaded: offered %v achieved %v overloaded %v", p.Offered, p.Achieved, p.Overloaded)
	}

	// The same schedule with every decision 20 ms later than the one
	// before: a queue that never drains.
	for i := range 100 {
		id := sent[i].ID()
		decided[id] = Decided{At: sent[i].Due.Add(time.Duration(i) * 20 * time.Millisecond)}
	}
	if p := Analyse("behind", 100, sent, decided, nil); !p.Overloaded || p.Achieved >= 95 {
		t.Fatalf("a growing queue must be marked overloaded: achieved %.1f/s of 100, overloaded %v", p.Achieved, p.Overloaded)
	}
}

// Brand replies are sent but not waited for: a system that decides every
// other mention on schedule keeps up, though its decisions are fewer than
// what was offered; one that falls behind on them does not.
func TestBrandRepliesDoNotCountAsFallingBehind(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var sent []Sent
	decided := map[string]Decided{}
	for i := range 100 {
		due := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		m := Mention{Platform: "x", PlatformID: fmt.Sprint(i)}
		m.BrandReply = i%10 == 0
		s := Sent{Mention: m, Due: due, Sent: due, Accepted: due.Add(time.Millisecond)}
		sent = append(sent, s)
		if !s.BrandReply {
			decided[m.ID()] = Decided{At: due.Add(2 * time.Millisecond)}
		}
	}
	if p := Analyse("replies", 100, sent, decided, nil); p.Overloaded || p.BrandReplies != 10 {
		t.Fatalf("every decidable mention decided on time: achieved %.1f/s of 100 with %d brand replies, overloaded %v", p.Achieved, p.BrandReplies, p.Overloaded)
	}
	for i := range 100 {
		if !sent[i].BrandReply {
			decided[sent[i].ID()] = Decided{At: sent[i].Due.Add(time.Duration(i) * 3 * time.Millisecond)}
		}
	}
	if p := Analyse("behind", 100, sent, decided, nil); !p.Overloaded {
		t.Fatalf("decisions falling behind the schedule must be overloaded: achieved %.1f/s", p.Achieved)
	}
}

func TestTheScheduleDoesNotWaitForASlowServer(t *testing.T) {
	const count = 50
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // every request waits until the whole schedule was laid out
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"accepted":[{"id":"x","duplicate":false}]}`))
	}))
	defer srv.Close()
	var scheduled atomic.Int64
	hold := func(context.Context) {
		// Hold is asked once per mention as it is scheduled; the server
		// answers only once all of them were, which a closed loop, stuck
		// behind its one busy worker, never reaches.
		if scheduled.Add(1) == count {
			close(release)
		}
	}
	corpus := &Corpus{Complaints: []string{"@acme my bag is lost"}}
	gen := NewGenerator(corpus, Mix{Brand: "acme", Authors: 10, BrandFollowers: 1000, RunID: "t", Seed: 1})
	done := make(chan []Sent, 1)
	go func() {
		sent, err := Drive(context.Background(), gen, DriveOptions{URL: srv.URL, Token: "t", Rate: 2000, Count: count, Duration: time.Minute, Workers: 1, Hold: hold})
		if err != nil {
			t.Error(err)
		}
		done <- sent
	}()
	var sent []Sent
	select {
	case sent = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("the schedule stopped at %d of %d mentions behind a stuck request: a closed loop", scheduled.Load(), count)
	}
	if len(sent) != count {
		t.Fatalf("sent %d mentions, want %d", len(sent), count)
	}
	for i := 1; i < len(sent); i++ {
		if want := sent[0].Due.Add(time.Duration(i) * time.Second / 2000); !sent[i].Due.Equal(want) {
			t.Fatalf("mention %d due %s, want %s on the schedule", i, sent[i].Due, want)
		}
		if sent[i].Sent.Before(sent[i].Due) {
			t.Fatalf("mention %d sent before it was due", i)
		}
	}
}

func TestGeneratorRepeatsAuthorsAndMixesReachAndReplies(t *testing.T) {
	corpus := &Corpus{Complaints: []string{"@acme my bag is lost", "@acme thanks!"}, Replies: []string{"@u sorry, DM us"}}
	mix := Mix{Brand: "acme", Authors: 500, HighReach: 0.05, BrandFollowers: 203_000, Replies: 0.05, RunID: "t", Seed: 3}
	gen := NewGenerator(corpus, mix)
	perAuthor := map[string]int{}
	var replies, high, n = 0, 0, 5000
	ids := map[string]bool{}
	for range n {
		m := gen.Next()
		if ids[m.ID()] {
			t.Fatalf("id %s generated twice", m.ID())
		}
		ids[m.ID()] = true
		if m.BrandReply {
			replies++
			if m.ReplyToAuthorID == "" {
				t.Fatal("a brand reply must name the author it answers")
			}
			continue
		}
		perAuthor[m.Author.ID]++
		if m.HighReach(mix.BrandFollowers) {
			high++
		}
	}
	top := 0
	for _, c := range perAuthor {
		top = max(top, c)
	}
	if top < 20 {
		t.Errorf("most active author posted %d times; want repeat complainers", top)
	}
	if replies < n/40 || replies > n/10 {
		t.Errorf("%d brand replies in %d, want about 5%%", replies, n)
	}
	if high == 0 {
		t.Error("no high-reach authors")
	}
	again := NewGenerator(corpus, mix)
	first := again.Next()
	if fresh := NewGenerator(corpus, mix).Next(); fresh != first {
		t.Errorf("same seed gave %+v then %+v", first, fresh)
	}
}

func TestOnlyLoopbackTargetsAreDriven(t *testing.T) {
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8080/v1/mentions": true,
		"http://localhost:8080/v1/mentions": true,
		"http://[::1]:8080/v1/mentions":     true,
		"http://10.0.0.8:8080/v1/mentions":  false,
		"https://example.com/v1/mentions":   false,
	} {
		if err := CheckLoopback(target); (err == nil) != ok {
			t.Errorf("CheckLoopback(%s) = %v, want allowed %v", target, err, ok)
		}
	}
}

func TestSinkMisbehavesOnRequestAndRecordsOnlyWhatItAccepts(t *testing.T) {
	sink, err := StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	post := func(key string) *http.Response {
		body := fmt.Sprintf(`{"action":"trigger","dedup_key":%q,"events":[{"id":"c-1:opened:m1","type":"CASE_EVENT_TYPE_OPENED","mention_id":"m1","level":1,"case":{"id":"c-1"}}]}`, key)
		req, _ := http.NewRequest(http.MethodPost, sink.URL(), strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	sink.Set(Throttling)
	if resp := post("k1"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("throttling: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	sink.Set(Failing)
	if resp := post("k1"); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("failing: %d", resp.StatusCode)
	}
	sink.Set(Flapping)
	codes := []int{post("k1").StatusCode, post("k1").StatusCode}
	if codes[0] == codes[1] {
		t.Fatalf("flapping answered %v", codes)
	}
	sink.Set(Healthy)
	if resp := post("k2"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("healthy: %d", resp.StatusCode)
	}
	pages := sink.Pages()
	if len(pages) != 2 || pages[1].IdempotencyKey != "k2" || pages[1].Events[0].Case.ID != "c-1" || pages[1].Events[0].Level != 1 {
		t.Fatalf("pages = %+v, want the flapping success and the healthy one", pages)
	}
	if sink.Refused() != 3 {
		t.Fatalf("refused %d, want 3", sink.Refused())
	}
}

func TestAnalyseMeasuresFromTheRequestAndCountsTheUndecided(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	sent := []Sent{
		{Mention: Mention{Platform: "x", PlatformID: "1"}, Sent: t0, Accepted: t0.Add(2 * time.Millisecond)},
		{Mention: Mention{Platform: "x", PlatformID: "2"}, Sent: t0.Add(time.Second), Accepted: t0.Add(time.Second + time.Millisecond)},
		{Mention: Mention{Platform: "x", PlatformID: "3", BrandReply: true}, Sent: t0.Add(time.Second), Accepted: t0.Add(time.Second)},
		{Mention: Mention{Platform: "x", PlatformID: "4"}, Sent: t0.Add(time.Second)},
	}
	decided := map[string]Decided{"x:1": {At: t0.Add(10 * time.Millisecond), Escalate: true, CaseID: "c"}}
	pages := []Page{{At: t0.Add(30 * time.Millisecond), Events: []PageEvent{{ID: "c:opened:x:1", Type: "CASE_EVENT_TYPE_OPENED", MentionID: "x:1"}}}}
	p := Analyse("t", 0, sent, decided, pages)
	if p.Accepted != 3 || p.Refused != 1 || p.BrandReplies != 1 || p.Decided != 1 || p.Undecided != 1 || p.Escalated != 1 {
		t.Fatalf("counts = %+v", p)
	}
	if p.Decision.Max != 10 || p.DecisionAfter202.Max != 8 || p.Delivery.Max != 30 {
		t.Fatalf("latencies: decision %+v after 202 %+v delivery %+v", p.Decision, p.DecisionAfter202, p.Delivery)
	}
}
