package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/firebreak/firebreak/services/platform/clock"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
	"github.com/firebreak/firebreak/services/ingest/mention"
	"github.com/firebreak/firebreak/services/platform/replay"
)

// replayOptions are the replay command's flags.
type replayOptions struct {
	in, format, ingest, brand string
	conn                      connFlags
	rate                      float64
	batch                     int
}

// runReplay posts a file's mentions to ingest's HTTP API in batches, at a
// rate or as fast as ingest takes them, retrying when ingest asks to.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return replayOn(ctx, clock.System{}, args, stdout, stderr)
}

// replayOn is runReplay keeping its rate on clk, so tests check the pace
// without waiting for it.
func replayOn(ctx context.Context, clk clock.Clock, args []string, stdout, stderr io.Writer) error {
	var o replayOptions
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.in, "in", "", "file to replay (NDJSON, or CSV in the twcs or airline layout)")
	fs.StringVar(&o.format, "format", "", "ndjson, twcs or airline (default: from the file)")
	fs.StringVar(&o.ingest, "ingest", "http://127.0.0.1:8080", "ingest's HTTP address")
	fs.StringVar(&o.brand, "brand", "", "post every mention as this brand (default: the file's)")
	o.conn.register(fs)
	fs.Float64Var(&o.rate, "rate", 0, "mentions per second (0: as fast as ingest takes them)")
	fs.IntVar(&o.batch, "batch", 100, "mentions per request")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if o.in == "" || o.batch < 1 || o.rate < 0 {
		return fmt.Errorf("%w: replay --in FILE [--format ndjson|twcs|airline] [--rate N] [--ingest URL] [--brand NAME]", errUsage)
	}
	lines, skipped, err := loadReplay(o)
	if err != nil {
		return err
	}
	key, err := o.conn.token()
	if err != nil {
		return err
	}
	p := &poster{url: strings.TrimRight(o.ingest, "/") + "/v1/mentions", key: key, client: &http.Client{Timeout: 30 * time.Second}}
	bar := newProgress(stderr, len(lines))
	var limiter *rate.Limiter
	if o.rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(o.rate), 1) // burst 1: an even pace, not bursts
	}
	var sent, dups int
	for start := 0; start < len(lines); start += o.batch {
		batch := lines[start:min(start+o.batch, len(lines))]
		if limiter != nil {
			for range batch {
				now := clk.Now()
				if err := clk.Sleep(ctx, limiter.ReserveN(now, 1).DelayFrom(now)); err != nil {
					return err
				}
			}
		}
		d, err := p.post(ctx, batch)
		if err != nil {
			return fmt.Errorf("after %d of %d mentions: %w", sent, len(lines), err)
		}
		sent, dups = sent+len(batch), dups+d
		bar.show(sent)
	}
	bar.done()
	fmt.Fprintf(stdout, "replayed %d mentions from %s (%d new, %d already ingested, %d skipped)\n", sent, o.in, sent-dups, dups, skipped)
	return nil
}

// loadReplay reads the file and turns its mentions into the generic JSON
// lines ingest takes. Brand replies whose customer is not in the file are
// skipped: ingest refuses a reply without the author it answers.
func loadReplay(o replayOptions) ([][]byte, int, error) {
	f, err := os.Open(o.in)
	if err != nil {
		return nil, 0, fmt.Errorf("open --in: %w", err)
	}
	defer f.Close()
	format := o.format
	if format == "" {
		format = guessFormat(f, o.in)
	}
	var ms []*fbv1.Mention
	switch format {
	case "ndjson":
		ms, err = readMentionLines(f)
	case "twcs":
		ms, _, err = replay.ReadTwitterCSV(f)
	case "airline":
		ms, _, err = replay.ReadAirlineCSV(f)
	default:
		return nil, 0, fmt.Errorf("%w: --format %q: use ndjson, twcs or airline", errUsage, format)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", o.in, err)
	}
	var out [][]byte
	skipped := 0
	for _, m := range ms {
		if m.BrandReply && m.ReplyToAuthorId == "" {
			skipped++
			continue
		}
		b, err := json.Marshal(toJSON(m, o.brand))
		if err != nil {
			return nil, 0, err
		}
		out = append(out, b)
	}
	return out, skipped, nil
}

// guessFormat looks at the extension and the CSV header.
func guessFormat(f *os.File, name string) string {
	if ext := strings.ToLower(filepath.Ext(name)); ext == ".ndjson" || ext == ".jsonl" || ext == ".json" {
		return "ndjson"
	}
	head := make([]byte, 512)
	n, _ := f.Read(head)
	_, _ = f.Seek(0, io.SeekStart)
	if strings.HasPrefix(string(head[:n]), "tweet_id,author_id,inbound") {
		return "twcs"
	}
	return "airline"
}

// readMentionLines reads the mentions of an NDJSON file for replay and
// backtest alike: the JSON ingest's POST /v1/mentions takes ("platform":"x",
// the id derived), judged by ingest's own parser, or protobuf JSON of
// firebreak.v1.Mention ("platform":"PLATFORM_X", an "id"), as older files
// and the backtest's fixtures have it.
func readMentionLines(r io.Reader) ([]*fbv1.Mention, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	ms, ingestErr := mention.Decode(data, time.Now())
	if ingestErr == nil {
		return ms, nil
	}
	ms, protoErr := replay.ReadNDJSON(bytes.NewReader(data))
	if protoErr == nil {
		return ms, nil
	}
	return nil, fmt.Errorf("not the mentions ingest takes at /v1/mentions (%v), nor protobuf JSON of firebreak.v1.Mention (%v)", ingestErr, protoErr)
}

func toJSON(m *fbv1.Mention, brand string) mention.JSON {
	if brand == "" {
		brand = strings.ToLower(m.Brand)
	}
	a := m.GetAuthor()
	j := mention.JSON{
		Platform: mention.PlatformName(m.Platform), PlatformID: m.PlatformId, Brand: brand, Text: m.Text,
		Language: m.Language, URL: m.Url, ReplyToID: strings.TrimPrefix(m.ReplyToId, mention.PlatformName(m.Platform)+":"),
		QuoteOfID:       strings.TrimPrefix(m.QuoteOfId, mention.PlatformName(m.Platform)+":"),
		ReplyToAuthorID: m.ReplyToAuthorId, ConversationID: m.ConversationId, BrandReply: m.BrandReply,
		Author: mention.AuthorJSON{ID: a.GetId(), Handle: a.GetHandle(), Name: a.GetName(), Followers: a.GetFollowers(), Following: a.GetFollowing(), Verified: a.GetVerified()},
	}
	if m.CreatedAt != nil {
		t := m.CreatedAt.AsTime()
		j.CreatedAt = &t
	}
	if m.Visibility == fbv1.Visibility_VISIBILITY_PRIVATE {
		j.Visibility = "private"
	}
	if mt := m.Metrics; mt != nil {
		j.Metrics = &mention.MetricsJSON{Reposts: mt.Reposts, Likes: mt.Likes, Replies: mt.Replies, Quotes: mt.Quotes}
	}
	return j
}

// poster sends NDJSON batches, retrying 429 and 503 after Retry-After.
type poster struct {
	url, key string
	client   *http.Client
}

func (p *poster) post(ctx context.Context, batch [][]byte) (duplicates int, err error) {
	body := append(bytes.Join(batch, []byte("\n")), '\n')
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		if p.key != "" {
			req.Header.Set("Authorization", "Bearer "+p.key)
		}
		resp, err := p.client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("post to %s: %w; is ingest running?", p.url, err)
		}
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusAccepted:
			var ok struct {
				Accepted []struct {
					Duplicate bool `json:"duplicate"`
				} `json:"accepted"`
			}
			_ = json.Unmarshal(reply, &ok)
			for _, a := range ok.Accepted {
				if a.Duplicate {
					duplicates++
				}
			}
			return duplicates, nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 20:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		default:
			return 0, errors.New("ingest refused the batch: " + resp.Status + ": " + strings.TrimSpace(string(reply)))
		}
	}
}
