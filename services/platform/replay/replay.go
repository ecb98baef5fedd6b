// Package replay reads recorded mentions from files so they can be replayed
// in event time: the CSV layout of the "customer support on Twitter" dataset
// (brand replies included) and NDJSON of firebreak.v1.Mention. Ingest's file
// replay and the CLI's backtest share it.
package replay

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// twitterColumns is the header of the dataset's twcs.csv.
var twitterColumns = []string{"tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id"}

// Stats counts what a read found.
type Stats struct {
	Rows         int
	Mentions     int // customers' posts
	BrandReplies int
	// Skipped counts customers' posts whose brand could not be told: no
	// brand in their thread and no @handle in their text.
	Skipped int
}

// tweet is one CSV row, kept until every row is read because a post's brand
// and a reply's addressee are found in other rows.
type tweet struct {
	line       int
	id, author string
	inbound    bool
	at         time.Time
	text       string
	responses  []string
	inReplyTo  string
}

// ReadTwitterCSV reads the dataset's CSV layout (tweet_id, author_id,
// inbound, created_at, text, response_tweet_id, in_response_to_tweet_id) and
// returns its mentions in event time. Rows with inbound False are the
// brand's replies (brand_reply, with reply_to_author_id set when the post
// they answer is in the file); a customer's post is about the brand that
// answers it or that it answers, else the first brand it @mentions, else the
// first handle it @mentions.
//
// The whole file is held in memory, since those links can point anywhere in
// it.
func ReadTwitterCSV(r io.Reader) ([]*fbv1.Mention, Stats, error) {
	tweets, err := readTweets(r)
	if err != nil {
		return nil, Stats{}, err
	}
	byID := make(map[string]*tweet, len(tweets))
	brands := map[string]string{} // lowercase handle -> handle as written
	for i := range tweets {
		t := &tweets[i]
		byID[t.id] = t
		if !t.inbound {
			brands[strings.ToLower(t.author)] = t.author
		}
	}
	stats := Stats{Rows: len(tweets)}
	out := make([]*fbv1.Mention, 0, len(tweets))
	for i := range tweets {
		t := &tweets[i]
		m := toMention(t)
		if t.inbound {
			m.Brand = brandOf(t, byID, brands)
			if m.Brand == "" {
				stats.Skipped++
				continue
			}
			stats.Mentions++
		} else {
			m.Brand = t.author
			m.BrandReply = true
			if to, ok := byID[t.inReplyTo]; ok {
				m.ReplyToAuthorId = to.author
			}
			stats.BrandReplies++
		}
		out = append(out, m)
	}
	SortByTime(out)
	return out, stats, nil
}

func readTweets(r io.Reader) ([]tweet, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(twitterColumns)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read twitter csv header: %w", err)
	}
	if !slices.Equal(header, twitterColumns) {
		return nil, fmt.Errorf("read twitter csv: header %q, want %q", strings.Join(header, ","), strings.Join(twitterColumns, ","))
	}
	var tweets []tweet
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return tweets, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read twitter csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		t, err := parseTweet(rec)
		if err != nil {
			return nil, fmt.Errorf("read twitter csv line %d: %w", line, err)
		}
		tweets = append(tweets, t)
	}
}

func parseTweet(rec []string) (tweet, error) {
	t := tweet{id: rec[0], author: rec[1], text: rec[4], inReplyTo: rec[6]}
	if t.id == "" || t.author == "" {
		return t, errors.New("tweet_id and author_id are required")
	}
	switch rec[2] {
	case "True", "true":
		t.inbound = true
	case "False", "false":
	default:
		return t, fmt.Errorf("inbound %q: want True or False", rec[2])
	}
	at, err := time.Parse(time.RubyDate, rec[3])
	if err != nil {
		return t, fmt.Errorf("created_at %q: want a date like %q", rec[3], time.RubyDate)
	}
	t.at = at
	for _, id := range strings.Split(rec[5], ",") {
		if id = strings.TrimSpace(id); id != "" {
			t.responses = append(t.responses, id)
		}
	}
	return t, nil
}

func toMention(t *tweet) *fbv1.Mention {
	m := &fbv1.Mention{
		Id:         mentionID(t.id),
		Platform:   fbv1.Platform_PLATFORM_X,
		PlatformId: t.id,
		Author:     &fbv1.Author{Id: t.author, Handle: t.author},
		Text:       t.text,
		CreatedAt:  timestamppb.New(t.at),
		Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
	}
	if t.inReplyTo != "" {
		m.ReplyToId = mentionID(t.inReplyTo)
	}
	return m
}

// mentionID follows ingest's ids: "<platform>:<platform id>".
func mentionID(tweetID string) string { return "x:" + tweetID }

var handlePattern = regexp.MustCompile(`@(\w+)`)

// brandOf finds the brand a customer's post is about.
func brandOf(t *tweet, byID map[string]*tweet, brands map[string]string) string {
	if to, ok := byID[t.inReplyTo]; ok && !to.inbound {
		return to.author
	}
	for _, id := range t.responses {
		if r, ok := byID[id]; ok && !r.inbound {
			return r.author
		}
	}
	handles := handlePattern.FindAllStringSubmatch(t.text, -1)
	for _, h := range handles {
		if brand, ok := brands[strings.ToLower(h[1])]; ok {
			return brand
		}
	}
	if len(handles) > 0 {
		return handles[0][1]
	}
	return ""
}

// ReadNDJSON reads one firebreak.v1.Mention per line in protojson (blank
// lines skipped) and returns them in event time.
func ReadNDJSON(r io.Reader) ([]*fbv1.Mention, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var out []*fbv1.Mention
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		m := &fbv1.Mention{}
		if err := protojson.Unmarshal(b, m); err != nil {
			return nil, fmt.Errorf("read ndjson line %d: %w", line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ndjson: %w", err)
	}
	SortByTime(out)
	return out, nil
}

// SortByTime orders mentions by creation time, then id, so a replay is the
// same every time.
func SortByTime(ms []*fbv1.Mention) {
	slices.SortStableFunc(ms, func(a, b *fbv1.Mention) int {
		if c := a.GetCreatedAt().AsTime().Compare(b.GetCreatedAt().AsTime()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetId(), b.GetId())
	})
}
