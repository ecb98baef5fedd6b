package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// A reason template is plain text with placeholders in braces, filled from the
// mention being decided: "author has {followers} followers, {relative} the
// brand's {brand_followers}". "{{" and "}}" stand for literal braces. The
// placeholders are the keys of placeholders below; an unknown one is refused
// when the policy is parsed, so a typo never reaches a page.
//
// A template is compiled once into segments, so rendering is a walk over a
// short slice with no parsing and no reflection.
type template []segment

// segment is either literal text (fill nil) or a placeholder.
type segment struct {
	text string
	fill func(*facts) string
}

// facts are the values a reason can mention.
type facts struct {
	in     *Input
	score  *fbv1.Score
	reach  *fbv1.Reach
	hist   *fbv1.History
	policy *Policy
}

func (f *facts) followers() int64 {
	if f.reach.GetFollowers() > 0 {
		return f.reach.GetFollowers()
	}
	return f.in.Mention.GetAuthor().GetFollowers()
}

// placeholders is every name a template may use, with what it renders.
var placeholders = map[string]func(*facts) string{
	// audience: the author's audience against the brand's, "332,000
	// followers, 1.6x the brand's 203,000", or just "332,000 followers" when
	// the brand's count is unknown.
	"audience": audience,
	// followers: the author's follower count, "332,000".
	"followers": func(f *facts) string { return Thousands(f.followers()) },
	// brand_followers: the brand account's follower count, "203,000".
	"brand_followers": func(f *facts) string { return Thousands(f.reach.GetBrandFollowers()) },
	// relative: the author's audience as a multiple of the brand's, "1.6x".
	"relative": func(f *facts) string { return Ratio(f.reach.GetRelativeToBrand()) },
	// tier: the reach tier in words, "high".
	"tier": func(f *facts) string { return tierWord(f.reach.GetTier()) },
	// complaints: complaints in the window, this one included, "3".
	"complaints": func(f *facts) string { return strconv.Itoa(int(f.hist.GetComplaintsInWindow())) },
	// nth: the same as an ordinal word, "third".
	"nth": func(f *facts) string { return Ordinal(int64(f.hist.GetComplaintsInWindow())) },
	// streak: complaints since the brand last replied, "3".
	"streak": func(f *facts) string { return strconv.Itoa(int(f.hist.GetUnansweredStreak())) },
	// answered: how many complaints in the window were answered, "none answered".
	"answered": answered,
	// window: the complaint window, "24h".
	"window": func(f *facts) string { return f.policy.windowText },
	// complaint: the complaint likelihood, "0.82".
	"complaint": func(f *facts) string { return strconv.FormatFloat(f.score.GetComplaint(), 'f', 2, 64) },
	// sentiment: the sentiment label in words, "negative".
	"sentiment": func(f *facts) string { return sentimentWord(f.score.GetSentiment()) },
	// topics: the topics the scorer found, "billing, delay".
	"topics": topics,
	// handle: the author's handle.
	"handle": func(f *facts) string { return f.in.Mention.GetAuthor().GetHandle() },
	// brand: the brand the mention is about.
	"brand": func(f *facts) string { return f.in.Mention.GetBrand() },
}

func audience(f *facts) string {
	s := Thousands(f.followers()) + " followers"
	if f.reach.GetBrandFollowers() > 0 {
		s += ", " + Ratio(f.reach.GetRelativeToBrand()) + " the brand's " + Thousands(f.reach.GetBrandFollowers())
	}
	return s
}

func answered(f *facts) string {
	n := f.hist.GetComplaintsInWindow() - f.hist.GetUnansweredStreak()
	switch {
	case n <= 0:
		return "none answered"
	case n >= f.hist.GetComplaintsInWindow():
		return "all answered"
	}
	return strconv.Itoa(int(n)) + " answered"
}

func topics(f *facts) string {
	if len(f.score.GetTopics()) == 0 {
		return "no topic"
	}
	return strings.Join(f.score.GetTopics(), ", ")
}

// tierWord and sentimentWord name enum values in words without going through
// protobuf reflection, which would dominate the cost of a reason.
func tierWord(t fbv1.Tier) string {
	switch t {
	case fbv1.Tier_TIER_LOW:
		return "low"
	case fbv1.Tier_TIER_MEDIUM:
		return "medium"
	case fbv1.Tier_TIER_HIGH:
		return "high"
	case fbv1.Tier_TIER_RIVAL:
		return "rival"
	}
	return "unknown"
}

func sentimentWord(s fbv1.Sentiment) string {
	switch s {
	case fbv1.Sentiment_SENTIMENT_NEGATIVE:
		return "negative"
	case fbv1.Sentiment_SENTIMENT_NEUTRAL:
		return "neutral"
	case fbv1.Sentiment_SENTIMENT_POSITIVE:
		return "positive"
	}
	return "unknown"
}

// compileTemplate splits src into literal text and placeholders.
func compileTemplate(src string) (template, error) {
	var (
		out  template
		text strings.Builder
	)
	flush := func() {
		if text.Len() > 0 {
			out = append(out, segment{text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '{' && strings.HasPrefix(src[i:], "{{"), c == '}' && strings.HasPrefix(src[i:], "}}"):
			text.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at byte %d", i)
			}
			name := strings.TrimSpace(src[i+1 : i+end])
			fill, ok := placeholders[name]
			if !ok {
				return nil, fmt.Errorf("unknown placeholder {%s} (known: %s)", name, knownPlaceholders())
			}
			flush()
			out = append(out, segment{fill: fill})
			i += end
		case c == '}':
			return nil, fmt.Errorf("unmatched } at byte %d (write }} for a literal brace)", i)
		default:
			text.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

func knownPlaceholders() string {
	names := make([]string, 0, len(placeholders))
	for name := range placeholders {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (t template) render(f *facts) string {
	if len(t) == 1 && t[0].fill == nil {
		return t[0].text
	}
	// Fill first, then copy once: one allocation for the text.
	var parts [16]string
	fills := parts[:0]
	size := 0
	for _, s := range t {
		text := s.text
		if s.fill != nil {
			text = s.fill(f)
		}
		fills = append(fills, text)
		size += len(text)
	}
	var b strings.Builder
	b.Grow(size)
	for _, text := range fills {
		b.WriteString(text)
	}
	return b.String()
}
