package x

import (
	"os"
	"strings"
	"testing"

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

func TestAccountActivityMentionsAndBrandReplies(t *testing.T) {
	ms, err := Parse(read(t, "account_activity.json"), brands)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("got %d mentions, want the customer's post and the brand's reply (retweet and announcement skipped): %v", len(ms), ms)
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

func TestActivityAPIPostCreate(t *testing.T) {
	ms, err := Parse(read(t, "activity_post_create.json"), brands)
	if err != nil || len(ms) != 1 {
		t.Fatalf("brand reply: %v %v", ms, err)
	}
	if r := ms[0]; !r.BrandReply || r.ReplyToAuthorId != "42" || r.Author.Handle != "acme" || r.ReplyToId != "x:2080761390344937700" {
		t.Fatalf("brand reply: %v", r)
	}
	ms, err = Parse(read(t, "activity_mention.json"), brands)
	if err != nil || len(ms) != 1 {
		t.Fatalf("mention: %v %v", ms, err)
	}
	if m := ms[0]; m.BrandReply || m.Author.Followers != 332000 || m.Metrics.Reposts != 4 || m.Platform != fbv1.Platform_PLATFORM_X || m.Brand != "acme" {
		t.Fatalf("mention: %v", m)
	}
}

func TestParseRefusesWhatItCannotPlace(t *testing.T) {
	two := Brands{"1": "acme", "2": "globex"}
	for name, body := range map[string]string{
		"not JSON":        `{"for_user_id":`,
		"neither API":     `{"hello":"world"}`,
		"unknown account": `{"for_user_id":"999","tweet_create_events":[]}`,
		"bad time":        `{"for_user_id":"1","tweet_create_events":[{"id_str":"5","created_at":"yesterday","user":{"id_str":"3"}}]}`,
	} {
		if _, err := Parse([]byte(body), two); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if ms, err := Parse([]byte(`{"data":{"event_type":"follow.follow","filter":{"user_id":"1"}}}`), two); err != nil || len(ms) != 0 {
		t.Fatalf("other event types are ignored: %v %v", ms, err)
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
	for _, name := range []string{"account_activity.json", "activity_post_create.json", "activity_mention.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := Parse(body, brands)
		for _, m := range ms {
			if err != nil || m.Brand != "acme" || m.Platform != fbv1.Platform_PLATFORM_X {
				t.Fatalf("mention %v with err %v", m, err)
			}
			if m.BrandReply && m.ReplyToAuthorId == "" {
				t.Fatal("brand reply without the author it answers")
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
