package score

import (
	"unicode"
	"unicode/utf8"
)

// replyToken is one word, link, handle, number or symbol of a reply, with
// its place in the reply's sentence and clause structure.
type replyToken struct {
	start, end int32 // byte offsets in the reply
	id         int32 // cue vocabulary id, or noWord
	sentence   int32 // index of the sentence holding the token
	flags      tokenFlags
}

type tokenFlags uint16

const (
	tfURL          tokenFlags = 1 << iota
	tfHandle                  // @name
	tfNumber                  // digits, with separators
	tfEmail                   // name@host.tld
	tfClauseStart             // first word of a sentence or clause, after greetings and softeners
	tfQuestion                // the token's sentence ends with a question mark
	tfThreadMarker            // "1/2", "(2/3)": the reply continues in another post
)

// noWord is the id of a word that no cue uses.
const noWord = -1

// replyText is a reply split into tokens and sentences.
type replyText struct {
	text   string
	tokens []replyToken
}

// maxKeyBytes bounds the lowered form of one word looked up in the cue
// vocabulary; longer words are never cues.
const maxKeyBytes = 32

// tokenize splits text in one pass. Words are looked up in vocab lowered,
// with typographic apostrophes folded, so "We’ll" finds "we'll".
func tokenize(text string, vocab *wordTable, softeners []bool, dst []replyToken) replyText {
	rt := replyText{text: text, tokens: dst[:0]}
	var key [maxKeyBytes]byte
	sentence := int32(0)
	sentenceStart := 0 // index in tokens of the sentence's first token
	clauseOpen := true // the next word starts a clause
	endSentence := func(question bool) {
		if question {
			for i := sentenceStart; i < len(rt.tokens); i++ {
				rt.tokens[i].flags |= tfQuestion
			}
		}
		if len(rt.tokens) > sentenceStart {
			sentence++
			sentenceStart = len(rt.tokens)
		}
		clauseOpen = true
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c == ' ' {
			i++
			continue
		}
		if isASCIILetter(c) {
			// Most words are plain ASCII letters: hashed as they are
			// scanned, without the general path below.
			if end, h, ok := plainWord(text, i); ok {
				t := replyToken{start: int32(i), end: int32(end), id: noWord, sentence: sentence}
				if id, found := vocab.get(h); found {
					t.id = id
				}
				if clauseOpen {
					t.flags |= tfClauseStart
					clauseOpen = t.id != noWord && softeners[t.id]
				}
				rt.tokens = append(rt.tokens, t)
				i = end
				continue
			}
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case r == '?':
			endSentence(true)
			i += size
		case r == '.' || r == '!' || r == '\n' || r == ';' || r == '…':
			endSentence(false)
			i += size
		case r == ',' || r == ':' || r == '(' || r == ')' || r == '–' || r == '—' || r == '"' || r == '“' || r == '”':
			clauseOpen = true
			i += size
		case r == '-' && (i+1 >= len(text) || text[i+1] == ' ') && (i == 0 || text[i-1] == ' '):
			clauseOpen = true // a dash between spaces, not a hyphen
			i += size
		case r == '@' && i+1 < len(text) && isHandleByte(text[i+1]), isWordStart(r):
			end, flags := scanWord(text, i)
			t := replyToken{start: int32(i), end: int32(end), id: noWord, sentence: sentence, flags: flags}
			if flags&(tfURL|tfHandle|tfEmail|tfNumber|tfThreadMarker) == 0 {
				if n := foldKey(key[:], text[i:end]); n > 0 {
					if id, ok := vocab.get(cueHash(key[:n])); ok {
						t.id = id
					}
				}
				if clauseOpen {
					t.flags |= tfClauseStart
					// A greeting or softener ("Hi Dan,", "please", "just")
					// leaves the clause open for the word after it.
					clauseOpen = t.id != noWord && softeners[t.id]
				}
			}
			rt.tokens = append(rt.tokens, t)
			i = end
		case unicode.IsSymbol(r):
			t := replyToken{start: int32(i), end: int32(i + size), id: noWord, sentence: sentence}
			if id, ok := vocab.get(cueHash([]byte(text[i : i+size]))); ok {
				t.id = id
			}
			rt.tokens = append(rt.tokens, t)
			i += size
		default:
			i += size
		}
	}
	endSentence(false)
	return rt
}

func isWordStart(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// plainWord scans a word of ASCII letters, with inner apostrophes and
// hyphens ("we'll", "follow-up"), and returns its end and the cueHash of
// its lowered form. ok is false when the word needs the general path: it
// has digits, non-ASCII letters, or runs into a link, address or code.
func plainWord(text string, i int) (end int, h uint64, ok bool) {
	h = 14695981039346656037
	n := 0
	for end = i; end < len(text); end++ {
		c := text[end]
		switch {
		case isASCIILetter(c):
			c |= 0x20
		case (c == '\'' || c == '-') && end+1 < len(text) && isASCIILetter(text[end+1]):
		case c == '.' || c == '/' || c == '@' || c == ':' || c == '_' || c >= utf8.RuneSelf || c >= '0' && c <= '9':
			if c == '.' && (end+1 >= len(text) || text[end+1] == ' ' || text[end+1] == '\n' || text[end+1] == '.') {
				return end, h, true // a full stop
			}
			if c == ':' && (end+1 >= len(text) || text[end+1] == ' ') {
				return end, h, true
			}
			return 0, 0, false
		default:
			return end, h, true
		}
		if n++; n > maxKeyBytes {
			h = 0 // too long to be a cue; 0 is never a key
		}
		if h != 0 {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	return end, h, true
}

// scanWord finds the end of the word starting at i and what kind it is.
// It never looks back, so tokenizing stays linear.
func scanWord(text string, i int) (int, tokenFlags) {
	end := i
	letters, digits, slashes, ats, dots := 0, 0, 0, 0, 0
	if text[i] == '@' {
		end++ // a handle: the @ belongs to it whatever follows
	}
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		switch {
		case unicode.IsLetter(r) || r == '_':
			letters++
		case unicode.IsDigit(r):
			digits++
		case r == '\'' || r == '’' || r == '-' || r == '.' || r == '/' || r == '@' || r == ':' || r == '%' || r == '+' || r == '=' || r == '&' || r == '?' || r == '#' || r == '~':
			// Inner punctuation belongs to the word only when a letter or
			// digit follows it ("we'll", "t.co/x", "a@b.com"), or inside a link.
			next, _ := utf8.DecodeRuneInString(text[end+size:])
			inLink := slashes >= 2 || hasPrefixFold(text[i:end], "http") || hasPrefixFold(text[i:end], "www.")
			if !(isWordStart(next) || inLink && next != utf8.RuneError && !unicode.IsSpace(next)) || (r == '?' || r == '#' || r == '&' || r == '=' || r == '~' || r == '%' || r == '+') && !inLink {
				return end, replyWordFlags(text, i, end, letters, digits, slashes, ats, dots)
			}
			switch r {
			case '/':
				slashes++
			case '@':
				ats++
			case '.':
				dots++
			}
		default:
			return end, replyWordFlags(text, i, end, letters, digits, slashes, ats, dots)
		}
		end += size
	}
	return end, replyWordFlags(text, i, end, letters, digits, slashes, ats, dots)
}

func replyWordFlags(text string, start, end, letters, digits, slashes, ats, dots int) tokenFlags {
	w := text[start:end]
	switch {
	case w[0] == '@':
		return tfHandle
	case hasPrefixFold(w, "http") && slashes >= 2, hasPrefixFold(w, "www."), slashes >= 1 && dots >= 1 && letters > 0 && ats == 0:
		return tfURL
	case ats == 1 && dots >= 1:
		return tfEmail
	case end-start == 3 && w[1] == '/' && w[0] >= '1' && w[0] <= w[2] && w[2] <= '9':
		return tfThreadMarker
	case digits > 0 && letters == 0:
		return tfNumber
	}
	return 0
}

// cueHash is FNV-1a: words are looked up by hash, as the scorer's own
// vocabulary is, which is cheaper than by string.
func cueHash(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// foldKey writes the lowered word into key, folding ’ to ', and returns its
// length, or 0 when the word is too long to be a cue.
func foldKey(key []byte, w string) int {
	n := 0
	for _, r := range w {
		switch {
		case r == '’':
			r = '\''
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		default:
			r = unicode.ToLower(r)
		}
		if n+utf8.RuneLen(r) > len(key) {
			return 0
		}
		n += utf8.EncodeRune(key[n:], r)
	}
	return n
}
