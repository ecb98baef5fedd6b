// Package corpus reads the public labelled data sets the scorer is trained
// and measured on (../shared/data, see its README) into labelled examples,
// with a fixed split into training and test rows and the licence of each set.
//
// Every set is mapped onto the scorer's three classes the same way each time,
// so `make train` and `make eval` are reproducible from the files alone.
package corpus

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/firebreak/firebreak/services/scorer/score"
	"github.com/firebreak/firebreak/services/scorer/score/train"
)

// Set is one labelled data set from one domain.
type Set struct {
	Name       string // short name used in tables and flags
	Domain     string // where the texts come from
	Licence    string
	Commercial bool // whether a model trained on it may be used commercially
	Classes    int  // 2 when the set has no neutral class
	Train      []train.Example
	Test       []train.Example
	all        []train.Example // every row in file order, when the split interleaves
}

// All is every row in file order, for a set used only as an unseen domain
// or to train a model on all of it.
func (s Set) All() []train.Example {
	if s.all != nil {
		return s.all
	}
	return append(append([]train.Example(nil), s.Train...), s.Test...)
}

// add appends a row of a set split by row number.
func (s *Set) add(i int, ex train.Example) {
	s.all = append(s.all, ex)
	if isTest(i) {
		s.Test = append(s.Test, ex)
	} else {
		s.Train = append(s.Train, ex)
	}
}

// Names of the sets.
const (
	GoEmotions = "goemotions"
	UCI        = "uci-reviews"
	Politeness = "politeness"
	ConvAbuse  = "convabuse"
	Airline    = "airline"
)

// CommercialNames are the sets the default model is trained on: their
// licences allow commercial use with attribution.
var CommercialNames = []string{GoEmotions, UCI, Politeness, ConvAbuse}

// Load reads one set by name from the shared data directory.
func Load(dataDir, name string) (Set, error) {
	var (
		s   Set
		err error
	)
	switch name {
	case GoEmotions:
		s, err = loadGoEmotions(filepath.Join(dataDir, "goemotions"))
	case UCI:
		s, err = loadUCI(filepath.Join(dataDir, "uci-sentiment"))
	case Politeness:
		s, err = loadPoliteness(filepath.Join(dataDir, "stanford-politeness", "wikipedia.annotated.csv"))
	case ConvAbuse:
		s, err = loadConvAbuse(filepath.Join(dataDir, "convabuse"))
	case Airline:
		s, err = loadAirline(filepath.Join(dataDir, "airline-sentiment", "train.csv"))
	default:
		return Set{}, fmt.Errorf("unknown data set %q (want one of %s, %s, %s, %s, %s)", name, GoEmotions, UCI, Politeness, ConvAbuse, Airline)
	}
	if err != nil {
		return Set{}, fmt.Errorf("data set %s under %s: %w (the shared data is described in ../shared/data/README.md)", name, dataDir, err)
	}
	s.Name = name
	return s, nil
}

// LoadAll reads several sets.
func LoadAll(dataDir string, names []string) ([]Set, error) {
	sets := make([]Set, 0, len(names))
	for _, n := range names {
		s, err := Load(dataDir, n)
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// TrainOf concatenates the training rows of sets, in order.
func TrainOf(sets []Set) []train.Example {
	var out []train.Example
	for _, s := range sets {
		out = append(out, s.Train...)
	}
	return out
}

// isTest is the fixed split of sets that ship without one: every fifth row.
func isTest(i int) bool { return i%5 == 4 }

// loadGoEmotions groups the 27 emotions by Google's sentiment_dict.json:
// a comment whose emotions are all positive is positive, all negative is
// negative; neutral, and the ambiguous emotions (curiosity, confusion,
// surprise, realisation) alone, are neutral. Comments mixing groups are
// left out. train.tsv and dev.tsv train, test.tsv tests.
func loadGoEmotions(dir string) (Set, error) {
	names, err := os.ReadFile(filepath.Join(dir, "labels.txt"))
	if err != nil {
		return Set{}, err
	}
	labels := strings.Fields(string(names))
	groupsDoc, err := os.ReadFile(filepath.Join(dir, "sentiment_dict.json"))
	if err != nil {
		return Set{}, err
	}
	var groups map[string][]string
	if err := json.Unmarshal(groupsDoc, &groups); err != nil {
		return Set{}, fmt.Errorf("sentiment_dict.json: %w", err)
	}
	class := map[string]score.Label{"neutral": score.Neutral}
	for group, l := range map[string]score.Label{"positive": score.Positive, "negative": score.Negative, "ambiguous": score.Neutral} {
		for _, e := range groups[group] {
			class[e] = l
		}
	}
	s := Set{Domain: "Reddit comments", Licence: "CC BY 4.0", Commercial: true, Classes: 3}
	for _, split := range []string{"train", "dev", "test"} {
		rows, err := readGoEmotions(filepath.Join(dir, split+".tsv"), labels, class)
		if err != nil {
			return Set{}, err
		}
		if split == "test" {
			s.Test = rows
		} else {
			s.Train = append(s.Train, rows...)
		}
	}
	return s, nil
}

func readGoEmotions(path string, labels []string, class map[string]score.Label) ([]train.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []train.Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("%s line %d: %d fields, want 3", path, line, len(fields))
		}
		text := fields[0]
		if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
			text = strings.ReplaceAll(text[1:len(text)-1], `""`, `"`)
		}
		seen := -1
		mixed := false
		for _, id := range strings.Split(fields[1], ",") {
			n, err := strconv.Atoi(id)
			if err != nil || n < 0 || n >= len(labels) {
				return nil, fmt.Errorf("%s line %d: emotion id %q", path, line, id)
			}
			l, ok := class[labels[n]]
			if !ok {
				return nil, fmt.Errorf("%s line %d: emotion %q in no sentiment group", path, line, labels[n])
			}
			if seen >= 0 && seen != int(l) {
				mixed = true
			}
			seen = int(l)
		}
		if !mixed {
			out = append(out, train.Example{Text: text, Label: score.Label(seen)})
		}
	}
	return out, sc.Err()
}

// loadUCI reads the Amazon, IMDb and Yelp review sentences: positive or
// negative, no neutral. Every fifth sentence of each file tests.
func loadUCI(dir string) (Set, error) {
	s := Set{Domain: "product, film and restaurant review sentences", Licence: "CC BY 4.0", Commercial: true, Classes: 2}
	for _, file := range []string{"amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return Set{}, err
		}
		// Split on \n only: the IMDb file holds U+0085, which other line
		// splitters break on.
		for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			text, label, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t")
			if !ok || (label != "0" && label != "1") {
				return Set{}, fmt.Errorf("%s line %d: want sentence<TAB>0|1", file, i+1)
			}
			ex := train.Example{Text: strings.TrimSpace(text), Label: score.Negative}
			if label == "1" {
				ex.Label = score.Positive
			}
			s.add(i, ex)
		}
	}
	return s, nil
}

// Politeness quartile bounds of the Normalized Score over the 4,353
// requests; the paper calls the bottom quartile impolite and the top polite.
const (
	impoliteBelow = -0.4426
	politeAbove   = 0.5144
)

// loadPoliteness maps impolite requests to negative (a rude tone toward the
// person addressed), polite ones to positive, the middle half to neutral.
func loadPoliteness(path string) (Set, error) {
	s := Set{Domain: "requests on Wikipedia talk pages", Licence: "CC BY 4.0", Commercial: true, Classes: 3}
	i := 0
	err := readCSV(path, []string{"Request", "Normalized Score"}, func(f []string) error {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		if err != nil {
			return fmt.Errorf("Normalized Score %q: %w", f[1], err)
		}
		ex := train.Example{Text: f[0], Label: score.Neutral}
		switch {
		case v < impoliteBelow:
			ex.Label = score.Negative
		case v > politeAbove:
			ex.Label = score.Positive
		}
		s.add(i, ex)
		i++
		return nil
	})
	return s, err
}

// loadConvAbuse labels a user's turn to a chatbot negative when the mean of
// its raters' abuse ratings is below zero (the dataset authors'
// aggregation), neutral otherwise: most turns are plain chat ("yes",
// "Berlin"). train and valid train, test tests.
func loadConvAbuse(dir string) (Set, error) {
	s := Set{Domain: "users' turns to chatbots", Licence: "CC BY 4.0", Commercial: true, Classes: 2}
	for _, split := range []string{"train", "valid", "test"} {
		path := filepath.Join(dir, "ConvAbuseEMNLP"+split+".csv")
		var rows []train.Example
		var header []string
		err := readCSVRaw(path, func(h []string) { header = h }, func(rec []string) error {
			text, mean, err := convAbuseRow(header, rec)
			if err != nil {
				return err
			}
			ex := train.Example{Text: text, Label: score.Neutral}
			if mean < 0 {
				ex.Label = score.Negative
			}
			rows = append(rows, ex)
			return nil
		})
		if err != nil {
			return Set{}, err
		}
		if split == "test" {
			s.Test = rows
		} else {
			s.Train = append(s.Train, rows...)
		}
	}
	return s, nil
}

// convAbuseRow returns the user's text and the mean abuse rating of the
// annotators who rated it (1 not abusive ... -3 very strongly abusive).
func convAbuseRow(header, rec []string) (string, float64, error) {
	text := ""
	sum, n := 0.0, 0
	for i, h := range header {
		if i >= len(rec) {
			break
		}
		if h == "user" {
			text = rec[i]
			continue
		}
		_, value, ok := strings.Cut(h, "_is_abuse.")
		if !ok || strings.TrimSpace(rec[i]) != "1" {
			continue
		}
		v, err := strconv.Atoi(value)
		if err != nil {
			return "", 0, fmt.Errorf("column %q: %w", h, err)
		}
		sum += float64(v)
		n++
	}
	if n == 0 {
		return text, 0, nil
	}
	return text, sum / float64(n), nil
}

// loadAirline reads the Twitter US Airline Sentiment training file,
// weighting each tweet by its labellers' confidence. Every fifth row tests.
func loadAirline(path string) (Set, error) {
	s := Set{Domain: "tweets to six US airlines", Licence: "CC BY-NC-SA 4.0", Commercial: false, Classes: 3}
	i := 0
	err := readCSV(path, []string{"text", "airline_sentiment", "airline_sentiment_confidence"}, func(f []string) error {
		l, err := score.ParseLabel(f[1])
		if err != nil {
			return err
		}
		w, err := strconv.ParseFloat(f[2], 64)
		if err != nil || w <= 0 {
			return fmt.Errorf("airline_sentiment_confidence %q: want a positive number", f[2])
		}
		ex := train.Example{Text: f[0], Label: l, Weight: w}
		s.add(i, ex)
		i++
		return nil
	})
	return s, err
}

// readCSV calls fn with the named columns of each row.
func readCSV(path string, columns []string, fn func([]string) error) error {
	var index []int
	fields := make([]string, len(columns))
	return readCSVRaw(path, func(header []string) {
		index = make([]int, len(columns))
		for i, c := range columns {
			index[i] = -1
			for j, h := range header {
				if strings.TrimPrefix(h, "\ufeff") == c {
					index[i] = j
				}
			}
		}
	}, func(rec []string) error {
		for i, j := range index {
			if j < 0 {
				return fmt.Errorf("no column %q", columns[i])
			}
			if j >= len(rec) {
				return fmt.Errorf("row has %d fields, no %q", len(rec), columns[i])
			}
			fields[i] = rec[j]
		}
		return fn(fields)
	})
}

func readCSVRaw(path string, header func([]string), fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.FieldsPerRecord = -1
	h, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s header: %w", path, err)
	}
	header(h)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := fn(rec); err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
	}
}
