package notify

import (
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// CaseRef names a case in a receiver's tool (a PagerDuty incident key, the
// value of a Slack button), with the episode the page was about: a case
// reopened, raised or whose acknowledgement expired is a new episode, and a
// person's action on the page of an earlier one must not act on it.
type CaseRef struct {
	ID string
	// Episode is the case's episode, meaningful when HasEpisode: refs made
	// before episodes travelled carry none and act on the current one.
	Episode    int32
	HasEpisode bool
}

// EpisodeKey names a case's current episode: the case id for the first
// episode (0), as incident keys were before episodes travelled, so
// incidents opened then still match, and "<id>:e<episode>" for later ones.
func EpisodeKey(c *fbv1.Case) string { return EpisodeKeyOf(c.GetId(), c.GetEpisode()) }

// EpisodeKeyOf is EpisodeKey for a case id and episode.
func EpisodeKeyOf(id string, episode int32) string {
	if episode <= 0 {
		return id
	}
	return id + ":e" + strconv.Itoa(int(episode))
}

// EpisodeRef is "<id>:e<episode>" whatever the episode: what a Slack
// button carries, so a click on the first episode's message names it too.
func EpisodeRef(c *fbv1.Case) string {
	return c.GetId() + ":e" + strconv.Itoa(int(c.GetEpisode()))
}

// ParseEpisodeKey reads an EpisodeKey or an EpisodeRef. A bare case id is episode 0 when
// bareIsFirst (PagerDuty: every incident key Firebreak ever sent is one of
// its own); otherwise a bare id names no episode (a Slack button rendered
// before episodes travelled).
func ParseEpisodeKey(s string, bareIsFirst bool) CaseRef {
	if i := strings.LastIndex(s, ":e"); i > 0 {
		if n, err := strconv.ParseInt(s[i+2:], 10, 32); err == nil && n >= 0 && strconv.FormatInt(n, 10) == s[i+2:] {
			return CaseRef{ID: s[:i], Episode: int32(n), HasEpisode: true}
		}
	}
	return CaseRef{ID: s, HasEpisode: bareIsFirst}
}

// String is the ref as "<id>:e<episode>", or the bare id when it names no
// episode.
func (r CaseRef) String() string {
	if !r.HasEpisode {
		return r.ID
	}
	return r.ID + ":e" + strconv.Itoa(int(r.Episode))
}
