package mention

import (
	"errors"
	"strings"
	"testing"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const good = `{"platform":"x","platform_id":"1","brand":"acme","author":{"id":"u1","handle":"dan","followers":332000},"text":"hello @acme"}`

func TestDecodeAcceptsObjectArrayAndNDJSON(t *testing.T) {
	second := strings.Replace(good, `"1"`, `"2"`, 1)
	for name, body := range map[string]string{
		"object":      good,
		"array":       "[" + good + "," + second + "]",
		"ndjson":      good + "\n\n" + second + "\n",
		"ndjson crlf": good + "\r\n" + second,
	} {
		t.Run(name, func(t *testing.T) {
			ms, err := Decode([]byte(body), now)
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 + strings.Count(body, second); len(ms) != want {
				t.Fatalf("decoded %d mentions, want %d", len(ms), want)
			}
			if ms[0].Id != "x:1" || ms[0].Platform != fbv1.Platform_PLATFORM_X || ms[0].Author.Followers != 332000 {
				t.Fatalf("decoded %v", ms[0])
			}
			if ms[0].CreatedAt.AsTime() != now || ms[0].Visibility != fbv1.Visibility_VISIBILITY_PUBLIC {
				t.Errorf("defaults not filled: %v", ms[0])
			}
		})
	}
}

func TestDecodeRefusesBadInputNamingTheMentionAndReason(t *testing.T) {
	tests := []struct {
		name, body, want string
		index            int
	}{
		{"empty body", "  ", "body is empty", 0},
		{"malformed JSON", `{"platform":`, "malformed JSON", 0},
		{"unknown field", strings.Replace(good, `"text"`, `"txet"`, 1), "unknown field", 0},
		{"invalid UTF-8", "{\"text\":\"\xff\"}", "not valid UTF-8", 0},
		{"unknown platform", strings.Replace(good, `"x"`, `"myspace"`, 1), `platform "myspace" is unknown`, 0},
		{"missing author", strings.Replace(good, `"id":"u1",`, "", 1), "author.id is missing", 0},
		{"absurd followers", strings.Replace(good, "332000", "99999999999999", 1), "followers and following must be between", 0},
		{"negative followers", strings.Replace(good, "332000", "-5", 1), "followers and following must be between", 0},
		{"bad brand", strings.Replace(good, `"acme"`, `"Acme Corp"`, 1), "brand", 0},
		{"empty text", strings.Replace(good, `"hello @acme"`, `"  "`, 1), "text is empty", 0},
		{"future", strings.Replace(good, `"text"`, `"created_at":"2030-01-01T00:00:00Z","text"`, 1), "in the future", 0},
		{"brand reply without target", strings.Replace(good, `"text"`, `"brand_reply":true,"text"`, 1), "reply_to_author_id", 0},
		{"huge quoted id", strings.Replace(good, `"text"`, `"quote_of_id":"x:`+strings.Repeat("9", 300)+`","text"`, 1), "quote_of_id is longer than", 0},
		{"reply to id with spaces", strings.Replace(good, `"text"`, `"reply_to_id":"x:1 2","text"`, 1), "reply_to_id \"x:1 2\" contains whitespace", 0},
		{"huge url", strings.Replace(good, `"text"`, `"url":"https://x.com/`+strings.Repeat("9", 3000)+`","text"`, 1), "url is 3014 bytes; at most 2048", 0},
		{"second line bad", good + "\n" + `{"platform":"x"}`, "platform_id is missing", 1},
		{"not an object", good + "\n[1]", "must be a JSON object", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body), now)
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("err = %v, want an InvalidError", err)
			}
			if !strings.Contains(inv.Reason, tc.want) || inv.Index != tc.index {
				t.Fatalf("got mention %d: %q; want mention %d: %q", inv.Index, inv.Reason, tc.index, tc.want)
			}
		})
	}
}

func TestSamePostSameID(t *testing.T) {
	a, _ := Decode([]byte(good), now)
	b, _ := Decode([]byte(good), now.Add(48*time.Hour))
	if a[0].Id != b[0].Id {
		t.Fatalf("ids differ: %s, %s", a[0].Id, b[0].Id)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("[" + good + "]"))
	f.Add([]byte(good + "\n" + good))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := Decode(body, now)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Id == "" || m.Brand == "" || m.Author.GetId() == "" {
				t.Fatalf("accepted an incomplete mention: %v", m)
			}
		}
	})
}

func TestRepliesAndQuotesNameTheirPostsMention(t *testing.T) {
	for given, want := range map[string]string{"1003": "x:1003", "x:1003": "x:1003", "bluesky:did:plc:a/3l": "bluesky:did:plc:a/3l"} {
		body := strings.Replace(good, `"text"`, `"reply_to_id":"`+given+`","quote_of_id":"`+given+`","text"`, 1)
		ms, err := Decode([]byte(body), now)
		if err != nil || ms[0].ReplyToId != want || ms[0].QuoteOfId != want {
			t.Fatalf("%q: %v %v, want %q", given, ms, err, want)
		}
	}
}

func TestAuthorKeyOfABrandReplyIsTheAuthorItAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m    *fbv1.Mention
		want string
	}{
		{&fbv1.Mention{Brand: "acme", Platform: fbv1.Platform_PLATFORM_X, Author: &fbv1.Author{Id: "u1"}}, "acme/x/u1"},
		{&fbv1.Mention{Brand: "acme", Platform: fbv1.Platform_PLATFORM_X, Author: &fbv1.Author{Id: "acme-care"}, BrandReply: true, ReplyToAuthorId: "u1"}, "acme/x/u1"},
	}
	for _, tt := range tests {
		if got := AuthorKey(tt.m); got != tt.want {
			t.Errorf("AuthorKey(%v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

// Every platform's name is the one derived from its enum name, the known
// ones included, so a platform added to the proto is named the same way.
func TestPlatformNamesAreTheEnumNamesLowercased(t *testing.T) {
	for value := range fbv1.Platform_name {
		p := fbv1.Platform(value)
		if got, want := PlatformName(p), platformNameOf(p); got != want {
			t.Errorf("PlatformName(%v) = %q, want %q", p, got, want)
		}
	}
}
