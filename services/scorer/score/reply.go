package score

import (
	"regexp"
	"strings"
)

// Severity ranks a reply finding.
type Severity int

// Severities, from advice to "do not send".
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityCritical
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "unknown"
}

// Finding codes.
const (
	FindingHostileTone    = "hostile_tone"
	FindingDismissiveTone = "dismissive_tone"
	FindingNoNextStep     = "no_next_step"
	FindingPersonalData   = "personal_data"
	FindingGoingPublic    = "private_thread_made_public"
	FindingMovesPrivate   = "moves_private"
)

// ReplyCheck is the verdict on one reply: its findings and what they add up
// to, in the words the policy uses.
type ReplyCheck struct {
	Findings []Finding
	// Hostile is set by hostile or dismissive tone; Dismissive by the
	// dismissive kind alone.
	Hostile    bool
	Dismissive bool
	// NoNextStep: the reply apologises or sympathises and offers nothing
	// the customer can act on or wait for.
	NoNextStep bool
	// ExposesPrivate: a public reply carries personal data or the content
	// of a private conversation.
	ExposesPrivate bool
	// MovesPrivate: the reply takes the conversation to private messages.
	MovesPrivate bool
}

// Flagged reports whether any finding is a warning or worse; info findings
// (a move to private messages) are not a problem by themselves.
func (c ReplyCheck) Flagged() bool {
	for _, f := range c.Findings {
		if f.Severity >= SeverityWarning {
			return true
		}
	}
	return false
}

func verdict(findings []Finding) ReplyCheck {
	c := ReplyCheck{Findings: findings}
	for _, f := range findings {
		switch f.Code {
		case FindingHostileTone:
			c.Hostile = true
		case FindingDismissiveTone:
			c.Hostile, c.Dismissive = true, true
		case FindingNoNextStep:
			c.NoNextStep = true
		case FindingPersonalData, FindingGoingPublic:
			c.ExposesPrivate = true
		case FindingMovesPrivate:
			c.MovesPrivate = true
		}
	}
	return c
}

// ReplyContext is what CheckReply knows about the conversation.
type ReplyContext struct {
	MentionText   string // the customer's message being answered
	Complaint     bool   // the mention is known to be a complaint
	PrivateThread bool   // the conversation so far was private
	PublicReply   bool   // the draft would be posted publicly
}

// Finding is one problem with a draft reply; Start and End are byte offsets
// into the draft of the text it is about.
type Finding struct {
	Code     string
	Severity Severity
	Message  string
	Start    int
	End      int
}

// phraseRule flags a draft containing any of its phrases.
type phraseRule struct {
	code     string
	severity Severity
	message  string
	pattern  *regexp.Regexp
}

// wordsPattern matches any of the phrases as whole words, case-insensitively,
// with either apostrophe.
func wordsPattern(phrases ...string) *regexp.Regexp {
	quoted := make([]string, len(phrases))
	for i, p := range phrases {
		quoted[i] = strings.ReplaceAll(regexp.QuoteMeta(p), "'", "['’]")
	}
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(quoted, "|") + `)\b`)
}

// replyRules are compiled per Scorer rather than held in package variables,
// so the package keeps no state.
type replyRules struct {
	tone         []phraseRule
	movesPrivate *regexp.Regexp
	apology      *regexp.Regexp
	nextStep     *regexp.Regexp
	email        *regexp.Regexp
	phone        *regexp.Regexp
	bookingRef   *regexp.Regexp
	refKeywords  *regexp.Regexp
}

func newReplyRules() *replyRules {
	return &replyRules{
		tone: []phraseRule{
			{FindingHostileTone, SeverityCritical, "hostile wording: it blames or talks down to the customer",
				wordsPattern("calm down", "settle down", "relax", "chill out", "stop complaining", "stop whining", "your fault",
					"your own fault", "your problem", "not our problem", "not our fault", "deal with it", "get over it",
					"read the terms", "learn to read", "if you don't like it", "take it or leave it", "shut up", "ridiculous",
					"don't shout", "no need to shout", "watch your tone", "watch your language", "be reasonable")},
			{FindingDismissiveTone, SeverityWarning, "dismissive wording: it minimises the complaint",
				wordsPattern("a bit harsh", "bit harsh", "that's harsh", "too harsh", "a little harsh", "overreacting",
					"over-reacting", "exaggerating", "nothing we can do", "there's nothing we can do", "as we already said",
					"as we said", "as previously stated", "as already explained", "obviously", "unfortunately that's our policy",
					"that's our policy", "it is what it is", "whatever", "just wait", "be patient", "you should have",
					"not a big deal", "no big deal", "sorry you feel", "sorry if you feel")},
		},
		movesPrivate: regexp.MustCompile(`(?i)\b(?:dm|dms|direct message|private message|pm)\b`),
		apology: wordsPattern("sorry", "apologise", "apologize", "apologies", "apology", "regret", "understand",
			"frustrating", "frustration", "not the experience", "not what we want", "hear that", "hear this",
			"thank you for letting us know", "thanks for letting us know", "thanks for flagging", "we hear you",
			"that's not ok", "that's not okay", "must be", "we let you down", "should not have happened",
			"shouldn't have happened", "appreciate your patience"),
		nextStep: regexp.MustCompile(`(?i)\b(?:dm|dms|direct message|private message|message us|send us|follow us|` +
			`we['’]ll|we will|we['’]re going to|we are going to|we['’]ve|we have (?:issued|sent|refunded|rebooked|escalated|booked|arranged)|` +
			`refund|refunded|rebook|rebooked|voucher|compensation|compensate|credit|reimburse|reimbursement|` +
			`call us|call our|contact|reach out|email us|e-mail us|please (?:send|share|provide|visit|call|check|follow|fill|try|contact)|` +
			`look into|looking into|escalat\w*|investigat\w*|arrange|track|tracking|link|form|here['’]s how|steps|` +
			`by (?:today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|within \d+|` +
			`https?://\S+)`),
		email:       regexp.MustCompile(`(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b`),
		phone:       regexp.MustCompile(`(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]\d{2,4}){1,4}\b|\b\d{9,15}\b`),
		bookingRef:  regexp.MustCompile(`\b[A-Z0-9]{6}\b`),
		refKeywords: regexp.MustCompile(`(?i)\b(?:booking|confirmation|reference|ref|pnr|record locator|locator|reservation|order|ticket|case)\b`),
	}
}

// CheckReply reviews a reply, drafted or posted, to a mention.
func (s *Scorer) CheckReply(draft string, m ReplyContext) ReplyCheck {
	_, c := s.ScoreReply(draft, m)
	return c
}

// ScoreReply scores a brand reply and checks it in one call, sharing the
// scoring pass: the live flow does both for every brand reply.
func (s *Scorer) ScoreReply(draft string, m ReplyContext) (Result, ReplyCheck) {
	r := s.Score(draft)
	rules := s.reply
	var out []Finding
	for _, rule := range rules.tone {
		for _, loc := range rule.pattern.FindAllStringIndex(draft, -1) {
			out = append(out, Finding{Code: rule.code, Severity: rule.severity, Message: rule.message, Start: loc[0], End: loc[1]})
		}
	}
	if r.Toxicity >= 0.5 {
		out = append(out, Finding{Code: FindingHostileTone, Severity: SeverityCritical,
			Message: "abusive or profane wording", Start: 0, End: len(draft)})
	}
	moves := rules.movesPrivate.FindStringIndex(draft)
	if moves != nil {
		out = append(out, Finding{Code: FindingMovesPrivate, Severity: SeverityInfo,
			Message: "the reply moves the conversation to private messages", Start: moves[0], End: moves[1]})
	}
	if moves == nil && rules.apology.MatchString(draft) && !rules.nextStep.MatchString(draft) {
		out = append(out, Finding{Code: FindingNoNextStep, Severity: SeverityWarning,
			Message: "the reply sympathises but offers no next step (a fix, refund, rebooking, contact, question or follow-up)", Start: 0, End: len(draft)})
	}
	if m.PublicReply {
		out = append(out, rules.personalData(draft)...)
	}
	if m.PrivateThread && m.PublicReply {
		out = append(out, Finding{Code: FindingGoingPublic, Severity: SeverityCritical,
			Message: "the conversation was private and this reply would be public", Start: 0, End: len(draft)})
	}
	return r, verdict(out)
}

// personalData finds e-mail addresses, phone numbers and booking references,
// which belong in a private message, not a public reply.
func (r *replyRules) personalData(draft string) []Finding {
	var out []Finding
	add := func(kind string, loc []int) {
		out = append(out, Finding{Code: FindingPersonalData, Severity: SeverityCritical,
			Message: kind + " in a public reply; send it by private message", Start: loc[0], End: loc[1]})
	}
	emails := r.email.FindAllStringIndex(draft, -1)
	for _, loc := range emails {
		add("e-mail address", loc)
	}
	for _, loc := range r.phone.FindAllStringIndex(draft, -1) {
		if digits(draft[loc[0]:loc[1]]) >= 7 && !overlaps(loc, emails) {
			add("phone number", loc)
		}
	}
	// Six capitals and digits are a booking reference when they mix letters
	// and digits, or when the reply calls them one.
	namesRef := r.refKeywords.MatchString(draft)
	for _, loc := range r.bookingRef.FindAllStringIndex(draft, -1) {
		ref := draft[loc[0]:loc[1]]
		d := digits(ref)
		if (d > 0 && d < len(ref)) || (d == 0 && namesRef) {
			add("booking reference", loc)
		}
	}
	return out
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

func overlaps(loc []int, others [][]int) bool {
	for _, o := range others {
		if loc[0] < o[1] && o[0] < loc[1] {
			return true
		}
	}
	return false
}
