package policy

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/platform/wording"
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
	fill fill
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
	if f.in.To != nil {
		return f.in.To.GetFollowers()
	}
	return f.in.Mention.GetAuthor().GetFollowers()
}

// maxQuote bounds a reply quoted in a reason, in runes.
const maxQuote = 200

// placeholders is every name a template may use, with what it renders.
var placeholders = map[string]fill{
	// audience: the author's audience against the brand's, "332,000
	// followers, 1.6x the brand's 203,000", or just "332,000 followers" when
	// the brand's count is unknown.
	"audience": audience,
	// followers: the author's follower count, "332,000".
	"followers": func(b []byte, f *facts) []byte { return wording.AppendThousands(b, f.followers()) },
	// brand_followers: the brand account's follower count, "203,000".
	"brand_followers": func(b []byte, f *facts) []byte { return wording.AppendThousands(b, f.reach.GetBrandFollowers()) },
	// relative: the author's audience as a multiple of the brand's, "1.6x".
	"relative": func(b []byte, f *facts) []byte { return appendRatio(b, f.reach.GetRelativeToBrand()) },
	// tier: the reach tier in words, "high".
	"tier": func(b []byte, f *facts) []byte {
		return append(b, cmp.Or(wording.Tier(f.reach.GetTier()), "unknown")...)
	},
	// spread: how fast the post spreads, "reshared 240 times in the last
	// hour" (reach.velocity).
	"spread": func(b []byte, f *facts) []byte {
		return append(b, wording.Reshared(int64(f.reach.GetVelocity()))...)
	},
	// complaints: complaints in the window, this one included, "3".
	"complaints": func(b []byte, f *facts) []byte {
		return strconv.AppendInt(b, int64(f.hist.GetComplaintsInWindow()), 10)
	},
	// nth: the same as an ordinal word, "third".
	"nth": func(b []byte, f *facts) []byte { return append(b, Ordinal(int64(f.hist.GetComplaintsInWindow()))...) },
	// streak: complaints since the brand last replied, "3".
	"streak": func(b []byte, f *facts) []byte { return strconv.AppendInt(b, int64(f.hist.GetUnansweredStreak()), 10) },
	// answered: how many complaints in the window were answered, "none answered".
	"answered": answered,
	// window: the complaint window, "24h".
	"window": func(b []byte, f *facts) []byte { return append(b, f.policy.windowText...) },
	// complaint: the complaint likelihood, "0.82".
	"complaint": func(b []byte, f *facts) []byte { return strconv.AppendFloat(b, f.score.GetComplaint(), 'f', 2, 64) },
	// sentiment: the sentiment label in words, "negative".
	"sentiment": func(b []byte, f *facts) []byte {
		return append(b, cmp.Or(wording.Sentiment(f.score.GetSentiment()), "unknown")...)
	},
	// topics: the topics the scorer found, "billing, delay".
	"topics": topics,
	// handle: the author's handle.
	"handle": func(b []byte, f *facts) []byte { return append(b, f.in.Mention.GetAuthor().GetHandle()...) },
	// brand: the brand the mention is about.
	"brand": func(b []byte, f *facts) []byte { return append(b, f.in.Mention.GetBrand()...) },
	// reply: a brand reply's text, quoted and cut at 200 characters:
	// "That's a bit harsh. Calm down."
	"reply": quoteReply,
	// finding: what the reply check found, in plain words, most severe
	// first: "dismissive tone ("Calm down")".
	"finding": func(b []byte, f *facts) []byte {
		return append(b, FindingWords(f.in.Score.GetReply(), f.in.Mention.GetText())...)
	},
	// to: the handle of the customer a brand reply answers, "dan".
	"to": func(b []byte, f *facts) []byte {
		if f.in.To != nil {
			return append(b, f.in.To.GetHandle()...)
		}
		return append(b, f.in.Mention.GetAuthor().GetHandle()...)
	},
	// surge: why the open incident the mention belongs to opened, "41
	// people complained about broadband in 15 minutes; usually 3 ± 2".
	"surge": func(b []byte, f *facts) []byte { return append(b, f.in.Surge.GetReason()...) },
	// incident: the open incident's case id.
	"incident": func(b []byte, f *facts) []byte { return append(b, f.in.Surge.GetIncident()...) },
	// visibility: "public" or "private".
	"visibility": func(b []byte, f *facts) []byte {
		if f.in.Mention.GetVisibility() == fbv1.Visibility_VISIBILITY_PRIVATE {
			return append(b, "private"...)
		}
		return append(b, "public"...)
	},
}

func quoteReply(b []byte, f *facts) []byte {
	text := strings.Join(strings.Fields(f.in.Mention.GetText()), " ")
	if r := []rune(text); len(r) > maxQuote {
		text = string(r[:maxQuote]) + "…"
	}
	b = append(b, '"')
	b = append(b, text...)
	return append(b, '"')
}

// fill appends a placeholder's text to b. Appending into one buffer keeps a
// reason to two allocations however many numbers it formats.
type fill func(b []byte, f *facts) []byte

func audience(b []byte, f *facts) []byte {
	b = wording.AppendThousands(b, f.followers())
	b = append(b, " followers"...)
	if f.reach.GetBrandFollowers() > 0 {
		b = append(b, ", "...)
		b = appendRatio(b, f.reach.GetRelativeToBrand())
		b = append(b, " the brand's "...)
		b = wording.AppendThousands(b, f.reach.GetBrandFollowers())
	}
	return b
}

func answered(b []byte, f *facts) []byte {
	n := f.hist.GetComplaintsInWindow() - f.hist.GetUnansweredStreak()
	switch {
	case n <= 0:
		return append(b, "none answered"...)
	case n >= f.hist.GetComplaintsInWindow():
		return append(b, "all answered"...)
	}
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, " answered"...)
}

func topics(b []byte, f *facts) []byte {
	if len(f.score.GetTopics()) == 0 {
		return append(b, "no topic"...)
	}
	for i, t := range f.score.GetTopics() {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, t...)
	}
	return b
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
	b := make([]byte, 0, 96)
	for _, s := range t {
		if s.fill != nil {
			b = s.fill(b, f)
		} else {
			b = append(b, s.text...)
		}
	}
	return string(b)
}
