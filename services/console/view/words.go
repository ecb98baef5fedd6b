// Package view turns cases, decisions and deliveries into what the
// console's pages show: plain words for priorities, reach and clocks, the
// mentions of a case in event order, its chain and its timeline. It does no
// I/O, so the pages and their tests share it.
package view

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
	"time"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// Priority names a priority as people say it.
func Priority(p fbv1.Priority) string { return cmp.Or(wording.Priority(p), "none") }

// State names a case state.
func State(s fbv1.CaseState) string { return cmp.Or(wording.State(s), "unknown") }

// Platform names a platform.
func Platform(p fbv1.Platform) string {
	switch p {
	case fbv1.Platform_PLATFORM_X:
		return "X"
	case fbv1.Platform_PLATFORM_MASTODON:
		return "Mastodon"
	case fbv1.Platform_PLATFORM_BLUESKY:
		return "Bluesky"
	case fbv1.Platform_PLATFORM_GENERIC:
		return "other"
	}
	return "unknown"
}

// Tier names a reach tier.
func Tier(t fbv1.Tier) string { return cmp.Or(wording.Tier(t), "unknown") }

// Reach says how far the author's voice carries against the brand's own
// audience: "332,000 followers, 1.6 times the brand's 203,000".
func Reach(followers int64, r *fbv1.Reach) string {
	if r != nil && r.Followers > 0 {
		followers = r.Followers
	}
	s := wording.Thousands(followers) + " followers"
	if followers == 1 {
		s = "1 follower"
	}
	brand := r.GetBrandFollowers()
	if brand <= 0 {
		return s + " (the brand's own audience is not known)"
	}
	rel := float64(followers) / float64(brand)
	switch {
	case rel >= 1.05:
		return fmt.Sprintf("%s, %.1f times the brand's %s", s, rel, wording.Thousands(brand))
	case rel >= 0.95:
		return fmt.Sprintf("%s, about as many as the brand's %s", s, wording.Thousands(brand))
	case rel >= 0.01:
		return fmt.Sprintf("%s, %.0f%% of the brand's %s", s, rel*100, wording.Thousands(brand))
	}
	return fmt.Sprintf("%s, under 1%% of the brand's %s", s, wording.Thousands(brand))
}

// Duration says a span in the two largest units: "3h 20m", "2d 4h", "45s".
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Ago says how long before now t was: "3h 20m ago"; "" for no time.
func Ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	if t.After(now) {
		return "in " + Duration(t.Sub(now))
	}
	return Duration(now.Sub(t)) + " ago"
}

// Clock is the first-response clock of a case as shown in the queue and
// on the case: what it says and how urgent it looks.
type Clock struct {
	Text string
	// Class is "due", "soon" (past the policy's warning), "late", "done"
	// or "none", for the page's colours.
	Class string
}

// FirstResponse reads a case's first-response clock at now.
func FirstResponse(c *fbv1.Case, now time.Time) Clock {
	switch {
	case c.FirstResponseAt != nil:
		took := ""
		if c.UnansweredSince != nil {
			took = " after " + Duration(c.FirstResponseAt.AsTime().Sub(c.UnansweredSince.AsTime()))
		}
		return Clock{Text: "answered" + took, Class: "done"}
	case c.Breached || c.RespondBy != nil && !now.Before(c.RespondBy.AsTime()):
		if c.RespondBy == nil {
			return Clock{Text: "first response overdue", Class: "late"}
		}
		return Clock{Text: "overdue by " + Duration(now.Sub(c.RespondBy.AsTime())), Class: "late"}
	case c.RespondBy != nil:
		class := "due"
		if c.ResponseWarned || c.RespondWarnAt != nil && !now.Before(c.RespondWarnAt.AsTime()) {
			class = "soon"
		}
		return Clock{Text: "answer due in " + Duration(c.RespondBy.AsTime().Sub(now)), Class: class}
	}
	return Clock{Text: "no response target", Class: "none"}
}

// ProfileURL is the author's profile on the platform, "" where the
// platform has no public profile address.
func ProfileURL(p fbv1.Platform, handle string) string {
	handle = strings.TrimPrefix(strings.TrimSpace(handle), "@")
	if handle == "" {
		return ""
	}
	switch p {
	case fbv1.Platform_PLATFORM_X:
		return "https://x.com/" + url.PathEscape(handle)
	case fbv1.Platform_PLATFORM_BLUESKY:
		return "https://bsky.app/profile/" + url.PathEscape(handle)
	case fbv1.Platform_PLATFORM_MASTODON:
		// user@instance lives at https://instance/@user.
		user, host, ok := strings.Cut(handle, "@")
		if !ok || user == "" || !validHost(host) {
			return ""
		}
		return "https://" + host + "/@" + url.PathEscape(user)
	}
	return ""
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// WebURL returns raw if it is an absolute http or https address, else "":
// a post's address comes from the platform or the caller and is not
// trusted to be a harmless link.
func WebURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

// EventName names what happened in a case event.
func EventName(t fbv1.CaseEventType) string {
	switch t {
	case fbv1.CaseEventType_CASE_EVENT_TYPE_OPENED:
		return "opened"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_UPDATED:
		return "new mention"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ESCALATED:
		return "escalated"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ACKNOWLEDGED:
		return "acknowledged"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_RESOLVED:
		return "resolved"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_REOPENED:
		return "reopened"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_DELIVERY_FAILED:
		return "delivery failed"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_REPLIED:
		return "brand replied"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_RESPONSE_DUE:
		return "response due soon"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_ASSIGNED:
		return "assigned"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_SNOOZED:
		return "snoozed"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_UNSNOOZED:
		return "snooze ended"
	case fbv1.CaseEventType_CASE_EVENT_TYPE_COMMAND_IGNORED:
		return "ignored (an earlier episode)"
	}
	return "changed"
}

// Outcome names a delivery outcome.
func Outcome(o fbv1.DeliveryOutcome) string {
	switch o {
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_DELIVERED:
		return "delivered"
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_RETRYING:
		return "failed, retrying"
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_FAILED:
		return "failed"
	case fbv1.DeliveryOutcome_DELIVERY_OUTCOME_SUPPRESSED:
		return "suppressed as a duplicate"
	}
	return "unknown"
}
