package mention

import (
	"testing"
	"time"
)

// BenchmarkDecodeOneMention is a body of one mention as the load run
// sends it: what each single-mention request costs to decode and validate.
func BenchmarkDecodeOneMention(b *testing.B) {
	body := []byte(`{"platform":"x","platform_id":"run-1234-98765","brand":"acme","author":{"id":"run-1234-u17","handle":"user17","followers":312},"text":"@united my flight was cancelled and nobody at the gate can tell me when the next one is. third time this month"}`)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body, now); err != nil {
			b.Fatal(err)
		}
	}
}
