package x

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// The expected token was computed outside Go (Python's hmac module), so
// this checks the encoding X documents, not just that Go agrees with Go.
func TestResponseTokenMatchesDocumentedEncoding(t *testing.T) {
	got := ResponseToken([]byte("consumer-secret"), "challenge-123")
	if want := "sha256=+JKD3xCx1so7H9dYGqEd8qLRIIR3uCpi/4gsvLxmFd4="; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestVerifyRefusesAnyChange(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"for_user_id":"1"}`)
	good := ResponseToken(secret, string(body))
	if err := Verify(secret, body, good); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	for name, tc := range map[string]struct {
		secret, body []byte
		header       string
	}{
		"other body":   {secret, []byte(`{"for_user_id":"2"}`), good},
		"other secret": {[]byte("other"), body, good},
		"no prefix":    {secret, body, good[len("sha256="):]},
		"not base64":   {secret, body, "sha256=!!!"},
		"empty":        {secret, body, ""},
	} {
		if err := Verify(tc.secret, tc.body, tc.header); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

var brands = Brands{"2244994945": "acme"}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, name string) Delivery {
	t.Helper()
	d, err := Parse(read(t, name), brands)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func TestAccountActivityMentionsAndBrandReplies(t *testing.T) {
	d := parse(t, "account_activity.json")
	ms := d.Mentions
	if len(ms) != 2 || d.EventID != "" {
		t.Fatalf("got %d mentions (event %q), want the customer's post and the brand's reply (retweet and announcement skipped): %v", len(ms), d.EventID, ms)
	}
	m := ms[0]
	if m.PlatformId != "1329750100000000001" || m.Brand != "acme" || m.Author.Followers != 332000 || m.Author.Handle != "dan" ||
		m.Text != "@acme my broadband has been down for 5 days & nobody has fixed it" || m.Metrics.Likes != 12 ||
		m.CreatedAt.AsTime().Hour() != 8 || m.BrandReply || m.Url != "https://x.com/dan/status/1329750100000000001" {
		t.Fatalf("mention: %v", m)
	}
	r := ms[1]
	if !r.BrandReply || r.ReplyToAuthorId != "42" || r.ReplyToId != "x:1329750100000000001" {
		t.Fatalf("brand reply: %v", r)
	}
}

func TestActivityAPIBrandPostCreateIsABrandReply(t *testing.T) {
	d := parse(t, "activity_post_create.json")
	if len(d.Mentions) != 1 || d.EventID != "2080761390344937796" {
		t.Fatalf("brand reply: %+v", d)
	}
	if r := d.Mentions[0]; !r.BrandReply || r.ReplyToAuthorId != "42" || r.Author.Handle != "acme" || r.ReplyToId != "x:2080761390344937700" {
		t.Fatalf("brand reply: %v", r)
	}
}

// The customer's side arrives as the three events X documents for posts
// about a user, each filtered by the brand's user id.
func TestActivityAPICustomerPostsAreMentionsOfTheFilteredBrand(t *testing.T) {
	tests := []struct {
		file, event, id, author string
		followers               int64
		replyTo, quoteOf        string
	}{
		{"activity_post_mention_create.json", "2080765813578191303", "2080765813578191303", "dan", 332000, "", ""},
		{"activity_post_reply_create.json", "-2781149976877970611", "2080765813578191400", "eve", 120, "x:2080765813578191350", ""},
		{"activity_post_quote_create.json", "7953119945885597316", "2080765813578191500", "techwriter", 1200000, "", "x:2080765813578191350"},
	}
	for _, tc := range tests {
		d := parse(t, tc.file)
		if d.EventID != tc.event || len(d.Mentions) != 1 {
			t.Fatalf("%s: %+v", tc.file, d)
		}
		m := d.Mentions[0]
		if m.BrandReply || m.Brand != "acme" || m.Platform != fbv1.Platform_PLATFORM_X || m.PlatformId != tc.id ||
			m.Author.Handle != tc.author || m.Author.Followers != tc.followers || m.ReplyToId != tc.replyTo || m.QuoteOfId != tc.quoteOf ||
			m.Visibility != fbv1.Visibility_VISIBILITY_PUBLIC || m.CreatedAt == nil {
			t.Errorf("%s: %v", tc.file, m)
		}
	}
}

func TestActivityAPIRefusesOrSkipsWhatXDoesNotSendThatWay(t *testing.T) {
	two := Brands{"1": "acme", "2": "globex"}
	refused := map[string]string{
		"keyword filter":            `{"data":{"event_uuid":"1","filter":{"keyword":"@acme"},"event_type":"post.create","payload":{"id":"5","author_id":"9","text":"hi"}}}`,
		"unknown filtered user":     `{"data":{"event_uuid":"1","filter":{"user_id":"999"},"event_type":"post.mention.create","payload":{"id":"5","author_id":"9","text":"hi"}}}`,
		"post.create by another":    `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"post.create","payload":{"id":"5","author_id":"9","in_reply_to_user_id":"3","text":"hi"}}}`,
		"post without author":       `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"post.reply.create","payload":{"id":"5","text":"hi"}}}`,
		"event id beyond the bound": `{"data":{"event_uuid":"` + strings.Repeat("9", MaxEventIDBytes+1) + `","filter":{"user_id":"1"},"event_type":"post.create","payload":{}}}`,
	}
	for name, body := range refused {
		if _, err := Parse([]byte(body), two); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	skipped := map[string]string{
		"the brand mentioning itself": `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"post.mention.create","payload":{"id":"5","author_id":"1","text":"@acme news"}}}`,
		"a repost":                    `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"post.quote.create","payload":{"id":"5","author_id":"9","text":"RT","referenced_tweets":[{"type":"retweeted","id":"4"}]}}}`,
		"an encrypted chat":           `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"chat.received","payload":{"sender_id":"9","encoded_event":"CwAB"}}}`,
		"a like":                      `{"data":{"event_uuid":"1","filter":{"user_id":"1"},"event_type":"like.create","payload":{"id":"a"}}}`,
	}
	for name, body := range skipped {
		d, err := Parse([]byte(body), two)
		if err != nil || len(d.Mentions) != 0 || d.EventID != "1" {
			t.Errorf("%s: %+v %v, want nothing taken and the event id kept for dedup", name, d, err)
		}
	}
}

// A DM from a customer is their private mention; one from the brand is
// its private reply to the other member of the conversation.
func TestDirectMessagesArePrivateMentionsAndBrandReplies(t *testing.T) {
	in := parse(t, "activity_dm_received.json")
	if in.EventID != "-6850472171600526495" || len(in.Mentions) != 1 {
		t.Fatalf("dm.received: %+v", in)
	}
	m := in.Mentions[0]
	if m.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || m.BrandReply || m.Author.Id != "42" || m.Author.Followers != 332000 ||
		m.PlatformId != "dm-2080765901528535096" || m.ConversationId != "dm-42-2244994945" || m.Url != "" ||
		m.CreatedAt.AsTime().Format("2006-01-02T15:04") != "2026-11-23T09:00" {
		t.Fatalf("dm.received: %v", m)
	}
	out := parse(t, "activity_dm_sent.json")
	if len(out.Mentions) != 1 {
		t.Fatalf("dm.sent: %+v", out)
	}
	r := out.Mentions[0]
	if r.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE || !r.BrandReply || r.ReplyToAuthorId != "42" || r.Author.Handle != "acme" ||
		r.ConversationId != m.ConversationId {
		t.Fatalf("dm.sent: %v", r)
	}
	aa := parse(t, "account_activity_dm.json")
	if len(aa.Mentions) != 2 {
		t.Fatalf("Account Activity DMs: %+v", aa)
	}
	if c, b := aa.Mentions[0], aa.Mentions[1]; c.BrandReply || c.Author.Handle != "dan" || c.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE ||
		!b.BrandReply || b.ReplyToAuthorId != "42" || b.Visibility != fbv1.Visibility_VISIBILITY_PRIVATE {
		t.Fatalf("Account Activity DMs: %v / %v", c, b)
	}
	// A dm.sent whose sender is not the filtered brand is misrouted.
	wrong := strings.Replace(string(read(t, "activity_dm_sent.json")), `"sender_id": "2244994945"`, `"sender_id": "77"`, 1)
	if _, err := Parse([]byte(wrong), brands); err == nil {
		t.Fatal("a dm.sent by someone else was taken")
	}
}

func TestParseRefusesWhatItCannotPlace(t *testing.T) {
	two := Brands{"1": "acme", "2": "globex"}
	for name, body := range map[string]string{
		"not JSON":        `{"for_user_id":`,
		"neither API":     `{"hello":"world"}`,
		"unknown account": `{"for_user_id":"999","tweet_create_events":[]}`,
		"bad time":        `{"for_user_id":"1","tweet_create_events":[{"id_str":"5","created_at":"yesterday","user":{"id_str":"3"}}]}`,
		"bad DM time":     `{"for_user_id":"1","direct_message_events":[{"type":"message_create","id":"5","created_timestamp":"soon","message_create":{"target":{"recipient_id":"1"},"sender_id":"3"}}]}`,
	} {
		if _, err := Parse([]byte(body), two); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if d, err := Parse([]byte(`{"data":{"event_type":"follow.follow","filter":{"user_id":"1"}}}`), two); err != nil || len(d.Mentions) != 0 {
		t.Fatalf("other event types are ignored: %v %v", d, err)
	}
}

func TestParseBrands(t *testing.T) {
	b, err := ParseBrands("acme=123, globex=456")
	if err != nil || b["123"] != "acme" || b["456"] != "globex" {
		t.Fatalf("%v %v", b, err)
	}
	for _, bad := range []string{"", "acme", "acme=abc", "=1"} {
		if _, err := ParseBrands(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("fixtures: %v %v", files, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := Parse(body, brands)
		if len(d.EventID) > MaxEventIDBytes {
			t.Fatalf("event id of %d bytes", len(d.EventID))
		}
		for _, m := range d.Mentions {
			if err != nil || m.Brand != "acme" || m.Platform != fbv1.Platform_PLATFORM_X {
				t.Fatalf("mention %v with err %v", m, err)
			}
			if m.BrandReply && (m.ReplyToAuthorId == "" || m.Author.GetId() != "2244994945") {
				t.Fatal("brand reply without the author it answers, or not from the brand's account")
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("body"), "sha256=+JKD3xCx1so7H9dYGqEd8qLRIIR3uCpi/4gsvLxmFd4=")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		// base64 decoding skips line breaks, so compare without them.
		clean := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(header))
		if Verify([]byte("k"), body, header) == nil && clean != ResponseToken([]byte("k"), string(body)) {
			t.Fatalf("accepted a signature that is not the body's: %q", header)
		}
	})
}

// The CRC answer is the HMAC that signs deliveries, so the endpoint must
// never answer for a string that could be a delivery.
func TestCRCTokenMustBeShapedLikeXs(t *testing.T) {
	for _, ok := range []string{"challenge-123", "NDA1ZjQ0OWItYWI0ZS00YjNkLWFjYjEtNTY4MDZlMmE2MDBl", "a+b/c==", "a_b-c=", strings.Repeat("A", MaxCRCTokenBytes)} {
		if err := CheckCRCToken(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", `{"for_user_id":"1"}`, `{}`, "[1]", "a b", "a=b", "abc===", "tab\t", strings.Repeat("A", MaxCRCTokenBytes+1), "é"} {
		if err := CheckCRCToken(bad); err == nil {
			t.Errorf("%q answered", bad)
		}
	}
}

func TestReadSignedReturnsTheBodyOnlyWhenSignedAndWithinTheCap(t *testing.T) {
	secret, body := []byte("s3cret"), `{"for_user_id":"1"}`
	good := ResponseToken(secret, body)
	got, err := ReadSigned(secret, strings.NewReader(body), int64(len(body)), good)
	if err != nil || string(got) != body {
		t.Fatalf("signed body: %q %v", got, err)
	}
	if _, err := ReadSigned(secret, strings.NewReader(body), int64(len(body))-1, good); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	if _, err := ReadSigned(secret, strings.NewReader(body+" "), 1<<10, good); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed body: %v", err)
	}
}

// Whatever the CRC endpoint agrees to sign can never be a delivery body:
// a delivery is a JSON object, and an answered token holds no brace.
func FuzzCRCTokenIsNeverABody(f *testing.F) {
	f.Add("challenge-123")
	f.Add(`{"for_user_id":"1","tweet_create_events":[]}`)
	f.Fuzz(func(t *testing.T, token string) {
		if CheckCRCToken(token) != nil {
			return
		}
		if len(token) > MaxCRCTokenBytes || strings.ContainsAny(token, "{}[]\" \t\r\n:") {
			t.Fatalf("answered %q", token)
		}
		if _, err := Parse([]byte(token), brands); err == nil {
			t.Fatalf("an answered token %q parses as a delivery", token)
		}
	})
}

// stuckSink never stores anything: Ingest waits for its context.
type stuckSink struct{}

func (stuckSink) Ingest(ctx context.Context, _ []*fbv1.Mention) error {
	<-ctx.Done()
	return ctx.Err()
}

// oneDelivery is Deliveries for one request, remembering its outcome.
type oneDelivery struct{ finished, taken bool }

func (*oneDelivery) Begin(context.Context, string) (DeliveryState, error) { return Fresh, nil }
func (d *oneDelivery) Finish(_ context.Context, _ string, taken bool) error {
	d.finished, d.taken = true, taken
	return nil
}

// TestTakingADeliveryInStopsWithinItsClaim: a sink that never answers
// cannot hold a delivery past the bound its claim outlasts; the claim is
// released so that X's retry is taken in.
func TestTakingADeliveryInStopsWithinItsClaim(t *testing.T) {
	d := &oneDelivery{}
	h := &Webhook{Sink: stuckSink{}, Deliveries: d, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), TakeWithin: 20 * time.Millisecond}
	w := httptest.NewRecorder()
	h.once(w, httptest.NewRequest(http.MethodPost, "/v1/webhooks/x", nil), Delivery{EventID: "e1", Mentions: []*fbv1.Mention{{Id: "x:1"}}})
	if w.Code != http.StatusServiceUnavailable || !d.finished || d.taken {
		t.Fatalf("answered %d, finished %v taken %v; want 503 and the claim released", w.Code, d.finished, d.taken)
	}
}
