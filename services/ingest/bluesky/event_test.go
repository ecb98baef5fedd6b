package bluesky

import (
	"os"
	"strings"
	"testing"
	"time"
)

var brands = Brands{"did:plc:acmebrand": "acme"}

func parseFile(t *testing.T, name string) Event {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestPostMentioningTheBrandDIDIsAMention(t *testing.T) {
	m, ok, err := parseFile(t, "jetstream_mention.json").Mention(brands)
	if err != nil || !ok {
		t.Fatalf("%v %v", ok, err)
	}
	if m.Brand != "acme" || m.PlatformId != "did:plc:dan42/3l3qo2vuowo2b" || m.Author.Id != "did:plc:dan42" || m.Language != "en" ||
		m.BrandReply || !m.CreatedAt.AsTime().Equal(time.Date(2025, 11, 24, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("mention: %v", m)
	}
}

func TestBrandReplyNamesTheParentsAuthor(t *testing.T) {
	m, ok, err := parseFile(t, "jetstream_brand_reply.json").Mention(brands)
	if err != nil || !ok || !m.BrandReply || m.ReplyToAuthorId != "did:plc:dan42" || m.ReplyToId != "bluesky:did:plc:dan42/3l3qo2vuowo2b" {
		t.Fatalf("%v %v %v", m, ok, err)
	}
}

func TestOtherEventsAreNotMentions(t *testing.T) {
	if _, ok, err := parseFile(t, "jetstream_identity.json").Mention(brands); ok || err != nil {
		t.Fatalf("identity event: %v %v", ok, err)
	}
	ev := parseFile(t, "jetstream_mention.json")
	if _, ok, _ := ev.Mention(Brands{"did:plc:other": "globex"}); ok {
		t.Fatal("a post mentioning another DID is a mention of no brand here")
	}
	ev.Commit.Operation = "delete"
	if _, ok, _ := ev.Mention(brands); ok {
		t.Fatal("a delete is not a mention")
	}
}

func TestFutureCreatedAtIsClampedToWhenJetstreamSawIt(t *testing.T) {
	ev := Event{TimeUS: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()}
	if got := ev.createdAt("2099-01-01T00:00:00Z"); got.Year() != 2025 {
		t.Fatalf("got %v", got)
	}
}

func TestParseRefusesNonEvents(t *testing.T) {
	for _, bad := range []string{`{`, `{"did":"x"}`, `[]`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzParseMention(f *testing.F) {
	for _, name := range []string{"jetstream_mention.json", "jetstream_brand_reply.json", "jetstream_identity.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Parse(data)
		if err != nil {
			return
		}
		m, ok, _ := ev.Mention(brands)
		if ok && (m.Brand != "acme" || m.BrandReply && m.ReplyToAuthorId == "" || m.CreatedAt.AsTime().After(time.UnixMicro(ev.TimeUS))) {
			t.Fatalf("bad mention %v from %s", m, data)
		}
	})
}

func TestAQuotePostNamesTheQuotedPost(t *testing.T) {
	b, err := os.ReadFile("testdata/jetstream_mention.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, embed := range map[string]string{
		"record":            `"embed":{"$type":"app.bsky.embed.record","record":{"uri":"at://did:plc:acmebrand/app.bsky.feed.post/3l3qbrandrep","cid":"bafy"}},`,
		"record with media": `"embed":{"$type":"app.bsky.embed.recordWithMedia","record":{"record":{"uri":"at://did:plc:acmebrand/app.bsky.feed.post/3l3qbrandrep","cid":"bafy"}},"media":{}},`,
	} {
		quoted := strings.Replace(string(b), `"text":`, embed+`"text":`, 1)
		ev, err := Parse([]byte(quoted))
		if err != nil {
			t.Fatal(err)
		}
		m, ok, err := ev.Mention(brands)
		if err != nil || !ok || m.QuoteOfId != "bluesky:did:plc:acmebrand/3l3qbrandrep" {
			t.Fatalf("%s: %v %v %v", name, m, ok, err)
		}
	}
}
