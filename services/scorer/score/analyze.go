package score

import "math"

// NumDense is the number of dense (lexicon and signal) features the model
// sees beside the hashed ones.
const NumDense = 10

// Vector is a text as the learned model sees it: hashed word and character
// features (full 32-bit hashes; a model masks them to its size) and dense
// features. Training builds Vectors through Scorer.Vectorize.
type Vector struct {
	Unigrams []uint32 // the word unigram features alone, for the known-word set
	Words    []uint32
	Chars    []uint32
	Dense    [NumDense]float32
}

// lookback is what the lexicon scorer remembers of a recent word.
type lookback struct {
	flags        wordFlags
	booster      float32
	contribution float64 // what the word added to the sum, for "no" undo
	upper        bool
	elongated    bool
}

// analysis is the state of one streaming pass over a text. It lives on the
// caller's stack; nothing in it is allocated per text.
type analysis struct {
	vocab  *vocabulary
	model  *Model  // accumulate model logits directly when set
	vec    *Vector // or collect features when set
	hashed bool    // whether hashed features are wanted at all

	// Lexicon sentiment, VADER-style.
	capDiff          bool
	sum, sumAfterBut float64
	afterBut         bool
	posSum, negSum   float64
	ring             [3]lookback // ring[0] is the previous word
	nExclaim, nQuest int
	negations        int

	// Signals.
	topics     uint64
	urgency    urgencyMask
	toxic      float32
	capsWords  int
	apologies  int    // brand-voice apologies ("we're sorry", "my apologies")
	offers     int    // brand-voice offers of help ("happy to help", "DM us")
	agentVoice bool   // apologies and offers together: a support agent replying
	prev1      uint64 // previous two word hashes, for phrases
	prev2      uint64
	prevFlags1 wordFlags
	prevFlags2 wordFlags

	// Hashed features.
	prevToken uint64 // for bigrams
	negScope  int    // words left under a negation, for negated unigrams
	acc       [2][3]float32
	count     [2]int
	words     int // word tokens seen, for the model's coverage
	known     int // of which the model saw in training
}

// feature groups, normalised separately so long words do not drown the
// word features.
const (
	groupWord = 0
	groupChar = 1
)

func (a *analysis) run(text string) {
	a.capDiff = hasLower(text)
	a.prevToken = hashString("<s>")
	sc := scanner{text: text, vocab: a.vocab}
	var t token
	for sc.next(&t) {
		a.token(&t, sc.buf[:t.normLen])
	}
	if a.hashed {
		a.feature(groupWord, pairKey(a.prevToken, hashString("</s>"))^saltBigram)
	}
}

// token folds one token into the analysis.
func (a *analysis) token(t *token, norm []byte) {
	switch t.kind {
	case tokExclaim:
		a.nExclaim++
		a.negScope = 0
		a.tokenFeature(t.hash)
		return
	case tokQuestion:
		a.nQuest++
		a.negScope = 0
		a.tokenFeature(t.hash)
		return
	case tokBreak:
		a.negScope = 0
		return
	case tokHandle, tokURL, tokNumber:
		a.tokenFeature(t.hash)
		if t.kind == tokHandle && a.hashed {
			// The brand addressed sets the base rate of complaints; handles
			// never seen in training land on near-zero weights.
			a.feature(groupWord, mix(t.handle^saltUnigram))
		}
		if t.kind != tokNumber {
			return
		}
	case tokHashtag:
		a.tokenFeature(hashHashTg)
	}
	info := a.lookup(t)
	a.signals(t, &info)
	if t.kind == tokNumber {
		return
	}
	a.sentiment(t, &info)
	if a.hashed {
		a.wordFeatures(t, &info, norm)
	}
}

// lookup finds a word, falling back to its shortest spelling when it was
// stretched ("goooood" is "good").
func (a *analysis) lookup(t *token) wordInfo {
	info := a.vocab.words[t.hash]
	if t.elongated && info.flags&flagInLexicon == 0 && info.booster == 0 {
		if short, ok := a.vocab.words[t.hashShort]; ok {
			info = short
		}
	}
	return info
}

// signals records topics, urgency and toxicity for the word and for the
// phrases it ends.
func (a *analysis) signals(t *token, info *wordInfo) {
	a.topics |= info.topics
	a.urgency |= info.urgency
	a.toxic += info.toxic
	a.voice(info.flags)
	if t.upper && t.end-t.start >= 3 {
		a.capsWords++
	}
	h := t.hash
	if a.prevFlags1&flagHead2 != 0 {
		if p, ok := a.vocab.phrases[pairKey(a.prev1, h)]; ok {
			a.phrase(&p)
		}
	}
	if a.prevFlags2&flagHead3 != 0 {
		if p, ok := a.vocab.phrases[tripleKey(a.prev2, a.prev1, h)]; ok {
			a.phrase(&p)
		}
	}
	a.prev2, a.prevFlags2 = a.prev1, a.prevFlags1
	a.prev1, a.prevFlags1 = h, info.flags
}

func (a *analysis) phrase(p *phraseInfo) {
	a.topics |= p.topics
	a.urgency |= p.urgency
	a.toxic += p.toxic
	a.voice(p.flags)
	if p.valence != 0 {
		a.add(float64(p.valence))
	}
}

func (a *analysis) voice(f wordFlags) {
	if f&flagApology != 0 {
		a.apologies++
	}
	if f&flagOffer != 0 {
		a.offers++
	}
}

// sentiment applies VADER's rules to one word: its valence, adjusted by
// capitals, stretching, the intensifiers and negations in the three words
// before it, "least", and the "but" that shifts weight to what follows.
func (a *analysis) sentiment(t *token, info *wordInfo) {
	if t.kind == tokWord && t.end-t.start == 1 {
		return // VADER ignores one-letter words, so they do not break lookback
	}
	valence := 0.0
	if info.flags&flagInLexicon != 0 && info.booster == 0 {
		valence = float64(info.valence)
	}
	if info.flags&flagInLexicon != 0 && a.ring[0].flags&flagNegator != 0 && a.ring[0].contribution != 0 {
		// "no" followed by a rated word is a negation, not a rating itself.
		a.undo(a.ring[0].contribution)
		a.ring[0].contribution = 0
	}
	if valence != 0 {
		valence = a.modify(valence, t)
	}
	if info.flags&flagNegator != 0 || t.negSuffix {
		a.negations++
		a.negScope = 3
	}
	if info.flags&flagBut != 0 && !a.afterBut {
		a.afterBut = true
	}
	contribution := a.add(valence)
	copy(a.ring[1:], a.ring[:2])
	flags := info.flags
	if t.negSuffix {
		flags |= flagNegator
	}
	a.ring[0] = lookback{flags: flags, booster: info.booster, contribution: contribution, upper: t.upper, elongated: t.elongated}
}

// modify adjusts a rated word's valence by its context.
func (a *analysis) modify(valence float64, t *token) float64 {
	sign := 1.0
	if valence < 0 {
		sign = -1
	}
	if t.upper && a.capDiff {
		valence += sign * capsIncrement
	}
	if t.elongated {
		valence += sign * boosterIncrement
	}
	r := &a.ring
	for k := 0; k < 3; k++ {
		prev := r[k]
		if prev.flags == 0 && prev.booster == 0 {
			continue
		}
		if prev.flags&flagInLexicon == 0 && prev.booster != 0 {
			s := float64(prev.booster) * sign
			if prev.upper && a.capDiff {
				s += sign * capsIncrement
			}
			if prev.elongated {
				s *= 1.5 // "sooooo bad" is worse than "so bad"
			}
			valence += s * [3]float64{1, 0.95, 0.9}[k]
		}
	}
	switch {
	case r[0].flags&flagNegator != 0:
		valence *= negationScalar
	case r[1].flags&flagNever != 0 && r[0].flags&flagSoThis != 0:
		valence *= 1.25
	case r[1].flags&flagWithout != 0 && r[0].flags&flagDoubt != 0:
	case r[1].flags&flagNegator != 0:
		valence *= negationScalar
	case r[2].flags&flagNever != 0 && (r[1].flags|r[0].flags)&flagSoThis != 0:
		valence *= 1.25
	case r[2].flags&flagWithout != 0 && (r[1].flags|r[0].flags)&flagDoubt != 0:
	case r[2].flags&flagNegator != 0:
		valence *= negationScalar
	}
	if r[0].flags&flagLeast != 0 && r[1].flags&flagAtVery == 0 {
		valence *= negationScalar
	}
	return valence
}

// add puts a valence into the running sums and returns what it added.
func (a *analysis) add(v float64) float64 {
	if v == 0 {
		return 0
	}
	if a.afterBut {
		a.sumAfterBut += v
	} else {
		a.sum += v
	}
	if v > 0 {
		a.posSum += v + 1
	} else {
		a.negSum += -v + 1
	}
	return v
}

func (a *analysis) undo(v float64) {
	if a.afterBut {
		a.sumAfterBut -= v
	} else {
		a.sum -= v
	}
	if v > 0 {
		a.posSum -= v + 1
	} else {
		a.negSum -= -v + 1
	}
}

// compound is VADER's normalised score in [-1, 1].
func (a *analysis) compound() float64 {
	sum := a.sum
	if a.afterBut {
		sum = 0.5*a.sum + 1.5*a.sumAfterBut
	}
	emphasis := float64(min(a.nExclaim, 4)) * 0.292
	if a.nQuest > 1 {
		if a.nQuest <= 3 {
			emphasis += float64(a.nQuest) * 0.18
		} else {
			emphasis += 0.96
		}
	}
	switch {
	case sum > 0:
		sum += emphasis
	case sum < 0:
		sum -= emphasis
	}
	c := sum / math.Sqrt(sum*sum+vaderAlpha)
	return max(-1, min(1, c))
}

// tokenFeature adds a unigram and bigram for a non-word token.
func (a *analysis) tokenFeature(h uint64) {
	if !a.hashed {
		return
	}
	a.feature(groupWord, mix(h^saltUnigram))
	a.feature(groupWord, pairKey(a.prevToken, h)^saltBigram)
	a.prevToken = h
}

// unigram counts a word for the model's coverage, or records it when
// collecting features for training.
func (a *analysis) unigram(f uint32) {
	switch {
	case a.vec != nil:
		a.vec.Unigrams = append(a.vec.Unigrams, f)
	case a.model != nil && a.model.known != nil:
		a.words++
		if a.model.knows(f) {
			a.known++
		}
	}
}

// coverage is the share of the text's words the model saw in training; 1
// for a model without a known-word set or a text without words.
func (a *analysis) coverage() float64 {
	if a.words == 0 {
		return 1
	}
	return float64(a.known) / float64(a.words)
}

// wordFeatures adds a word's unigram, bigram, negated form and character
// n-grams.
func (a *analysis) wordFeatures(t *token, info *wordInfo, norm []byte) {
	h := t.hash
	a.tokenFeature(h)
	if t.kind == tokWord {
		a.unigram(uint32(mix(h ^ saltUnigram)))
	}
	if a.negScope > 0 && info.flags&flagNegator == 0 {
		a.feature(groupWord, mix(h^saltNegated))
		a.negScope--
	}
	if t.elongated {
		a.feature(groupWord, mix(hashElong^saltUnigram))
	}
	if t.upper && a.capDiff {
		a.feature(groupWord, mix(hashCaps^saltUnigram))
	}
	if t.kind == tokEmoji || t.kind == tokEmoticon || len(norm) < 2 {
		return
	}
	a.charGrams(norm)
}

// charGrams adds the 3- to 5-byte grams of "^word$", which carry
// misspellings and word forms the unigrams miss.
func (a *analysis) charGrams(norm []byte) {
	n := len(norm) + 2
	at := func(i int) byte {
		switch {
		case i == 0:
			return '^'
		case i == n-1:
			return '$'
		}
		return norm[i-1]
	}
	for size := 3; size <= 5; size++ {
		for i := 0; i+size <= n; i++ {
			h := uint64(fnvOffset64) ^ uint64(size)
			for k := i; k < i+size; k++ {
				h = fnvByte(h, at(k))
			}
			a.feature(groupChar, mix(h^saltChar))
		}
	}
}

// feature adds one hashed feature: straight into the logits when scoring,
// into the vector when training.
func (a *analysis) feature(group int, h uint64) {
	a.count[group]++
	if a.vec != nil {
		if group == groupWord {
			a.vec.Words = append(a.vec.Words, uint32(h))
		} else {
			a.vec.Chars = append(a.vec.Chars, uint32(h))
		}
		return
	}
	w := &a.model.rows[uint32(h)&a.model.mask]
	acc := &a.acc[group]
	acc[0] += w[0]
	acc[1] += w[1]
	acc[2] += w[2]
}

// dense fills the lexicon and signal features.
func (a *analysis) dense(d *[NumDense]float32, compound float64) {
	*d = [NumDense]float32{
		float32(compound),
		float32(math.Tanh(a.posSum / 4)),
		float32(math.Tanh(a.negSum / 4)),
		float32(min(a.nExclaim, 4)) / 4,
		float32(min(a.nQuest, 3)) / 3,
		b2f(a.capsWords > 0),
		b2f(a.afterBut),
		b2f(a.urgency != 0),
		float32(toxicityScore(a.toxic, a.capsWords)),
		b2f(a.negations > 0),
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// hasLower reports whether a text has any lower-case ASCII letter; a text
// in capitals throughout is not emphasising any one word.
func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}
