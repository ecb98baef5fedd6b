package mention

import (
	"testing"
	"time"
)

// BenchmarkDecodeOneMention is a body of one mention as the load run
// sends it, plain and with escapes in its text: what each single-mention
// request costs to decode and validate. The json= runs take encoding/json
// alone, the way every line went before decodeFast, for comparison in the
// same run.
func BenchmarkDecodeOneMention(b *testing.B) {
	for _, tc := range []struct{ name, body string }{
		{"plain", `{"platform":"x","platform_id":"run-1234-98765","brand":"acme","author":{"id":"run-1234-u17","handle":"user17","followers":312},"text":"@united my flight was cancelled and nobody at the gate can tell me when the next one is. third time this month"}`},
		{"escaped", `{"platform":"x","platform_id":"run-1234-98765","brand":"acme","author":{"id":"run-1234-u17","handle":"user17","followers":312},"text":"@united my flight was \"cancelled\" \u0026 nobody at the gate can tell me when the next one is.\nthird time this month"}`},
	} {
		body := []byte(tc.body)
		now := time.Now()
		b.Run("decode/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("json/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var j JSON
				if err := decodeJSON(body, &j); err != nil {
					b.Fatal(err)
				}
				if _, err := j.Mention(now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
