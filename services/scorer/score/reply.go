package score

import (
	"regexp"
	"slices"
	"sync"
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
	// NoWayForward: the reply gives the customer nothing to do or expect
	// (no action, offer, promise, instruction, question, link, contact of
	// the brand's or move to private messages) and is not one part of a
	// reply split over posts. Whatever its tone, such a reply does not
	// answer a complaint; the policy's answer rule requires a way forward.
	NoWayForward bool
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

// MaxDraftChars is the longest draft the APIs check: a reply on any
// platform is far shorter, and the bound keeps one request's work small.
// The check itself is linear in the length and takes any text.
const MaxDraftChars = 10_000

// maxFindings bounds the findings of one reply, so a long draft full of
// problems still gets a short answer.
const maxFindings = 32

// replyRules are built once per Scorer rather than held in package
// variables, so the package keeps no state.
type replyRules struct {
	m       *matcher
	classes []uint32 // by word id: bit k set when the word alone is a cue of kind k
	tokens  sync.Pool
	phone   *regexp.Regexp
}

func newReplyRules() *replyRules {
	defs := append([]cueDef(nil), replyCues...)
	anchored := make([]string, len(stepVerbs))
	for i, v := range stepVerbs {
		anchored[i] = "^" + v
	}
	defs = append(defs, cueDef{kind: cueStep, phrases: anchored})
	m, err := newMatcher(defs)
	if err != nil {
		panic("reply check lexicon: " + err.Error()) // a bug in reply_cues.go, caught by every test
	}
	r := &replyRules{
		m:       m,
		classes: make([]uint32, len(m.vocab)),
		phone:   regexp.MustCompile(`(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,5}\)[\s.\-]?)?\d{2,5}(?:[\s.\-]\d{2,6}){1,4}\b|\b\d{9,15}\b`),
	}
	for id, cues := range m.single {
		for _, ci := range cues {
			r.classes[id] |= 1 << m.cues[ci].kind
		}
	}
	r.tokens.New = func() any { s := make([]replyToken, 0, 64); return &s }
	return r
}

func (r *replyRules) is(id int32, k cueKind) bool {
	return id != noWord && r.classes[id]&(1<<k) != 0
}

// CheckReply reviews a reply, drafted or posted, to a mention.
func (s *Scorer) CheckReply(draft string, m ReplyContext) ReplyCheck {
	_, c := s.ScoreReply(draft, m)
	return c
}

// ScoreReply scores a brand reply and checks it, sharing the scoring pass:
// the live flow does both for every brand reply.
func (s *Scorer) ScoreReply(draft string, m ReplyContext) (Result, ReplyCheck) {
	r := s.Score(draft)
	return r, s.reply.check(draft, m, r.Toxicity)
}

// replyReading is what one pass over a reply found.
type replyReading struct {
	findings            []Finding
	steps               int
	sympathy, concern   int
	positive, deadEnd   int
	movesPrivate        []int // span of the first move to private messages
	hostile, dismissive bool
}

func (rd *replyReading) add(f Finding) {
	if len(rd.findings) < maxFindings {
		rd.findings = append(rd.findings, f)
	}
}

func (r *replyRules) check(draft string, ctx ReplyContext, toxicity float64) ReplyCheck {
	buf := r.tokens.Get().(*[]replyToken)
	rt := tokenize(draft, &r.m.ids, r.m.softeners, *buf)
	defer func() { *buf = rt.tokens[:0]; r.tokens.Put(buf) }()
	toks := rt.tokens

	var rd replyReading
	deadEndUntil := int32(-1) // a step inside "nothing more we can do" is no step
	span := func(cm cueMatch) (int, int) { return int(toks[cm.first].start), int(toks[cm.last].end) }
	r.m.match(toks, func(cm cueMatch) {
		c := &r.m.cues[cm.cue]
		switch c.kind {
		case cueHostile:
			start, end := span(cm)
			rd.hostile = true
			rd.add(Finding{Code: FindingHostileTone, Severity: SeverityCritical, Message: c.reason, Start: start, End: end})
		case cueDismissive:
			start, end := span(cm)
			rd.dismissive = true
			rd.add(Finding{Code: FindingDismissiveTone, Severity: SeverityWarning, Message: c.reason, Start: start, End: end})
		case cueSympathy:
			rd.sympathy++
		case cueConcern:
			rd.concern++
		case cuePositive:
			rd.positive++
		case cueDeadEnd:
			rd.deadEnd++
			deadEndUntil = max(deadEndUntil, r.deadEndClause(toks, cm.last))
		case cueStep, cueModal:
			if cm.first > deadEndUntil && r.offers(toks, cm, c.kind == cueModal) {
				rd.steps++
			}
		case cuePerfect:
			if r.reportsAction(rt, cm) {
				rd.steps++
			}
		case cueMovesPrivate:
			if rd.movesPrivate == nil {
				start, end := span(cm)
				rd.movesPrivate = []int{start, end}
			}
		case cuePrivateRef:
			if ctx.PublicReply {
				start, end := span(cm)
				rd.add(Finding{Code: FindingGoingPublic, Severity: SeverityWarning, Message: c.reason, Start: start, End: end})
			}
		case cuePrivateChannel:
			if ctx.PublicReply && r.near(toks, int(cm.first), cueReported, 3) {
				start, end := span(cm)
				rd.add(Finding{Code: FindingGoingPublic, Severity: SeverityWarning, Message: "it repeats in public what was said in private", Start: start, End: end})
			}
		case cueHealth:
			// Health is special-category data: "your pregnancy" in public
			// is the customer's, "a passenger with a disability" is nobody's.
			if ctx.PublicReply && r.near(toks, int(cm.first), cueOwner, 3) {
				start, end := span(cm)
				rd.add(Finding{Code: FindingPersonalData, Severity: SeverityCritical, Message: "health details in a public reply; send it by private message", Start: start, End: end})
			}
		}
	})
	digits, words, known := 0, 0, 0
	continued := false
	for i := range toks {
		t := &toks[i]
		if t.flags&(tfURL|tfHandle|tfEmail|tfNumber|tfThreadMarker) == 0 {
			words++
			if t.id != noWord {
				known++
			}
		}
		if t.flags&tfNumber != 0 {
			// Counted in questions too: "is 07700 900312 still your
			// number?" was once let through.
			digits += int(t.end - t.start)
		}
		switch {
		case t.flags&(tfQuestion|tfURL) != 0:
			rd.steps++ // a question to the customer or a link is a way forward
		case t.flags&tfThreadMarker != 0:
			continued = true
		case t.id == noWord && i > 0 && r.is(toks[i-1].id, cueBy) && clockTime(draft[t.start:t.end]):
			rd.steps++ // "back by 8pm": a time the customer can hold us to
		}
	}
	// The scorer's toxicity is read only when very high: it counts words
	// like "hate" that brands use kindly ("we'd hate to see you go").
	if toxicity >= 0.8 && !rd.hostile {
		rd.hostile = true
		rd.add(Finding{Code: FindingHostileTone, Severity: SeverityCritical, Message: "abusive or profane wording", Start: 0, End: len(draft)})
	}
	if rd.movesPrivate != nil {
		rd.steps++
		rd.add(Finding{Code: FindingMovesPrivate, Severity: SeverityInfo,
			Message: "the reply moves the conversation to private messages; it is answered when the brand replies there", Start: rd.movesPrivate[0], End: rd.movesPrivate[1]})
	}
	rd.steps += r.contactData(rt, ctx.PublicReply, digits >= 7, &rd)
	if ctx.PrivateThread && ctx.PublicReply {
		rd.add(Finding{Code: FindingGoingPublic, Severity: SeverityCritical,
			Message: "the conversation was private and this reply would be public", Start: 0, End: len(draft)})
	}
	continued = continued || endsContinued(draft)
	if rd.steps == 0 && !continued {
		if msg := powerless(&rd, ctx); msg != "" {
			rd.add(Finding{Code: FindingNoNextStep, Severity: SeverityWarning, Message: msg, Start: 0, End: len(draft)})
		}
	}
	c := verdict(merge(rd.findings))
	c.NoWayForward = rd.steps == 0 && !continued && readable(words, known)
	return c
}

// readable reports whether the check can read a reply of words words, known
// of them in its lexicon. The lexicon is English; a reply in another
// language ("Te hemos enviado un mensaje privado") has ways forward it
// cannot see, so it is not said to have none.
func readable(words, known int) bool {
	return known > 0 && (words < 6 || 5*known >= words)
}

// deadEndClause returns the last token of the clause a dead end ends in at
// token i: "there's no way for us to check that" offers no check. A comma
// or a contrast ("but we can", "however") opens a clause that may offer a
// way round it.
func (r *replyRules) deadEndClause(toks []replyToken, i int32) int32 {
	j := i + 1
	for int(j) < len(toks) && toks[j].sentence == toks[i].sentence && toks[j].flags&tfClauseStart == 0 && !r.is(toks[j].id, cueContrast) {
		j++
	}
	return j - 1
}

// merge sorts findings by position and joins overlapping findings of one
// kind ("a bit harsh" and "bit harsh" are one finding).
func merge(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Start - b.Start })
	out := fs[:0]
	for _, f := range fs {
		joined := false
		for i := len(out) - 1; i >= 0 && out[i].End > f.Start; i-- {
			if out[i].Code == f.Code {
				out[i].End = max(out[i].End, f.End)
				joined = true
				break
			}
		}
		if !joined {
			out = append(out, f)
		}
	}
	return out
}

// powerless says why a reply with no way forward is not an answer, or ""
// when it does not need one (thanks for praise, a plain statement).
func powerless(rd *replyReading, ctx ReplyContext) string {
	switch {
	case rd.deadEnd > 0:
		return "the reply says nothing can be done and offers no other way forward"
	case rd.sympathy > 0:
		return "the reply apologises but offers no next step: no action, question, link, contact or follow-up"
	case rd.concern > 0 && rd.positive == 0:
		return "the reply acknowledges the problem but offers no next step: no action, question, link, contact or follow-up"
	}
	return ""
}

// negated reports whether a negation stands just before token i in its
// clause ("we can't look into", "unable to help"); "Don't worry, we'll"
// is two clauses.
func (r *replyRules) negated(toks []replyToken, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if toks[j+1].flags&tfClauseStart != 0 || toks[j].sentence != toks[i].sentence {
			return false
		}
		if r.is(toks[j].id, cueNegator) {
			return true
		}
	}
	return false
}

// offers reports whether a step phrase or modal at cm is a real offer: not
// negated before or after ("we could not offer"), not a wish ("I hope you
// will"), not a report ("as far as I can see", "I'd like to apologise").
// A bare modal must be followed by a word.
func (r *replyRules) offers(toks []replyToken, cm cueMatch, modal bool) bool {
	if r.negated(toks, int(cm.first)) || r.near(toks, int(cm.first), cueWish, 3) {
		return false
	}
	next := int(cm.last) + 1
	if next >= len(toks) || toks[next].sentence != toks[cm.first].sentence {
		return !modal
	}
	for j := next; j < len(toks) && j < next+3 && toks[j].sentence == toks[cm.first].sentence; j++ {
		if j == next && r.is(toks[j].id, cueNegator) || r.is(toks[j].id, cueNotStep) {
			return false
		}
	}
	return true
}

// reportsAction reports "we've logged it", "the gate has moved": a perfect
// tense with an action after it, not a state ("we've had", "has been
// delayed"). A bare "has" or "have" needs a past participle in -ed.
func (r *replyRules) reportsAction(rt replyText, cm cueMatch) bool {
	toks := rt.tokens
	next := int(cm.last) + 1
	if next >= len(toks) || toks[next].sentence != toks[cm.last].sentence || toks[next].flags&(tfURL|tfHandle|tfEmail|tfNumber) != 0 ||
		r.is(toks[next].id, cueNotAction) || r.negated(toks, int(cm.first)) {
		return false
	}
	if cm.first == cm.last {
		w := rt.text[toks[next].start:toks[next].end]
		// "We've sent": an irregular participle is an action only after the
		// brand ("this has brought you" is not one).
		return len(w) > 3 && (w[len(w)-2:] == "ed" || w[len(w)-2:] == "ED") ||
			r.is(toks[cm.first].id, cueFirstPerson) && r.is(toks[next].id, cueParticiple)
	}
	return true
}

// clockTime reports a time of day written as one word: 8pm, 10:30am.
func clockTime(w string) bool {
	n := len(w)
	if n < 3 || n > 7 {
		return false
	}
	suffix := w[n-2:]
	if suffix != "am" && suffix != "pm" && suffix != "AM" && suffix != "PM" {
		return false
	}
	for i := 0; i < n-2; i++ {
		if (w[i] < '0' || w[i] > '9') && w[i] != ':' && w[i] != '.' {
			return false
		}
	}
	return w[0] >= '0' && w[0] <= '9'
}

// endsContinued reports a post cut short or continued in the next one
// ("...", "…", ">>"): its next step may be in the part we do not see.
func endsContinued(text string) bool {
	end := len(text)
	for end > 0 && (text[end-1] == ' ' || text[end-1] == '\n' || text[end-1] == '\t') {
		end--
	}
	t := text[:end]
	return hasSuffix(t, "...") || hasSuffix(t, "…") || hasSuffix(t, ">>") || hasSuffix(t, "&gt;&gt;")
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// contactData finds e-mail addresses, phone numbers, booking or account
// references and street addresses. The brand's own contact points ("call
// us on 0800 …", "support@brand.com") are a way forward; the customer's own
// details in a public reply are personal data. It returns the number of
// contact points found.
func (r *replyRules) contactData(rt replyText, public, manyDigits bool, rd *replyReading) int {
	contacts := 0
	personal := func(kind string, start, end int) {
		if public {
			rd.add(Finding{Code: FindingPersonalData, Severity: SeverityCritical,
				Message: kind + " in a public reply; send it by private message", Start: start, End: end})
		}
	}
	toks, text := rt.tokens, rt.text
	if manyDigits {
		for _, loc := range r.phone.FindAllStringIndex(text, maxFindings) {
			// A date is not a phone number (a date of birth is found below).
			if digits(text[loc[0]:loc[1]]) < 7 || insideToken(toks, loc, tfEmail|tfURL) || dateLike(text[loc[0]:loc[1]]) {
				continue
			}
			i := tokenAt(toks, loc[0])
			if tollFree(text[loc[0]:loc[1]]) || i >= 0 && r.ownedByBrand(toks, i) {
				contacts++
			} else {
				personal("phone number", loc[0], loc[1])
			}
		}
	}
	for i := range toks {
		t := &toks[i]
		if t.id != noWord || t.flags&(tfURL|tfHandle) != 0 {
			continue // a cue word or a link is never personal data
		}
		if t.flags&tfEmail != 0 {
			if roleAddress(text[t.start:t.end]) || r.ownedByBrand(toks, i) {
				contacts++
			} else {
				personal("e-mail address", int(t.start), int(t.end))
			}
			continue
		}
		if n := t.end - t.start; n >= 6 && n <= 19 {
			word := text[t.start:t.end]
			d := digits(word)
			switch {
			case d >= 13 && d == len(word):
				personal("card or account number", int(t.start), int(t.end))
			case d > 0 && r.namedReference(toks, i) && refCode(word):
				personal("booking or account reference", int(t.start), int(t.end))
			}
		}
		if credentialLike(text[t.start:t.end]) && r.near(toks, i, cueCredential, 5) {
			personal("password or PIN", int(t.start), int(t.end))
			continue
		}
		if dateLike(text[t.start:t.end]) && r.near(toks, i, cueBirth, 4) {
			personal("date of birth", int(t.start), int(t.end))
			continue
		}
		if end := r.addressEnd(rt, i); end >= 0 {
			if r.ownedByBrand(toks, i) {
				contacts++
			} else {
				personal("postal address", int(t.start), int(toks[end].end))
			}
		}
	}
	return contacts
}

// ownedByBrand reports whether the words just before token i make it the
// brand's ("call us on", "our store at") rather than the customer's ("your
// number", "we called you on").
func (r *replyRules) ownedByBrand(toks []replyToken, i int) bool {
	for j := i - 1; j >= 0 && j >= i-5; j-- {
		switch id := toks[j].id; {
		case r.is(id, cueOwner):
			return false
		case r.is(id, cueContact):
			return true
		}
	}
	return false
}

// namedReference reports whether a code is called a booking, order or
// account reference by the words just before it; "your" alone is not
// enough ("call you on 1-800-…" is the brand's line).
func (r *replyRules) namedReference(toks []replyToken, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if r.is(toks[j].id, cueRefWord) {
			return true
		}
	}
	return false
}

// near reports a word of kind k at most n tokens before token i in its
// sentence.
func (r *replyRules) near(toks []replyToken, i int, k cueKind, n int) bool {
	for j := i - 1; j >= 0 && j >= i-n && toks[j].sentence == toks[i].sentence; j-- {
		if r.is(toks[j].id, k) {
			return true
		}
	}
	return false
}

// credentialLike reports what a PIN, password or one-time code looks like:
// 4 to 16 letters and digits with at least one digit.
func credentialLike(w string) bool {
	if len(w) < 4 || len(w) > 16 {
		return false
	}
	nums := 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9':
			nums++
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		default:
			return false
		}
	}
	return nums > 0
}

// dateLike reports a date written as one word: 12/03/1985, 1985-03-12,
// 12.3.85.
func dateLike(w string) bool {
	if len(w) < 6 || len(w) > 10 {
		return false
	}
	seps, nums := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9':
			nums++
		case c == '/' || c == '-' || c == '.':
			seps++
		default:
			return false
		}
	}
	return seps == 2 && nums >= 4
}

// roleAddress reports an address of a team rather than a person.
func roleAddress(email string) bool {
	at := 0
	for at < len(email) && email[at] != '@' {
		at++
	}
	local := email[:at]
	for _, role := range []string{"support", "help", "care", "service", "contact", "info", "feedback", "complaint", "enquir", "inquir",
		"hello", "team", "social", "press", "media", "privacy", "security", "abuse", "billing", "noreply", "no-reply", "sales", "returns",
		"reservations", "customer", "admin", "office", "webmaster", "accessibility", "dpo", "legal"} {
		if len(local) >= len(role) && hasPrefixFold(local, role) {
			return true
		}
	}
	return false
}

// tollFree reports a number that is a business line by its prefix.
func tollFree(number string) bool {
	var d []byte
	for i := 0; i < len(number) && len(d) < 5; i++ {
		if number[i] >= '0' && number[i] <= '9' {
			d = append(d, number[i])
		}
	}
	n := string(d)
	for _, p := range []string{"1800", "1888", "1877", "1866", "1855", "1844", "1833", "800", "888", "877", "866", "855", "844", "833",
		"0800", "0808", "0300", "0330", "0333", "0343", "0344", "0345", "0370", "0371", "0120", "1300", "1800"} {
		if len(n) >= len(p) && n[:len(p)] == p {
			return true
		}
	}
	return false
}

// addressEnd returns the last token of a street address or postcode
// starting at token i ("42 Maple Street", "SW1A 1AA"), or -1.
func (r *replyRules) addressEnd(rt replyText, i int) int {
	toks, text := rt.tokens, rt.text
	if c := text[toks[i].start]; (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
		return -1 // both start with a digit or a capital
	}
	word := func(j int) string { return text[toks[j].start:toks[j].end] }
	if i+1 < len(toks) && postcodeOut(word(i)) && postcodeIn(word(i+1)) && toks[i+1].start == toks[i].end+1 {
		return i + 1
	}
	w := word(i)
	if toks[i].flags&tfNumber == 0 && !(len(w) <= 6 && w[0] >= '0' && w[0] <= '9' && digits(w) == len(w)-1) || len(w) > 6 {
		return -1 // a house number: digits, perhaps with one letter (12B)
	}
	for j := i + 1; j < len(toks) && j <= i+4 && toks[j].sentence == toks[i].sentence; j++ {
		if r.is(toks[j].id, cueStreet) && j > i+1 {
			return j
		}
		if c := text[toks[j].start]; c < 'A' || c > 'Z' {
			return -1 // street names are capitalised
		}
	}
	return -1
}

// postcodeOut and postcodeIn are the halves of a UK postcode: "SW1A" "1AA".
func postcodeOut(w string) bool {
	if len(w) < 2 || len(w) > 4 || !upperAt(w, 0) {
		return false
	}
	d := 1
	if upperAt(w, 1) {
		d = 2
	}
	if d >= len(w) || w[d] < '0' || w[d] > '9' {
		return false
	}
	for k := d + 1; k < len(w); k++ {
		if !upperAt(w, k) && (w[k] < '0' || w[k] > '9') {
			return false
		}
	}
	return true
}

func postcodeIn(w string) bool {
	return len(w) == 3 && w[0] >= '0' && w[0] <= '9' && upperAt(w, 1) && upperAt(w, 2)
}

func upperAt(w string, i int) bool { return w[i] >= 'A' && w[i] <= 'Z' }

// refCode reports a booking or account code: capitals and digits mixed
// (QX7P2L), or digits alone (83920147).
func refCode(w string) bool {
	letters, nums := 0, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= 'A' && c <= 'Z':
			letters++
		case c >= '0' && c <= '9':
			nums++
		case c == '-':
		default:
			return false
		}
	}
	return nums > 0 && (letters > 0 || nums >= 6)
}

// tokenAt is the index of the token starting at or holding byte offset at,
// or -1.
func tokenAt(toks []replyToken, at int) int {
	i, _ := slices.BinarySearchFunc(toks, at, func(t replyToken, at int) int { return int(t.end) - 1 - at })
	if i < len(toks) && int(toks[i].start) <= at {
		return i
	}
	return -1
}

func insideToken(toks []replyToken, loc []int, flags tokenFlags) bool {
	i := tokenAt(toks, loc[0])
	return i >= 0 && toks[i].flags&flags != 0
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
