package wording

import "testing"

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 203000: "203,000", 332000: "332,000",
		1234567: "1,234,567", -4500: "-4,500", -9223372036854775808: "-9,223,372,036,854,775,808"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestResharedSaysHowFastAPostSpreads(t *testing.T) {
	for n, want := range map[int64]string{1: "reshared once in the last hour", 240: "reshared 240 times in the last hour", 12500: "reshared 12,500 times in the last hour"} {
		if got := Reshared(n); got != want {
			t.Errorf("Reshared(%d) = %q, want %q", n, got, want)
		}
	}
}
