package policy

import (
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestCompare(t *testing.T) {
	high := Verdict{Escalate: true, Team: "senior", Priority: fbv1.Priority_PRIORITY_HIGH}
	normal := Verdict{Escalate: true, Team: "standard", Priority: fbv1.Priority_PRIORITY_NORMAL}
	other := Verdict{Escalate: true, Team: "social", Priority: fbv1.Priority_PRIORITY_HIGH}
	none := Verdict{}
	tests := []struct {
		name string
		a, b Verdict
		want Change
	}{
		{"both leave it alone", none, none, Same},
		{"only the first escalates", high, none, OnlyFirst},
		{"only the second escalates", none, high, OnlySecond},
		{"the second raises", normal, high, Raised},
		{"the second lowers", high, normal, Lowered},
		{"same priority, other team", high, other, OtherTeam},
		{"identical", high, high, Same},
	}
	for _, tc := range tests {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Compare = %v, want %v", tc.name, got, tc.want)
		}
	}
}
