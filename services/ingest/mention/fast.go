package mention

import (
	"encoding/json"
	"strconv"
	"time"
)

// decodeFast decodes the common shape of a mention's JSON without
// encoding/json's reflection, the larger part of what a one-mention request
// cost to decode. It takes only what it can decode exactly as Decode's
// decoder would (DisallowUnknownFields, one value): the fields spelled as
// declared, strings, plain integers, true and false, and nothing but white
// space after the object. Anything else (a null, a key in another case or
// with an escape, a float, a syntax error) returns false, and the caller
// decodes the line again with encoding/json, which also words the errors;
// FuzzDecodeFastAgreesWithEncodingJSON holds the two together. line must
// be valid UTF-8 (Decode checks the whole body first).
func decodeFast(line []byte, j *JSON) bool {
	p := fastParser{b: line}
	if !p.object(j.field) {
		return false
	}
	p.space()
	return p.i == len(p.b)
}

// field decodes the value of the mention's key k.
func (j *JSON) field(p *fastParser, k []byte) bool {
	switch string(k) {
	case "platform":
		return p.str(&j.Platform)
	case "platform_id":
		return p.str(&j.PlatformID)
	case "brand":
		return p.str(&j.Brand)
	case "author":
		return p.object(j.Author.field)
	case "text":
		return p.str(&j.Text)
	case "language":
		return p.str(&j.Language)
	case "created_at":
		// encoding/json hands time.Time the literal as it is, quotes
		// and escapes included.
		raw, _, ok := p.rawString()
		if !ok {
			return false
		}
		if j.CreatedAt == nil {
			j.CreatedAt = new(time.Time)
		}
		return j.CreatedAt.UnmarshalJSON(raw) == nil
	case "url":
		return p.str(&j.URL)
	case "reply_to_id":
		return p.str(&j.ReplyToID)
	case "quote_of_id":
		return p.str(&j.QuoteOfID)
	case "reply_to_author_id":
		return p.str(&j.ReplyToAuthorID)
	case "conversation_id":
		return p.str(&j.ConversationID)
	case "visibility":
		return p.str(&j.Visibility)
	case "brand_reply":
		return p.boolean(&j.BrandReply)
	case "metrics":
		if j.Metrics == nil {
			j.Metrics = &MetricsJSON{}
		}
		return p.object(j.Metrics.field)
	}
	return false
}

func (a *AuthorJSON) field(p *fastParser, k []byte) bool {
	switch string(k) {
	case "id":
		return p.str(&a.ID)
	case "handle":
		return p.str(&a.Handle)
	case "name":
		return p.str(&a.Name)
	case "followers":
		return p.integer(&a.Followers)
	case "following":
		return p.integer(&a.Following)
	case "verified":
		return p.boolean(&a.Verified)
	}
	return false
}

func (m *MetricsJSON) field(p *fastParser, k []byte) bool {
	switch string(k) {
	case "reposts":
		return p.integer(&m.Reposts)
	case "likes":
		return p.integer(&m.Likes)
	case "replies":
		return p.integer(&m.Replies)
	case "quotes":
		return p.integer(&m.Quotes)
	}
	return false
}

// fastParser reads JSON tokens from b at i; every method returns false on
// anything outside decodeFast's shape.
type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips white space and then c.
func (p *fastParser) consume(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, each value read by field.
func (p *fastParser) object(field func(*fastParser, []byte) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	for {
		k, ok := p.key()
		if !ok || !p.consume(':') {
			return false
		}
		if !field(p, k) {
			return false
		}
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

// rawString reads a string with no control character, and returns it
// with its quotes, and whether it holds an escape.
func (p *fastParser) rawString() (raw []byte, escaped, ok bool) {
	if !p.consume('"') {
		return nil, false, false
	}
	start := p.i - 1
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return p.b[start:p.i], escaped, true
		case c == '\\':
			escaped = true
			p.i++ // the escaped byte cannot end the string
		case c < 0x20:
			return nil, false, false
		}
	}
	return nil, false, false
}

// key reads an object's key, which must be spelled without escapes.
func (p *fastParser) key() ([]byte, bool) {
	raw, escaped, ok := p.rawString()
	if !ok || escaped {
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

// str reads a string value. One with escapes is unquoted by encoding/json
// itself (a string alone costs it little), so every escape, \u and
// surrogate reads exactly as it would in the whole object.
func (p *fastParser) str(dst *string) bool {
	raw, escaped, ok := p.rawString()
	switch {
	case !ok:
		return false
	case escaped:
		return json.Unmarshal(raw, dst) == nil
	}
	*dst = string(raw[1 : len(raw)-1])
	return true
}

// integer reads -?(0|[1-9][0-9]*) that fits an int64, and nothing that
// would go on as a fraction or an exponent.
func (p *fastParser) integer(dst *int64) bool {
	p.space()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || n > 1 && p.b[digits] == '0' {
		return false
	}
	if p.i < len(p.b) {
		if c := p.b[p.i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	v, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	if err != nil {
		return false
	}
	*dst = v
	return true
}

func (p *fastParser) boolean(dst *bool) bool {
	p.space()
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		*dst, p.i = true, p.i+4
	case len(rest) >= 5 && string(rest[:5]) == "false":
		*dst, p.i = false, p.i+5
	default:
		return false
	}
	return true
}
