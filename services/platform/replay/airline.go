package replay

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// airlineColumns are the columns of the "Twitter US airline sentiment"
// dataset that a mention needs; the file has more, in any order.
var airlineColumns = []string{"tweet_id", "airline", "name", "retweet_count", "text", "tweet_created"}

// airlineTime is the dataset's tweet_created layout.
const airlineTime = "2006-01-02 15:04:05 -0700"

// ReadAirlineCSV reads the airline sentiment layout and returns its
// mentions in event time. The brand is the airline, lowercased with
// spaces as '-' ("Virgin America" is virgin-america); the author is the
// tweet's user name. The dataset has no brand replies.
func ReadAirlineCSV(r io.Reader) ([]*fbv1.Mention, Stats, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, Stats{}, fmt.Errorf("read airline csv header: %w", err)
	}
	col := map[string]int{}
	for _, want := range airlineColumns {
		i := slices.Index(header, want)
		if i < 0 {
			return nil, Stats{}, fmt.Errorf("read airline csv: header lacks %q; want the airline sentiment layout (%s)", want, strings.Join(airlineColumns, ","))
		}
		col[want] = i
	}
	cr.FieldsPerRecord = len(header)
	var out []*fbv1.Mention
	var stats Stats
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			SortByTime(out)
			return out, stats, nil
		}
		if err != nil {
			return nil, stats, fmt.Errorf("read airline csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		stats.Rows++
		m, err := airlineMention(rec, col)
		if err != nil {
			return nil, stats, fmt.Errorf("read airline csv line %d: %w", line, err)
		}
		stats.Mentions++
		out = append(out, m)
	}
}

func airlineMention(rec []string, col map[string]int) (*fbv1.Mention, error) {
	id, airline, name := rec[col["tweet_id"]], rec[col["airline"]], rec[col["name"]]
	if id == "" || airline == "" || name == "" {
		return nil, errors.New("tweet_id, airline and name are required")
	}
	at, err := time.Parse(airlineTime, rec[col["tweet_created"]])
	if err != nil {
		return nil, fmt.Errorf("tweet_created %q: want a time like %q", rec[col["tweet_created"]], airlineTime)
	}
	retweets, err := strconv.ParseInt(rec[col["retweet_count"]], 10, 64)
	if err != nil || retweets < 0 {
		return nil, fmt.Errorf("retweet_count %q is not a count", rec[col["retweet_count"]])
	}
	return &fbv1.Mention{
		Id: mentionID(id), Platform: fbv1.Platform_PLATFORM_X, PlatformId: id,
		Brand:      strings.ReplaceAll(strings.ToLower(strings.TrimSpace(airline)), " ", "-"),
		Author:     &fbv1.Author{Id: name, Handle: name},
		Text:       rec[col["text"]],
		CreatedAt:  timestamppb.New(at),
		Visibility: fbv1.Visibility_VISIBILITY_PUBLIC,
		Metrics:    &fbv1.PublicMetrics{Reposts: retweets},
	}, nil
}
