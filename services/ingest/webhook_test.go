package ingest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/ingest/x"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

func withX(t *testing.T, secret string) func(*Config) {
	path := filepath.Join(t.TempDir(), "x-secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *Config) {
		c.X = x.Config{SecretFile: path, Brands: "acme=2244994945"}
	}
}

func TestXWebhookAnswersCRCAndPublishesSignedEvents(t *testing.T) {
	const secret = "consumer-secret"
	svc, d := startIngest(t, withX(t, secret))
	url := "http://" + svc.HTTPAddr() + "/v1/webhooks/x"

	resp, err := http.Get(url + "?crc_token=challenge-123")
	if err != nil {
		t.Fatal(err)
	}
	var crc struct {
		ResponseToken string `json:"response_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&crc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || crc.ResponseToken != "sha256=+JKD3xCx1so7H9dYGqEd8qLRIIR3uCpi/4gsvLxmFd4=" {
		t.Fatalf("CRC: %d %+v", resp.StatusCode, crc)
	}

	body, err := os.ReadFile("x/testdata/account_activity.json")
	if err != nil {
		t.Fatal(err)
	}
	send := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
		req.Header.Set(x.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The webhook is signed by X, not by an API key: keys do not apply.
	if got := send(x.ResponseToken([]byte("wrong"), string(body))); got != http.StatusUnauthorized {
		t.Fatalf("forged signature: %d, want 401", got)
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("forged delivery published %d", got)
	}
	sig := x.ResponseToken([]byte(secret), string(body))
	if got := send(sig); got != http.StatusOK {
		t.Fatalf("signed delivery: %d", got)
	}
	// X retries deliveries; an Account Activity delivery has no event
	// id, and is recognised by its bytes.
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set(x.SignatureHeader, sig)
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(again.Body)
	again.Body.Close()
	if again.StatusCode != http.StatusOK || !strings.Contains(string(answer), `"duplicate":true`) {
		t.Fatalf("redelivery: %d %s", again.StatusCode, answer)
	}
	if got := published(t, d); got != 2 {
		t.Fatalf("%d published, want the mention and the brand reply", got)
	}
}

// sendX posts a signed delivery and returns the status and body.
func sendX(t *testing.T, svc *Service, secret, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+svc.HTTPAddr()+"/v1/webhooks/x", strings.NewReader(body))
	req.Header.Set(x.SignatureHeader, x.ResponseToken([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The CRC endpoint answers with the HMAC that signs deliveries: asked to
// "answer" a JSON body, it must refuse, so no forged body gets signed.
func TestXWebhookRefusesToSignABodyThroughTheCRC(t *testing.T) {
	const secret = "consumer-secret"
	svc, d := startIngest(t, withX(t, secret))
	forged := `{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"9","text":"@acme hi","user":{"id_str":"42","followers_count":9000000}}]}`
	resp, err := http.Get("http://" + svc.HTTPAddr() + "/v1/webhooks/x?crc_token=" + url.QueryEscape(forged))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "response_token") || !strings.Contains(string(b), "base64") {
		t.Fatalf("CRC of a JSON body: %d %s", resp.StatusCode, b)
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("%d published", got)
	}
}

// X Activity API deliveries are recognised by their event id: the same
// event sent again is answered and not taken in, even if its body differs.
func TestXWebhookTakesEachActivityEventOnce(t *testing.T) {
	const secret = "consumer-secret"
	svc, d := startIngest(t, withX(t, secret))
	body, err := os.ReadFile("x/testdata/activity_post_mention_create.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, resp := sendX(t, svc, secret, string(body)); code != http.StatusOK || !strings.Contains(resp, `"accepted":1`) {
		t.Fatalf("first delivery: %d %s", code, resp)
	}
	// Same event id, another post: only the event id can tell it apart.
	again := strings.ReplaceAll(string(body), "2080765813578191303\"", "2080765813578199999\"")
	again = strings.Replace(again, `"event_uuid": "2080765813578199999"`, `"event_uuid": "2080765813578191303"`, 1)
	if code, resp := sendX(t, svc, secret, again); code != http.StatusOK || !strings.Contains(resp, `"duplicate":true`) {
		t.Fatalf("same event again: %d %s", code, resp)
	}
	if got := published(t, d); got != 1 {
		t.Fatalf("%d published, want 1", got)
	}
	for _, f := range []string{"activity_post_reply_create.json", "activity_post_quote_create.json", "activity_post_create.json"} {
		body, err := os.ReadFile("x/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if code, resp := sendX(t, svc, secret, string(body)); code != http.StatusOK {
			t.Fatalf("%s: %d %s", f, code, resp)
		}
	}
	if got := published(t, d); got != 4 {
		t.Fatalf("%d published, want the mention, reply, quote and brand reply", got)
	}
}

func TestXWebhookRefusesBodiesOverItsSmallCap(t *testing.T) {
	const secret = "consumer-secret"
	svc, d := startIngest(t, withX(t, secret), func(c *Config) { c.X.MaxBodyBytes = 2048 })
	big := `{"for_user_id":"2244994945","pad":"` + strings.Repeat("a", 4096) + `"}`
	if code, resp := sendX(t, svc, secret, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized delivery: %d %s", code, resp)
	}
	if got := published(t, d); got != 0 {
		t.Fatalf("%d published", got)
	}
}

// Replicas racing on one delivery agree on a single taker, and a taker
// that fails releases the event for X's retry.
func TestDeliveriesHaveOneTakerAcrossReplicas(t *testing.T) {
	_, d := startIngest(t)
	ctx := context.Background()
	seen := &deliveries{redis: d.Redis, keys: d.Keys, ttl: time.Minute, claim: time.Minute}
	states := make(chan x.DeliveryState, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := seen.Begin(ctx, "race")
			if err != nil {
				t.Error(err)
			}
			states <- st
		}()
	}
	wg.Wait()
	close(states)
	fresh := 0
	for st := range states {
		if st == x.Fresh {
			fresh++
		} else if st != x.InProgress {
			t.Fatalf("state %v while the first is in progress", st)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d takers, want 1", fresh)
	}
	if err := seen.Finish(ctx, "race", false); err != nil {
		t.Fatal(err)
	}
	if st, _ := seen.Begin(ctx, "race"); st != x.Fresh {
		t.Fatalf("after a failed take: %v, want the retry to be fresh", st)
	}
	if err := seen.Finish(ctx, "race", true); err != nil {
		t.Fatal(err)
	}
	if st, _ := seen.Begin(ctx, "race"); st != x.Done {
		t.Fatalf("after a take: %v, want done", st)
	}
	ttl, err := d.Redis.PTTL(ctx, seen.key("race")).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("done mark TTL %v %v, want the dedup TTL", ttl, err)
	}
}

// Direct messages to and from the brand are published as private
// mentions, and their texts never reach the logs, even when one is
// refused.
func TestXDirectMessagesArePublishedPrivatelyAndNeverLogged(t *testing.T) {
	const secret = "consumer-secret"
	env := depstest.New(t)
	d := env.Deps(t, "ingest")
	var logs testkit.Buffer
	d.Tel.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{Common: env.Common, MaxBodyBytes: 4096, MaxBatch: 3, SeenTTL: time.Hour}
	withX(t, secret)(&cfg)
	svc, err := New(t.Context(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })

	for _, f := range []string{"activity_dm_received.json", "activity_dm_sent.json"} {
		body, err := os.ReadFile("x/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if code, resp := sendX(t, svc, secret, string(body)); code != http.StatusOK || !strings.Contains(resp, `"accepted":1`) {
			t.Fatalf("%s: %d %s", f, code, resp)
		}
	}
	// A private message too long to take is dropped with a log line that
	// names it, not its text.
	const secretText = "PIN-4471-PRIVATE"
	body, _ := os.ReadFile("x/testdata/activity_dm_received.json")
	long := strings.Replace(string(body), "My account number is 55-1234", secretText+strings.Repeat(" x", 9000), 1)
	long = strings.ReplaceAll(long, "2080765901528535096", "2080765901528535097")
	long = strings.Replace(long, "-6850472171600526495", "-6850472171600526496", 1)
	if code, resp := sendX(t, svc, secret, long); code != http.StatusOK {
		t.Fatalf("oversized DM: %d %s", code, resp)
	}
	if got := published(t, d); got != 2 {
		t.Fatalf("%d published, want the customer's DM and the brand's", got)
	}
	if !strings.Contains(logs.String(), "dm-2080765901528535097") {
		t.Fatalf("the dropped DM was not logged by id: %s", logs.String())
	}
	for _, private := range []string{secretText, "55-1234", "booked for 9am"} {
		if strings.Contains(logs.String(), private) {
			t.Fatalf("a private text reached the logs: %q", private)
		}
	}
}
