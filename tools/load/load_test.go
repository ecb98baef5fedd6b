package load

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPercentilesAreNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Summarise(ds)
	want := Latency{N: 100, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Fatalf("Summarise = %+v, want %+v", got, want)
	}
	if (Summarise(nil) != Latency{}) {
		t.Fatal("no samples must give zero figures")
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
