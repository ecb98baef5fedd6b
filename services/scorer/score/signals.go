package score

import (
	"math"
	"strings"
)

// urgencyMask holds the urgency signals found in a text, one bit each.
type urgencyMask uint16

// urgencySignal is a reason a mention cannot wait, with how much it adds.
type urgencySignal struct {
	name    string
	weight  float64
	phrases []string
}

// urgencySignals is fixed rather than per brand: being stranded or unsafe is
// urgent whatever the brand sells.
var urgencySignals = [...]urgencySignal{
	{"stranded", 0.6, []string{"stranded", "stuck", "stuck at", "stuck in", "nowhere to sleep", "sleeping at the airport", "sleep in the airport", "sleep at the airport", "no hotel", "overnight", "no way home", "can't get home", "cant get home", "left behind", "abandoned"}},
	{"missed_connection", 0.5, []string{"missed connection", "missed my connection", "missed our connection", "miss my connection", "miss our connection", "missed connecting", "misconnect", "missed my flight", "missed our flight", "miss my flight", "missed the flight", "connecting flight", "connection"}},
	{"medical", 0.8, []string{"medical", "medication", "medicine", "insulin", "hospital", "ambulance", "doctor", "sick", "ill", "allergic", "allergy", "seizure", "heart attack", "pregnant", "emergency", "injured", "injury", "bleeding", "diabetic", "wheelchair"}},
	{"safety", 0.9, []string{"unsafe", "safety", "dangerous", "danger", "fire", "smoke", "engine", "emergency landing", "threat", "threatened", "assault", "assaulted", "harassed", "harassment", "attacked", "police", "security risk", "gas leak", "scared", "terrified"}},
	{"still_waiting", 0.4, []string{"still waiting", "still no", "still nothing", "still haven't", "still hasn't", "still not", "no response", "no reply", "no answer", "no one", "nobody", "third time", "3rd time", "again and again", "for hours", "hours on hold", "days", "weeks", "ignored", "ignoring", "any update", "waiting for"}},
	{"deadline", 0.4, []string{"asap", "urgent", "urgently", "immediately", "right now", "tonight", "today", "in an hour", "in 2 hours", "in two hours", "about to board", "wedding", "funeral", "job interview"}},
	{"vulnerable", 0.4, []string{"my child", "my kids", "my son", "my daughter", "baby", "infant", "toddler", "elderly", "disabled", "disability", "unaccompanied minor", "blind", "deaf", "service dog"}},
}

// toxicTerms are profanity and insults, with how strongly each marks a text
// as toxic.
var toxicTerms = [...]struct {
	weight float32
	terms  []string
}{
	{0.9, []string{"fuck", "fucking", "fucked", "fucker", "fuckers", "motherfucker", "motherfuckers", "cunt", "cunts", "fck", "fuk", "fking", "effing", "stfu", "gtfo", "piece of shit", "go to hell", "kill yourself", "retard", "retarded"}},
	{0.6, []string{"shit", "shitty", "bullshit", "bs", "asshole", "assholes", "bitch", "bitches", "dick", "dicks", "dickhead", "bastard", "bastards", "wtf", "douche", "douchebag", "screw you", "piss", "pissed", "damn you", "scum", "scumbag"}},
	{0.35, []string{"idiot", "idiots", "idiotic", "stupid", "moron", "morons", "dumb", "crap", "crappy", "damn", "dammit", "hell", "suck", "sucks", "sucked", "pathetic", "useless", "incompetent", "clowns", "joke", "disgusting", "garbage", "trash", "worst", "hate", "shut up", "ridiculous", "clueless", "liars", "liar", "scam", "thieves", "rip off", "ripoff"}},
}

// Brands' support agents write in a voice of their own: an apology together
// with an offer of help, often signed with the agent's initials. A model
// trained on customers' tweets reads "sorry for the inconvenience" as a
// complaint; these phrases let the scorer tell the reply from the complaint.
var (
	// weApologise are apologies only a brand makes, enough on their own.
	weApologise    = []string{"we're sorry", "we are sorry", "we're so sorry", "we apologize", "we apologise", "our apologies", "sorry to hear", "troubling to hear", "saddening to hear"}
	apologyPhrases = []string{"so sorry to hear", "sorry to see", "sorry about this",
		"sorry for the inconvenience", "sorry for any inconvenience", "sorry about that", "sorry for the trouble", "sorry for the delay",
		"i apologize", "i apologise", "my apologies", "apologies for",
		"sincerest apologies", "sincere apologies", "apologize for the", "apologise for the", "we understand", "i understand"}
	offerPhrases = []string{"happy to help", "glad to help", "happy to assist", "glad to assist", "further assist", "assist you",
		"help you", "send us a", "dm us", "message us", "reach out to us", "we'd like to", "we would like to", "we'd be happy",
		"we'd love to", "look into this", "look into it", "we can help", "here to help", "let us know", "we'll be", "we will be",
		"we can look", "please follow", "follow us", "we're here", "how can we help", "we'd definitely like", "love to assist", "like to help",
		"take a look", "dm your", "dm me your", "please dm", "send a dm", "in dm", "via dm", "we'll check", "we'll see what"}
)

// compileSignals adds the urgency and toxicity terms to a vocabulary.
func compileSignals(v *vocabulary) {
	for i, s := range urgencySignals {
		bit := urgencyMask(1) << i
		for _, p := range s.phrases {
			addMask(v, p, func(w *wordInfo) { w.urgency |= bit }, func(ph *phraseInfo) { ph.urgency |= bit })
		}
	}
	for _, p := range apologyPhrases {
		addMask(v, p, func(w *wordInfo) { w.flags |= flagApology }, func(ph *phraseInfo) { ph.flags |= flagApology })
	}
	for _, p := range weApologise {
		addMask(v, p, func(w *wordInfo) { w.flags |= flagApology | flagOffer }, func(ph *phraseInfo) { ph.flags |= flagApology | flagOffer })
	}
	for _, p := range offerPhrases {
		addMask(v, p, func(w *wordInfo) { w.flags |= flagOffer }, func(ph *phraseInfo) { ph.flags |= flagOffer })
	}
	for _, group := range toxicTerms {
		weight := group.weight
		for _, t := range group.terms {
			addMask(v, t, func(w *wordInfo) { w.toxic = weight }, func(ph *phraseInfo) { ph.toxic = weight })
		}
	}
}

// addMask routes a term to the word table or the phrase table by length.
func addMask(v *vocabulary, term string, word func(*wordInfo), phrase func(*phraseInfo)) {
	hashes := wordHashes(term)
	if len(hashes) == 1 {
		v.word1(hashes[0], word)
		return
	}
	v.phrase(hashes, phrase)
}

// urgencyScore combines the signals found as independent reasons: each one
// closes part of the remaining gap to 1.
func urgencyScore(m urgencyMask) float64 {
	calm := 1.0
	for i, s := range urgencySignals {
		if m&(1<<i) != 0 {
			calm *= 1 - s.weight
		}
	}
	return 1 - calm
}

// toxicityScore turns summed term weights into a [0,1] score; shouting makes
// the same words more hostile.
func toxicityScore(sum float32, capsWords int) float64 {
	if sum == 0 {
		return 0
	}
	x := float64(sum)
	if capsWords > 0 {
		x *= 1.25
	}
	return 1 - math.Exp(-1.6*x)
}

// signedByAgent reports whether a text ends in an agent's sign-off, as
// support teams sign their replies: "^MG", "-AA", "*TLT", "/KB", "-Becky",
// "- Daniel", also before a trailing link ("^CB https://t.co/x").
func signedByAgent(text string) bool {
	end := trimSpaceEnd(text, len(text))
	if i := strings.LastIndexByte(text[:end], ' '); i >= 0 && strings.HasPrefix(text[i+1:end], "http") {
		end = trimSpaceEnd(text, i)
	}
	start := end
	for start > 0 && (text[start-1] >= 'a' && text[start-1] <= 'z' || text[start-1] >= 'A' && text[start-1] <= 'Z') {
		start--
	}
	n := end - start
	if start == 0 || n < 2 || n > 12 || text[start] < 'A' || text[start] > 'Z' {
		return false
	}
	mark := start - 1
	if text[mark] == ' ' && mark > 0 && text[mark-1] == '-' && n > 2 {
		// "- Daniel": a dash and a space before a name (not initials, which
		// end too many sentences: "- OK").
		mark--
	}
	switch text[mark] {
	case '^', '*':
		return true
	case '-', '/':
		return mark == 0 || !isHandleByte(text[mark-1]) && text[mark-1] != '/'
	}
	return false
}

func trimSpaceEnd(text string, end int) int {
	for end > 0 && (text[end-1] == ' ' || text[end-1] == '\n' || text[end-1] == '\r' || text[end-1] == '\t' || text[end-1] == 0xa0) {
		end--
	}
	return end
}
