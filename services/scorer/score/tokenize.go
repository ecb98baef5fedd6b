package score

import (
	"unicode"
	"unicode/utf8"
)

// tokenKind says how a token takes part in scoring.
type tokenKind uint8

const (
	tokWord tokenKind = iota
	tokNumber
	tokHashtag // the word of a #hashtag
	tokHandle
	tokURL
	tokEmoticon
	tokEmoji
	tokExclaim
	tokQuestion
	tokBreak // punctuation that ends a clause, and so a negation's reach
)

// maxNorm bounds the normalised bytes kept per word for character n-grams;
// the word hash itself always covers the whole word.
const maxNorm = 32

// token is one unit of text. Its normalised bytes are the first normLen
// bytes of the scanner's buffer until the next call to next (an offset, not a
// slice, so the scanner does not escape to the heap).
type token struct {
	kind       tokenKind
	start, end int    // byte offsets into the text
	hash       uint64 // lower-cased, runs of a letter cut to two
	hashShort  uint64 // runs cut to one; differs from hash only when elongated
	elongated  bool   // had a run of three or more of one letter ("sooo")
	upper      bool   // at least two letters, all capitals
	negSuffix  bool   // ends in "n't"
	normLen    int
	handle     uint64 // for handles, the lower-cased name
}

// Hashes of the placeholders that stand for tokens whose exact spelling
// carries no sentiment.
var (
	hashNum    = hashString("<num>")
	hashUser   = hashString("<user>")
	hashURL    = hashString("<url>")
	hashExcl   = hashString("!")
	hashQuest  = hashString("?")
	hashElong  = hashString("<elong>")
	hashCaps   = hashString("<caps>")
	hashHashTg = hashString("<hashtag>")
)

// scanner splits text into tokens without allocating. The zero value plus
// the text is ready to use.
type scanner struct {
	text     string
	pos      int
	chunkEnd int         // end of the current whitespace-delimited chunk
	vocab    *vocabulary // recognises emoticons; nil when compiling keywords
	buf      [maxNorm]byte
}

// next fills t with the next token and reports whether there was one.
func (s *scanner) next(t *token) bool {
	for {
		if s.pos >= s.chunkEnd {
			if !s.nextChunk() {
				return false
			}
			if s.wholeChunk(t) {
				return true
			}
		}
		if s.inChunk(t) {
			return true
		}
	}
}

// nextChunk skips white space and finds the end of the next chunk.
func (s *scanner) nextChunk() bool {
	text := s.text
	i := s.pos
	for i < len(text) {
		c := text[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			break
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	if i >= len(text) {
		s.pos, s.chunkEnd = len(text), len(text)
		return false
	}
	j := i
	for j < len(text) {
		c := text[j]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			break
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += size
			continue
		}
		j++
	}
	s.pos, s.chunkEnd = i, j
	return true
}

// wholeChunk recognises tokens that span a whole chunk: URLs and emoticons.
func (s *scanner) wholeChunk(t *token) bool {
	chunk := s.text[s.pos:s.chunkEnd]
	if hasPrefixFold(chunk, "http://") || hasPrefixFold(chunk, "https://") || hasPrefixFold(chunk, "www.") {
		*t = token{kind: tokURL, start: s.pos, end: s.chunkEnd, hash: hashURL, hashShort: hashURL}
		s.pos = s.chunkEnd
		return true
	}
	if len(chunk) < 2 || len(chunk) > 8 || !hasPunct(chunk) {
		return false
	}
	h := uint64(fnvOffset64)
	for i := 0; i < len(chunk); i++ {
		h = fnvByte(h, lowerASCII(chunk[i]))
	}
	if s.vocab == nil || s.vocab.words[h].flags&flagEmoticon == 0 {
		return false
	}
	*t = token{kind: tokEmoticon, start: s.pos, end: s.chunkEnd, hash: h, hashShort: h}
	s.pos = s.chunkEnd
	return true
}

// inChunk reads one token inside the current chunk, or skips a byte that
// does not start one and reports false.
func (s *scanner) inChunk(t *token) bool {
	text := s.text[:s.chunkEnd]
	i := s.pos
	c := text[i]
	switch {
	case c == '@' && i+1 < len(text) && isHandleByte(text[i+1]):
		j := i + 1
		for j < len(text) && isHandleByte(text[j]) {
			j++
		}
		h := uint64(fnvOffset64)
		for k := i; k < j; k++ {
			h = fnvByte(h, lowerASCII(text[k]))
		}
		*t = token{kind: tokHandle, start: i, end: j, hash: hashUser, hashShort: hashUser, handle: h}
		s.pos = j
		return true
	case c == '#' && i+1 < len(text) && startsWord(text[i+1:]):
		s.word(t, i+1)
		t.kind = tokHashtag
		t.start = i
		return true
	case c == '!':
		*t = token{kind: tokExclaim, start: i, end: i + 1, hash: hashExcl, hashShort: hashExcl}
		s.pos = i + 1
		return true
	case c == '?':
		*t = token{kind: tokQuestion, start: i, end: i + 1, hash: hashQuest, hashShort: hashQuest}
		s.pos = i + 1
		return true
	case c == '.' || c == ',' || c == ';' || c == ':' || c == '(' || c == ')':
		*t = token{kind: tokBreak, start: i, end: i + 1}
		s.pos = i + 1
		return true
	case c == '&':
		// Tweets arrive HTML-escaped: "&amp;" is one symbol, not the word "amp".
		if n := entityLen(text[i:]); n > 0 {
			s.pos = i + n
			return false
		}
	case startsWord(text[i:]):
		s.word(t, i)
		return true
	case c >= utf8.RuneSelf:
		return s.symbol(t, i)
	}
	s.pos = i + 1
	return false
}

// word reads a word starting at i: letters, digits and inner apostrophes.
func (s *scanner) word(t *token, i int) {
	text := s.text[:s.chunkEnd]
	*t = token{kind: tokWord, start: i}
	h, hs := uint64(fnvOffset64), uint64(fnvOffset64)
	var last rune
	run, n, upper, lower, digits, letters := 0, 0, 0, 0, 0, 0
	j := i
	for j < len(text) {
		r, size := rune(text[j]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[j:])
		}
		if r == '\'' || r == '’' {
			// An apostrophe belongs to the word only between letters.
			if j+size >= len(text) || !startsWord(text[j+size:]) {
				break
			}
			r = '\''
		} else if !isWordRune(r) {
			break
		}
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf && unicode.IsUpper(r):
			upper++
			letters++
		default:
			lower++
			letters++
		}
		lr := r
		if r < utf8.RuneSelf {
			lr = rune(lowerASCII(byte(r)))
		} else {
			lr = unicode.ToLower(r)
		}
		if lr == last {
			run++
		} else {
			run = 1
		}
		last = lr
		if run >= 3 {
			t.elongated = true
		}
		if run <= 2 {
			h, n = s.addRune(h, lr, n)
		}
		if run == 1 {
			hs = hashRune(hs, lr)
		}
		j += size
	}
	s.pos = j
	t.end = j
	t.hash, t.hashShort = h, hs
	if !t.elongated {
		t.hashShort = h
	}
	t.upper = upper >= 2 && lower == 0
	t.normLen = n
	t.negSuffix = n >= 3 && s.buf[n-3] == 'n' && s.buf[n-2] == '\'' && s.buf[n-1] == 't'
	if letters == 0 && digits > 0 {
		t.kind = tokNumber
		t.hash, t.hashShort = hashNum, hashNum
	}
}

// addRune hashes a lower-cased rune and keeps its bytes while they fit.
func (s *scanner) addRune(h uint64, r rune, n int) (uint64, int) {
	if r < utf8.RuneSelf {
		if n < maxNorm {
			s.buf[n] = byte(r)
			n++
		}
		return fnvByte(h, byte(r)), n
	}
	var tmp [utf8.UTFMax]byte
	size := utf8.EncodeRune(tmp[:], r)
	for k := 0; k < size; k++ {
		h = fnvByte(h, tmp[k])
	}
	if n+size <= maxNorm {
		copy(s.buf[n:], tmp[:size])
		n += size
	}
	return h, n
}

func hashRune(h uint64, r rune) uint64 {
	if r < utf8.RuneSelf {
		return fnvByte(h, byte(r))
	}
	var tmp [utf8.UTFMax]byte
	size := utf8.EncodeRune(tmp[:], r)
	for k := 0; k < size; k++ {
		h = fnvByte(h, tmp[k])
	}
	return h
}

// symbol reads a non-letter rune; emoji become tokens, modifiers that only
// change an emoji's look (variation selectors, skin tones, joiners and what
// they join) are skipped so "👍🏽" scores like "👍".
func (s *scanner) symbol(t *token, i int) bool {
	text := s.text[:s.chunkEnd]
	r, size := utf8.DecodeRuneInString(text[i:])
	j := i + size
	if r == utf8.RuneError || isEmojiModifier(r) || unicode.IsPunct(r) {
		s.pos = j
		return false
	}
	for j < len(text) {
		m, msize := utf8.DecodeRuneInString(text[j:])
		if m == 0x200D { // zero-width joiner: swallow the joined rune too
			j += msize
			if j < len(text) {
				_, jsize := utf8.DecodeRuneInString(text[j:])
				j += jsize
			}
			continue
		}
		if !isEmojiModifier(m) {
			break
		}
		j += msize
	}
	h := uint64(fnvOffset64)
	for k := i; k < i+size; k++ {
		h = fnvByte(h, text[k])
	}
	*t = token{kind: tokEmoji, start: i, end: j, hash: h, hashShort: h}
	s.pos = j
	return true
}

func isEmojiModifier(r rune) bool {
	return r == 0xFE0F || r == 0xFE0E || (r >= 0x1F3FB && r <= 0x1F3FF) || r == 0x20E3
}

// emojiKey reduces an emoji from the lexicon to the single rune the scanner
// looks up, or "" for sequences it cannot match (flags, keycaps).
func emojiKey(e string) string {
	var base rune
	count := 0
	for _, r := range e {
		if isEmojiModifier(r) {
			continue
		}
		if r == 0x200D {
			break
		}
		base = r
		count++
	}
	if count != 1 {
		return ""
	}
	return string(base)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func startsWord(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if c < utf8.RuneSelf {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isHandleByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// hasPunct reports whether a chunk has an ASCII symbol, as every emoticon does.
func hasPunct(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return true
		}
	}
	return false
}

// entityLen is the length of an HTML entity at the start of s, or 0.
func entityLen(s string) int {
	for _, e := range [...]string{"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"} {
		if len(s) >= len(e) && s[:len(e)] == e {
			return len(e)
		}
	}
	return 0
}
