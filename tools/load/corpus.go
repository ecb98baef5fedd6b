// Package load drives a running Firebreak over its real ingest HTTP API with
// realistic mentions, observes when each is decided and delivered, measures
// the broker's own ceiling in the same run, and writes the figures as JSON
// and an HTML report. The loadgen command and the chaos suite use it.
package load

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/firebreak/firebreak/services/platform/replay"
)

// Corpus holds the texts mentions are drawn from: customers' posts and the
// brands' own replies, from the shared datasets.
type Corpus struct {
	Complaints []string
	Replies    []string
}

// ReadCorpus reads the airline-sentiment CSV (its text column) and the
// customer-support-on-twitter CSV (customers' posts and brands' replies).
func ReadCorpus(airlineCSV, twitterCSV string) (*Corpus, error) {
	c := &Corpus{}
	texts, err := readColumn(airlineCSV, "text")
	if err != nil {
		return nil, err
	}
	c.Complaints = append(c.Complaints, texts...)
	f, err := os.Open(twitterCSV)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", twitterCSV, err)
	}
	defer f.Close()
	mentions, _, err := replay.ReadTwitterCSV(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", twitterCSV, err)
	}
	for _, m := range mentions {
		if m.BrandReply {
			c.Replies = append(c.Replies, m.Text)
		} else {
			c.Complaints = append(c.Complaints, m.Text)
		}
	}
	if len(c.Complaints) == 0 || len(c.Replies) == 0 {
		return nil, fmt.Errorf("corpus from %s and %s has %d posts and %d brand replies; need both", airlineCSV, twitterCSV, len(c.Complaints), len(c.Replies))
	}
	return c, nil
}

func readColumn(path, column string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read header of %s: %w", path, err)
	}
	col := -1
	for i, h := range header {
		if h == column {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s has no %q column", path, column)
	}
	var out []string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if t := strings.TrimSpace(rec[col]); t != "" {
			out = append(out, t)
		}
	}
}

// Mix shapes the generated traffic.
type Mix struct {
	// Brand is the brand every mention is about.
	Brand string
	// Authors is the size of the author pool; authors are drawn with a Zipf
	// law so that a few post again and again, as repeat complainers do.
	Authors int
	// HighReach is the share of authors with more followers than the brand.
	HighReach float64
	// BrandFollowers is the brand's own follower count.
	BrandFollowers int64
	// Replies is the share of mentions that are the brand's replies.
	Replies float64
	// RunID makes platform ids unique to one run.
	RunID string
	Seed  uint64
}

// Mention is the generic JSON form ingest's POST /v1/mentions takes.
type Mention struct {
	Platform        string `json:"platform"`
	PlatformID      string `json:"platform_id"`
	Brand           string `json:"brand"`
	Author          Author `json:"author"`
	Text            string `json:"text"`
	BrandReply      bool   `json:"brand_reply,omitempty"`
	ReplyToAuthorID string `json:"reply_to_author_id,omitempty"`
}

// Author is a mention's author.
type Author struct {
	ID        string `json:"id"`
	Handle    string `json:"handle"`
	Followers int64  `json:"followers"`
}

// ID is the Firebreak id ingest gives the mention.
func (m Mention) ID() string { return m.Platform + ":" + m.PlatformID }

// HighReach reports whether the author out-follows the brand.
func (m Mention) HighReach(brandFollowers int64) bool { return m.Author.Followers > brandFollowers }

// Generator makes a deterministic stream of mentions from a corpus.
type Generator struct {
	corpus  *Corpus
	mix     Mix
	rng     *rand.Rand
	zipf    *rand.Zipf
	authors []Author
	seq     int
	recent  []string
}

// NewGenerator returns a generator; the same corpus, mix and seed give the
// same mentions.
func NewGenerator(c *Corpus, mix Mix) *Generator {
	if mix.Authors < 2 {
		mix.Authors = 2
	}
	rng := rand.New(rand.NewPCG(mix.Seed, mix.Seed^0x9e3779b97f4a7c15))
	g := &Generator{corpus: c, mix: mix, rng: rng, zipf: rand.NewZipf(rng, 1.1, 4, uint64(mix.Authors-1))}
	for i := range mix.Authors {
		g.authors = append(g.authors, g.author(i))
	}
	// The Zipf law favours low indices; shuffle so that the most active
	// authors are not all low-reach or all high-reach.
	rng.Shuffle(len(g.authors), func(i, j int) { g.authors[i], g.authors[j] = g.authors[j], g.authors[i] })
	return g
}

func (g *Generator) author(i int) Author {
	a := Author{ID: fmt.Sprintf("%s-u%d", g.mix.RunID, i), Handle: fmt.Sprintf("user%d", i)}
	if g.rng.Float64() < g.mix.HighReach {
		a.Followers = g.mix.BrandFollowers + 1 + g.rng.Int64N(4*max(g.mix.BrandFollowers, 1))
	} else {
		// Most accounts are small: log-normal around a few hundred.
		a.Followers = int64(math.Exp(5.5 + 1.5*g.rng.NormFloat64()))
	}
	return a
}

// Next returns the next mention.
func (g *Generator) Next() Mention {
	g.seq++
	m := Mention{Platform: "x", PlatformID: fmt.Sprintf("%s-%d", g.mix.RunID, g.seq), Brand: g.mix.Brand}
	if len(g.recent) > 0 && g.rng.Float64() < g.mix.Replies {
		m.BrandReply = true
		m.Author = Author{ID: BrandAccount(g.mix.Brand), Handle: g.mix.Brand, Followers: g.mix.BrandFollowers}
		m.ReplyToAuthorID = g.recent[g.rng.IntN(len(g.recent))]
		m.Text = g.corpus.Replies[g.rng.IntN(len(g.corpus.Replies))]
		return m
	}
	m.Author = g.authors[g.zipf.Uint64()]
	m.Text = g.corpus.Complaints[g.rng.IntN(len(g.corpus.Complaints))]
	g.remember(m.Author.ID)
	return m
}

// BrandAccount is the id of the brand's own X account in generated
// mentions: ingest takes brand replies only from it, so a stack under load
// is started with --brand-accounts=BRAND=x:BrandAccount(BRAND).
func BrandAccount(brand string) string { return brand + "-id" }

// remember keeps the last authors seen, whom brand replies answer.
func (g *Generator) remember(id string) {
	const keep = 64
	if len(g.recent) == keep {
		g.recent = g.recent[1:]
	}
	g.recent = append(g.recent, id)
}
