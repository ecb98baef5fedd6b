// Package mention turns the generic JSON form of a mention into a validated
// firebreakv1.Mention. It does no I/O; ingest's HTTP and gRPC edges, replay
// and tests share it, so a mention is judged the same way wherever it enters.
package mention

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// Limits on what a mention may hold. Anything beyond them is refused rather
// than truncated, so no mention is silently changed.
const (
	MaxTextBytes    = 16 << 10
	MaxIDBytes      = 256
	MaxFollowers    = 10_000_000_000
	MaxFutureSkew   = time.Hour
	MaxBrandLength  = 64
	MaxHandleLength = 256
	// MaxURLBytes bounds a post's address. No real one is near it; with
	// the others it keeps a mention far below the mentions stream's
	// message size limit (bus.DefaultLimits).
	MaxURLBytes = 2 << 10
)

// JSON is the generic wire form of a mention, as posted to /v1/mentions.
type JSON struct {
	Platform        string       `json:"platform"`
	PlatformID      string       `json:"platform_id"`
	Brand           string       `json:"brand"`
	Author          AuthorJSON   `json:"author"`
	Text            string       `json:"text"`
	Language        string       `json:"language,omitempty"`
	CreatedAt       *time.Time   `json:"created_at,omitempty"`
	URL             string       `json:"url,omitempty"`
	ReplyToID       string       `json:"reply_to_id,omitempty"`
	QuoteOfID       string       `json:"quote_of_id,omitempty"`
	ReplyToAuthorID string       `json:"reply_to_author_id,omitempty"`
	ConversationID  string       `json:"conversation_id,omitempty"`
	Visibility      string       `json:"visibility,omitempty"`
	BrandReply      bool         `json:"brand_reply,omitempty"`
	Metrics         *MetricsJSON `json:"metrics,omitempty"`
}

// AuthorJSON is the author part of JSON.
type AuthorJSON struct {
	ID        string `json:"id"`
	Handle    string `json:"handle,omitempty"`
	Name      string `json:"name,omitempty"`
	Followers int64  `json:"followers,omitempty"`
	Following int64  `json:"following,omitempty"`
	Verified  bool   `json:"verified,omitempty"`
}

// MetricsJSON is the engagement part of JSON.
type MetricsJSON struct {
	Reposts int64 `json:"reposts,omitempty"`
	Likes   int64 `json:"likes,omitempty"`
	Replies int64 `json:"replies,omitempty"`
	Quotes  int64 `json:"quotes,omitempty"`
}

// InvalidError says which mention of a batch is wrong and why.
type InvalidError struct {
	Index  int
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("mention %d: %s", e.Index, e.Reason)
}

// ID is the Firebreak id of a platform's post: the same post, the same id.
func ID(p fbv1.Platform, platformID string) string {
	return PlatformName(p) + ":" + platformID
}

// PlatformName is the short lowercase name used in subjects and ids. The
// known platforms are constants: it is asked several times for every
// mention, and deriving the name from the enum's string allocated each
// time.
func PlatformName(p fbv1.Platform) string {
	switch p {
	case fbv1.Platform_PLATFORM_X:
		return "x"
	case fbv1.Platform_PLATFORM_MASTODON:
		return "mastodon"
	case fbv1.Platform_PLATFORM_BLUESKY:
		return "bluesky"
	case fbv1.Platform_PLATFORM_GENERIC:
		return "generic"
	}
	return platformNameOf(p)
}

// platformNameOf derives a platform's name from its enum value's name.
func platformNameOf(p fbv1.Platform) string {
	return strings.ToLower(strings.TrimPrefix(p.String(), "PLATFORM_"))
}

// AuthorKey is the author a mention is about towards its brand, as
// brand/platform/author: the writer, or for a brand reply the author it
// answers. Mentions are partitioned on the bus by it (bus.Names.
// MentionPartition), so an author's mentions and the brand's replies to
// them keep their order; it is the key escalation keeps an author's
// history under.
func AuthorKey(m *fbv1.Mention) string {
	author := m.GetAuthor().GetId()
	if m.GetBrandReply() {
		author = m.GetReplyToAuthorId()
	}
	return m.GetBrand() + "/" + PlatformName(m.GetPlatform()) + "/" + author
}

// ParsePlatform reads "x", "twitter", "mastodon", "bluesky" or "generic".
func ParsePlatform(s string) (fbv1.Platform, bool) {
	switch strings.ToLower(s) {
	case "x", "twitter":
		return fbv1.Platform_PLATFORM_X, true
	case "mastodon":
		return fbv1.Platform_PLATFORM_MASTODON, true
	case "bluesky", "bsky":
		return fbv1.Platform_PLATFORM_BLUESKY, true
	case "generic", "":
		return fbv1.Platform_PLATFORM_GENERIC, true
	}
	return fbv1.Platform_PLATFORM_UNSPECIFIED, false
}

// Decode reads one JSON object, a JSON array of objects, or NDJSON (one
// object per line) and returns the validated mentions. The whole batch is
// refused if any mention is invalid, so a client never has to work out which
// half of its request was taken.
func Decode(body []byte, now time.Time) ([]*fbv1.Mention, error) {
	if !utf8.Valid(body) {
		return nil, &InvalidError{Index: 0, Reason: "body is not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &InvalidError{Index: 0, Reason: "body is empty; send a JSON object, an array of objects, or NDJSON"}
	}
	var raw []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, &InvalidError{Index: 0, Reason: "malformed JSON array: " + err.Error()}
		}
	} else {
		var err error
		if raw, err = splitLines(trimmed); err != nil {
			return nil, err
		}
	}
	out := make([]*fbv1.Mention, 0, len(raw))
	for i, r := range raw {
		var j JSON
		if !decodeFast(r, &j) {
			j = JSON{}
			if err := decodeJSON(r, &j); err != nil {
				return nil, &InvalidError{Index: i, Reason: err.Error()}
			}
		}
		m, err := j.Mention(now)
		if err != nil {
			return nil, &InvalidError{Index: i, Reason: err.Error()}
		}
		out = append(out, m)
	}
	return out, nil
}

// decodeJSON is the general decoding of one mention's JSON: every key
// spelling and escape JSON allows, and an error that says what is wrong.
func decodeJSON(line []byte, j *JSON) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(j); err != nil {
		return errors.New("malformed JSON: " + err.Error())
	}
	if dec.More() {
		return errors.New("more than one JSON value on a line; put one object per line")
	}
	return nil
}

// splitLines reads NDJSON (a single object is NDJSON of one line). The
// lines are slices of body, which Decode only reads: splitting costs no
// copy and no buffer (a scanner's was 64 KiB a request, most of what a
// one-mention request allocated).
func splitLines(body []byte) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		if line[0] != '{' {
			return nil, &InvalidError{Index: len(out), Reason: "each line must be a JSON object"}
		}
		out = append(out, json.RawMessage(line))
	}
	return out, nil
}

// Mention validates j and converts it.
func (j *JSON) Mention(now time.Time) (*fbv1.Mention, error) {
	platform, ok := ParsePlatform(j.Platform)
	if !ok {
		return nil, fmt.Errorf("platform %q is unknown; use x, mastodon, bluesky or generic", j.Platform)
	}
	m := &fbv1.Mention{
		Platform:        platform,
		PlatformId:      j.PlatformID,
		Brand:           j.Brand,
		Text:            j.Text,
		Language:        j.Language,
		Url:             j.URL,
		ReplyToId:       j.ReplyToID,
		QuoteOfId:       j.QuoteOfID,
		ReplyToAuthorId: j.ReplyToAuthorID,
		ConversationId:  j.ConversationID,
		BrandReply:      j.BrandReply,
		Author: &fbv1.Author{
			Id: j.Author.ID, Handle: j.Author.Handle, Name: j.Author.Name,
			Followers: j.Author.Followers, Following: j.Author.Following, Verified: j.Author.Verified,
		},
	}
	switch strings.ToLower(j.Visibility) {
	case "", "public":
		m.Visibility = fbv1.Visibility_VISIBILITY_PUBLIC
	case "private", "direct":
		m.Visibility = fbv1.Visibility_VISIBILITY_PRIVATE
	default:
		return nil, fmt.Errorf("visibility %q is unknown; use public or private", j.Visibility)
	}
	if j.Metrics != nil {
		m.Metrics = &fbv1.PublicMetrics{Reposts: j.Metrics.Reposts, Likes: j.Metrics.Likes, Replies: j.Metrics.Replies, Quotes: j.Metrics.Quotes}
	}
	if j.CreatedAt != nil {
		m.CreatedAt = timestamppb.New(*j.CreatedAt)
	}
	if err := Normalize(m, now); err != nil {
		return nil, err
	}
	return m, nil
}

// Normalize validates a mention from any edge (JSON, gRPC, platform
// adapters), fills its id, defaults and ingest time, and says what is wrong.
func Normalize(m *fbv1.Mention, now time.Time) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Platform == fbv1.Platform_PLATFORM_UNSPECIFIED {
		m.Platform = fbv1.Platform_PLATFORM_GENERIC
	}
	if _, ok := fbv1.Platform_name[int32(m.Platform)]; !ok {
		bad("platform %d is unknown", m.Platform)
	}
	checkID(bad, "platform_id", m.PlatformId)
	if !validBrand(m.Brand) {
		bad("brand %q must be 1-%d lowercase letters, digits, '-' or '_'", m.Brand, MaxBrandLength)
	}
	if m.Author == nil {
		m.Author = &fbv1.Author{}
	}
	checkID(bad, "author.id", m.Author.Id)
	// The posts a mention replies to or quotes name the pile-ons surge
	// detection counts, in keys: bounded like every other id.
	for _, ref := range [][2]string{{"reply_to_id", m.ReplyToId}, {"quote_of_id", m.QuoteOfId}} {
		if ref[1] != "" {
			checkID(bad, ref[0], ref[1])
		}
	}
	m.ReplyToId, m.QuoteOfId = qualify(m.Platform, m.ReplyToId), qualify(m.Platform, m.QuoteOfId)
	if len(m.Author.Handle) > MaxHandleLength || len(m.Author.Name) > MaxHandleLength {
		bad("author handle and name must be at most %d bytes", MaxHandleLength)
	}
	if m.Author.Followers < 0 || m.Author.Followers > MaxFollowers || m.Author.Following < 0 || m.Author.Following > MaxFollowers {
		bad("author followers and following must be between 0 and %d", int64(MaxFollowers))
	}
	if len(m.Url) > MaxURLBytes {
		bad("url is %d bytes; at most %d are accepted", len(m.Url), MaxURLBytes)
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		bad("text is empty")
	case len(m.Text) > MaxTextBytes:
		bad("text is %d bytes; at most %d are accepted", len(m.Text), MaxTextBytes)
	}
	for _, f := range [][2]string{{"text", m.Text}, {"author.handle", m.Author.Handle}, {"author.name", m.Author.Name}, {"url", m.Url}} {
		if !utf8.ValidString(f[1]) {
			bad("%s is not valid UTF-8", f[0])
		}
	}
	if m.BrandReply && m.ReplyToAuthorId == "" {
		bad("a brand reply needs reply_to_author_id, the author it answers")
	}
	if m.Metrics != nil && (m.Metrics.Reposts < 0 || m.Metrics.Likes < 0 || m.Metrics.Replies < 0 || m.Metrics.Quotes < 0) {
		bad("metrics must not be negative")
	}
	if m.CreatedAt == nil {
		m.CreatedAt = timestamppb.New(now)
	} else if m.CreatedAt.AsTime().After(now.Add(MaxFutureSkew)) {
		bad("created_at %s is more than %s in the future", m.CreatedAt.AsTime().Format(time.RFC3339), MaxFutureSkew)
	}
	if m.Visibility == fbv1.Visibility_VISIBILITY_UNSPECIFIED {
		m.Visibility = fbv1.Visibility_VISIBILITY_PUBLIC
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	m.Id = ID(m.Platform, m.PlatformId)
	m.IngestedAt = timestamppb.New(now)
	return nil
}

// qualify makes a post id given bare ("1003") the Firebreak id of that
// post on the mention's platform ("x:1003"), as the platform adapters
// write them, so replies and quotes name the post's mention.
func qualify(p fbv1.Platform, id string) string {
	if id == "" {
		return ""
	}
	for _, name := range fbv1.Platform_name {
		if prefix := PlatformName(fbv1.Platform(fbv1.Platform_value[name])) + ":"; name != "PLATFORM_UNSPECIFIED" && strings.HasPrefix(id, prefix) {
			return id
		}
	}
	return ID(p, id)
}

func checkID(bad func(string, ...any), field, id string) {
	switch {
	case id == "":
		bad("%s is missing", field)
	case len(id) > MaxIDBytes:
		bad("%s is longer than %d bytes", field, MaxIDBytes)
	case strings.ContainsAny(id, " \t\r\n"):
		bad("%s %q contains whitespace", field, id)
	case !utf8.ValidString(id):
		bad("%s is not valid UTF-8", field)
	}
}

func validBrand(b string) bool {
	if b == "" || len(b) > MaxBrandLength {
		return false
	}
	for _, r := range b {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}
