// Package tier decides how far an author's voice carries: a tier from the
// follower count, measured against the brand's own audience, with the reasons
// in plain words. It does no I/O.
package tier

import (
	"fmt"
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// Thresholds say where tiers begin. An author reaches a tier by either
// absolute followers or followers relative to the brand's.
type Thresholds struct {
	Medium int64 // followers for TIER_MEDIUM
	High   int64 // followers for TIER_HIGH
	// HighRatio is the share of the brand's audience that makes TIER_HIGH.
	HighRatio float64
	// RivalRatio is the share that makes TIER_RIVAL: the author's audience
	// rivals the brand's.
	RivalRatio float64
}

// DefaultThresholds suit a mid-sized brand.
func DefaultThresholds() Thresholds {
	return Thresholds{Medium: 1_000, High: 50_000, HighRatio: 0.25, RivalRatio: 1.0}
}

// Validate says what is wrong with t.
func (t Thresholds) Validate() error {
	switch {
	case t.Medium <= 0 || t.High <= t.Medium:
		return fmt.Errorf("tier thresholds must satisfy 0 < medium (%d) < high (%d)", t.Medium, t.High)
	case t.HighRatio <= 0 || t.RivalRatio <= t.HighRatio:
		return fmt.Errorf("tier ratios must satisfy 0 < high ratio (%g) < rival ratio (%g)", t.HighRatio, t.RivalRatio)
	}
	return nil
}

// Author is what is known of an author's audience.
type Author struct {
	Followers int64
	Verified  bool
}

// Assessment is a tier with its ratio and reasons.
type Assessment struct {
	Tier     fbv1.Tier
	Relative float64
	Reasons  []string
}

// Assess places an author in a tier. brandFollowers may be 0 (unknown), in
// which case only absolute thresholds apply.
func Assess(a Author, brandFollowers int64, t Thresholds) Assessment {
	var out Assessment
	if brandFollowers > 0 {
		out.Relative = float64(a.Followers) / float64(brandFollowers)
	}
	switch {
	case brandFollowers > 0 && out.Relative >= t.RivalRatio:
		out.Tier = fbv1.Tier_TIER_RIVAL
		out.Reasons = append(out.Reasons, fmt.Sprintf("author has %s followers, %.1fx the brand's %s",
			wording.Thousands(a.Followers), out.Relative, wording.Thousands(brandFollowers)))
	case a.Followers >= t.High || brandFollowers > 0 && out.Relative >= t.HighRatio:
		out.Tier = fbv1.Tier_TIER_HIGH
		out.Reasons = append(out.Reasons, highReason(a.Followers, brandFollowers, out.Relative))
	case a.Followers >= t.Medium:
		out.Tier = fbv1.Tier_TIER_MEDIUM
		out.Reasons = append(out.Reasons, fmt.Sprintf("author has %s followers", wording.Thousands(a.Followers)))
	default:
		out.Tier = fbv1.Tier_TIER_LOW
		out.Reasons = append(out.Reasons, fmt.Sprintf("author has %s followers", wording.Thousands(a.Followers)))
	}
	if a.Verified {
		out.Reasons = append(out.Reasons, "author is verified")
	}
	if brandFollowers == 0 {
		out.Reasons = append(out.Reasons, "brand's follower count unknown; tier from absolute thresholds only")
	}
	return out
}

func highReason(followers, brand int64, rel float64) string {
	if brand > 0 {
		return fmt.Sprintf("author has %s followers, %.0f%% of the brand's %s", wording.Thousands(followers), rel*100, wording.Thousands(brand))
	}
	return fmt.Sprintf("author has %s followers", wording.Thousands(followers))
}

// ParseBrandFollowers reads "acme=203000,globex=5000".
func ParseBrandFollowers(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		brand, count, ok := strings.Cut(pair, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 64)
		if !ok || err != nil || n < 0 || strings.TrimSpace(brand) == "" {
			return nil, fmt.Errorf("%q is not brand=followers (e.g. acme=203000)", pair)
		}
		out[strings.TrimSpace(brand)] = n
	}
	return out, nil
}
