package score

import (
	"bufio"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// The VADER lexicons (Hutto & Gilbert, ICWSM 2014; MIT licence in
// data/LICENSE-vader.txt) are the general, brand-independent half of the
// scorer.
var (
	//go:embed data/vader_lexicon.txt
	vaderLexicon string
	//go:embed data/emoji_utf8_lexicon.txt
	emojiLexicon string
)

// VADER's constants, kept so the lexicon path scores like the reference.
const (
	boosterIncrement = 0.293
	capsIncrement    = 0.733
	negationScalar   = -0.74
	vaderAlpha       = 15
)

// wordFlags are the grammatical roles the lexicon scorer looks back for.
type wordFlags uint16

const (
	flagInLexicon wordFlags = 1 << iota
	flagNegator
	flagNever
	flagSoThis
	flagWithout
	flagDoubt
	flagLeast
	flagAtVery
	flagBut
	flagEmoticon
	flagHead2 // first word of a two-word phrase
	flagHead3 // first word of a three-word phrase
	flagApology
	flagOffer
)

// wordInfo is everything known about one normalised word; a single lookup
// per token fetches it.
type wordInfo struct {
	topics  uint64
	valence float32
	booster float32
	toxic   float32
	urgency urgencyMask
	flags   wordFlags
}

// phraseInfo is what a two- or three-word sequence contributes.
type phraseInfo struct {
	topics  uint64
	valence float32
	toxic   float32
	urgency urgencyMask
	flags   wordFlags
}

var negators = strings.Fields(`aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't
couldn't daren't didn't doesn't dont hadnt hasnt havent isnt mightnt mustnt neither don't hadn't
hasn't haven't isn't mightn't mustn't neednt needn't never none nope nor not nothing nowhere oughtnt
shant shouldnt uhuh wasnt werent oughtn't shan't shouldn't wasn't weren't without wont wouldnt won't
wouldn't rarely seldom despite no`)

var boostUp = strings.Fields(`absolutely amazingly awfully completely considerable considerably
decidedly deeply effing enormous enormously entirely especially exceptional exceptionally extreme
extremely fabulously flipping flippin frackin fracking fricking frickin frigging friggin fully fuckin
fucking fuggin fugging greatly hella highly hugely incredible incredibly intensely major majorly more
most particularly purely quite really remarkably so substantially thoroughly total totally tremendous
tremendously uber unbelievably unusually utter utterly very super soo`)

var boostDown = strings.Fields(`almost barely hardly kinda kindof kind-of less little marginal
marginally occasional occasionally partly scarce scarcely slight slightly somewhat sorta sortof sort-of`)

// vocabulary is the word and phrase tables of one Scorer.
type vocabulary struct {
	words   map[uint64]wordInfo
	phrases map[uint64]phraseInfo
}

func newVocabulary() (*vocabulary, error) {
	v := &vocabulary{words: make(map[uint64]wordInfo, 12000), phrases: make(map[uint64]phraseInfo, 512)}
	if err := v.loadVader(); err != nil {
		return nil, err
	}
	v.loadEmoji()
	for _, w := range negators {
		v.setFlag(w, flagNegator)
	}
	for _, w := range boostUp {
		v.word(w, func(i *wordInfo) { i.booster = boosterIncrement })
	}
	for _, w := range boostDown {
		v.word(w, func(i *wordInfo) { i.booster = -boosterIncrement })
	}
	v.setFlag("never", flagNever)
	v.setFlag("so", flagSoThis)
	v.setFlag("this", flagSoThis)
	v.setFlag("without", flagWithout)
	v.setFlag("doubt", flagDoubt)
	v.setFlag("least", flagLeast)
	v.setFlag("at", flagAtVery)
	v.setFlag("very", flagAtVery)
	v.setFlag("but", flagBut)
	return v, nil
}

// word applies fn to the entry of a single normalised word.
func (v *vocabulary) word(w string, fn func(*wordInfo)) {
	v.word1(hashString(w), fn)
}

// word1 applies fn to the entry of a word given by its hash.
func (v *vocabulary) word1(h uint64, fn func(*wordInfo)) {
	info := v.words[h]
	fn(&info)
	v.words[h] = info
}

func (v *vocabulary) setFlag(w string, f wordFlags) {
	v.word(w, func(i *wordInfo) { i.flags |= f })
}

// phrase applies fn to the entry of a word sequence given as normalised word
// hashes, marking its first word so the scanner only looks up sequences that
// can match.
func (v *vocabulary) phrase(hashes []uint64, fn func(*phraseInfo)) {
	var key uint64
	switch len(hashes) {
	case 2:
		key = pairKey(hashes[0], hashes[1])
		v.markHead(hashes[0], flagHead2)
	case 3:
		key = tripleKey(hashes[0], hashes[1], hashes[2])
		v.markHead(hashes[0], flagHead3)
	default:
		return
	}
	info := v.phrases[key]
	fn(&info)
	v.phrases[key] = info
}

func (v *vocabulary) markHead(h uint64, f wordFlags) {
	info := v.words[h]
	info.flags |= f
	v.words[h] = info
}

func (v *vocabulary) loadVader() error {
	sc := bufio.NewScanner(strings.NewReader(vaderLexicon))
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 2 {
			continue
		}
		val, err := strconv.ParseFloat(fields[1], 32)
		if err != nil {
			return fmt.Errorf("vader lexicon line %d: %w", line, err)
		}
		token := fields[0]
		if hashes := wordHashes(token); len(hashes) > 1 && !isEmoticonLike(token) {
			v.phrase(hashes, func(p *phraseInfo) { p.valence = float32(val) })
			continue
		}
		flags := flagInLexicon
		if isEmoticonLike(token) {
			flags |= flagEmoticon
		}
		v.word(token, func(i *wordInfo) {
			i.valence = float32(val)
			i.flags |= flags
		})
	}
	return sc.Err()
}

// loadEmoji gives each emoji the summed valence of the words describing it,
// which is how VADER scores emoji.
func (v *vocabulary) loadEmoji() {
	for _, line := range strings.Split(emojiLexicon, "\n") {
		emoji, desc, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
		if !ok {
			continue
		}
		key := emojiKey(emoji)
		if key == "" {
			continue
		}
		var val float32
		for _, w := range strings.Fields(strings.ToLower(desc)) {
			val += v.words[hashString(w)].valence
		}
		h := hashString(key)
		if _, seen := v.words[h]; seen {
			continue
		}
		v.words[h] = wordInfo{valence: val, flags: flagInLexicon}
	}
}

// isEmoticonLike reports whether a lexicon token is made of punctuation, as
// emoticons are, rather than letters.
func isEmoticonLike(s string) bool {
	for _, r := range s {
		if !isWordRune(r) && r != '\'' && r != ' ' && r != '-' {
			return true
		}
	}
	return false
}

// wordHashes normalises text the way the scanner does and returns its word
// hashes; it is how keyword lists are compiled.
func wordHashes(s string) []uint64 {
	var out []uint64
	sc := scanner{text: s}
	var t token
	for sc.next(&t) {
		switch t.kind {
		case tokWord, tokHashtag, tokNumber:
			out = append(out, t.hash)
		}
	}
	return out
}
