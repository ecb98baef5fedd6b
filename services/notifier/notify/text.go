package notify

import (
	"cmp"
	"fmt"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
)

// The helpers below word a case the same way in every receiver.

// PriorityName is "critical", "high", "normal", "low" or "unspecified".
func PriorityName(p fbv1.Priority) string {
	return cmp.Or(wording.Priority(p), "unspecified")
}

// Author is "@handle (Name)", or the author id when there is no handle.
func Author(c *fbv1.Case) string {
	a := c.GetAuthor()
	who := a.GetId()
	if a.GetHandle() != "" {
		who = "@" + strings.TrimPrefix(a.GetHandle(), "@")
	}
	if a.GetName() != "" {
		who += " (" + a.GetName() + ")"
	}
	if a.GetVerified() {
		who += ", verified"
	}
	return who
}

// ReachText is "332,000 followers, 1.6x the brand's 203,000 (rival)".
func ReachText(c *fbv1.Case) string {
	r := c.GetReach()
	followers := r.GetFollowers()
	if followers == 0 {
		followers = c.GetAuthor().GetFollowers()
	}
	s := wording.Thousands(followers) + " followers"
	if r.GetBrandFollowers() > 0 && r.GetRelativeToBrand() > 0 {
		s += fmt.Sprintf(", %.1fx the brand's %s", r.GetRelativeToBrand(), wording.Thousands(r.GetBrandFollowers()))
	}
	if r.GetTier() != fbv1.Tier_TIER_UNSPECIFIED {
		s += " (" + strings.ToLower(strings.TrimPrefix(r.GetTier().String(), "TIER_")) + ")"
	}
	return s
}

// Reasons are the case's reasons in plain words, the event's when it has its own.
func Reasons(ev *fbv1.CaseEvent) []string {
	rs := ev.GetReasons()
	if len(rs) == 0 {
		rs = ev.GetCase().GetReasons()
	}
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.GetText() != "" {
			out = append(out, r.GetText())
		} else {
			out = append(out, r.GetCode())
		}
	}
	return out
}

// Title is a one-line summary of one event, fit for a page or subject line.
func Title(ev *fbv1.CaseEvent) string {
	c := ev.GetCase()
	var what string
	switch ActionOf(ev) {
	case ActionAcknowledge:
		what = "acknowledged"
		if ev.GetActor() != "" {
			what += " by " + ev.GetActor()
		}
	case ActionResolve:
		what = "resolved"
		if ev.GetActor() != "" {
			what += " by " + ev.GetActor()
		}
	default:
		what = fmt.Sprintf("%s, level %d", PriorityName(c.GetPriority()), Level(ev))
	}
	s := fmt.Sprintf("[%s] %s on %s: %s", c.GetBrand(), Author(c), platformName(c.GetPlatform()), what)
	if rs := Reasons(ev); len(rs) > 0 && ActionOf(ev) == ActionTrigger {
		s += " — " + rs[0]
	}
	return s
}

// GroupTitle summarises a notification, single or grouped.
func GroupTitle(n *Notification) string {
	if !n.Grouped() {
		return Title(n.Event())
	}
	c := n.Event().GetCase()
	return fmt.Sprintf("[%s] %d cases for team %s", c.GetBrand(), len(n.Events), c.GetTeam())
}

func platformName(p fbv1.Platform) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PLATFORM_"))
}

// Truncate cuts s to at most n runes, marking the cut, as receivers cap
// field lengths.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
