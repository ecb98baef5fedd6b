package mention

import (
	"reflect"
	"testing"
	"unicode/utf8"
)

// Whatever the fast decoding takes, encoding/json takes the same way: the
// same fields, and no error.
func FuzzDecodeFastAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		good,
		`{"platform":"x","platform_id":"1","brand":"acme","author":{"id":"u1"},"text":"hi","brand_reply":true,"reply_to_author_id":"u2","metrics":{"reposts":3,"likes":-0,"replies":0,"quotes":9223372036854775807}}`,
		`{"platform":"mastodon","platform_id":"2","brand":"acme","author":{"id":"u1","verified":false,"following":12},"text":"é ✈","created_at":"2026-11-23T09:00:00Z","visibility":"private","url":"https://x.example/1","language":"en","conversation_id":"c","reply_to_id":"r","quote_of_id":"q"}`,
		`{"author":{"id":"a","handle":"h"},"author":{"id":"b"},"metrics":{"likes":1},"metrics":{"reposts":2}}`,
		` { "platform" : "x" , "author" : { } } `,
		`{}`,
		`{"Platform":"x"}`,
		`{"platform":"x\"y","text":"line\none \u00e9 \ud83d\ude00 \ud800 \u0026 \/ \\","created_at":"2026-11-23T09:00:00\u005a"}`,
		`{"platform":"x\"y","text":"line\none \u00e9 \ud83d\ude00 \ud800 \udc00x \u0026 \/ \\ \b\f\r\t"}`,
		`{"text":"\x"}`,
		`{"text":"abc\"}`,
		`{"te\u0078t":"a"}`,
		`{"platform":null}`,
		`{"metrics":null}`,
		`{"author":{"followers":1.5}}`,
		`{"author":{"followers":1e3}}`,
		`{"author":{"followers":01}}`,
		`{"author":{"followers":99999999999999999999}}`,
		`{"author":{"followers":"12"}}`,
		`{"brand_reply":truex}`,
		`{"created_at":"yesterday"}`,
		`{"platform":"x"} {"platform":"y"}`,
		`{"platform":"x",}`,
		`{"text":"a	b"}`,
		`{"unknown":1}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if !utf8.Valid(line) {
			return // Decode refuses it before any line is decoded
		}
		var fast JSON
		if !decodeFast(line, &fast) {
			return
		}
		var slow JSON
		if err := decodeJSON(line, &slow); err != nil {
			t.Fatalf("fast decoding took %q, encoding/json refused it: %v", line, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q decoded as\n%+v\nby the fast path and as\n%+v\nby encoding/json", line, fast, slow)
		}
	})
}

// The usual shapes of a mention take the fast path: the one the load run
// and the platforms' adapters send.
func TestTheUsualMentionIsDecodedFast(t *testing.T) {
	for _, line := range []string{
		good,
		`{"platform":"x","platform_id":"r-1","brand":"acme","author":{"id":"acme-id","handle":"acme","followers":100000},"text":"We're sorry to hear that; DM us.","brand_reply":true,"reply_to_author_id":"r-u3"}`,
		`{"platform":"x","platform_id":"2","brand":"acme","author":{"id":"u1"},"text":"\"lost\" bags \u0026 no answer\nday 3 \ud83d\ude21"}`,
	} {
		var j JSON
		if !decodeFast([]byte(line), &j) {
			t.Errorf("%s went to encoding/json", line)
		}
	}
}
