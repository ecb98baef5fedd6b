package tier

import (
	"strings"
	"testing"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

func TestAssess(t *testing.T) {
	th := DefaultThresholds()
	tests := []struct {
		name      string
		followers int64
		brand     int64
		want      fbv1.Tier
		reason    string
	}{
		{"author with more followers than the brand rivals it", 332_000, 203_000, fbv1.Tier_TIER_RIVAL, "author has 332,000 followers, 1.6x the brand's 203,000"},
		{"a quarter of the brand's audience is high", 60_000, 203_000, fbv1.Tier_TIER_HIGH, "30% of the brand's 203,000"},
		{"many followers of a huge brand is still high", 60_000, 50_000_000, fbv1.Tier_TIER_HIGH, "60,000 followers"},
		{"medium", 5_000, 203_000, fbv1.Tier_TIER_MEDIUM, "5,000 followers"},
		{"low", 12, 203_000, fbv1.Tier_TIER_LOW, "12 followers"},
		{"unknown brand size uses absolute thresholds", 332_000, 0, fbv1.Tier_TIER_HIGH, "brand's follower count unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Assess(Author{Followers: tc.followers}, tc.brand, th)
			if got.Tier != tc.want {
				t.Errorf("tier = %v, want %v", got.Tier, tc.want)
			}
			if !strings.Contains(strings.Join(got.Reasons, "; "), tc.reason) {
				t.Errorf("reasons %q lack %q", got.Reasons, tc.reason)
			}
		})
	}
}

func TestParseBrandFollowers(t *testing.T) {
	got, err := ParseBrandFollowers("acme=203000, globex=5")
	if err != nil || got["acme"] != 203000 || got["globex"] != 5 {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := ParseBrandFollowers("acme:203000"); err == nil {
		t.Fatal("malformed pair accepted")
	}
}

func TestValidateRefusesInvertedThresholds(t *testing.T) {
	if err := (Thresholds{Medium: 10, High: 5, HighRatio: 0.1, RivalRatio: 1}).Validate(); err == nil {
		t.Fatal("medium above high accepted")
	}
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatal(err)
	}
}
