package score

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed data/topics.json
var defaultTopicsJSON []byte

// maxTopics is the number of topics one mask can hold.
const maxTopics = 64

// Topic is one named reason a customer writes, recognised by keywords: single
// words or phrases of up to three words, matched after the same
// normalisation as the text (case, elongation, apostrophes).
type Topic struct {
	Name     string   `json:"name"`
	Keywords []string `json:"keywords"`
}

// TopicSet is a brand's list of topics. Build it with NewTopicSet or
// ParseTopics; it is immutable afterwards.
type TopicSet struct {
	topics []Topic
}

// NewTopicSet checks and copies a list of topics.
func NewTopicSet(topics []Topic) (*TopicSet, error) {
	if len(topics) > maxTopics {
		return nil, fmt.Errorf("topic set has %d topics, at most %d are supported", len(topics), maxTopics)
	}
	seen := make(map[string]bool, len(topics))
	out := make([]Topic, 0, len(topics))
	for i, t := range topics {
		name := strings.TrimSpace(t.Name)
		if name == "" {
			return nil, fmt.Errorf("topic %d has no name", i)
		}
		if seen[name] {
			return nil, fmt.Errorf("topic %q is listed twice", name)
		}
		seen[name] = true
		var keywords []string
		for _, k := range t.Keywords {
			n := len(wordHashes(k))
			if n == 0 || n > 3 {
				return nil, fmt.Errorf("topic %q: keyword %q must have one to three words", name, k)
			}
			keywords = append(keywords, k)
		}
		if len(keywords) == 0 {
			return nil, fmt.Errorf("topic %q has no keywords", name)
		}
		out = append(out, Topic{Name: name, Keywords: keywords})
	}
	return &TopicSet{topics: out}, nil
}

// ParseTopics reads a topic set from JSON, either {"topics": [...]} or a
// bare list of {"name": ..., "keywords": [...]} objects. (YAML callers decode
// into []Topic themselves and call NewTopicSet.)
func ParseTopics(data []byte) (*TopicSet, error) {
	var wrapped struct {
		Topics []Topic `json:"topics"`
	}
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(data, &wrapped.Topics); err != nil {
			return nil, fmt.Errorf("parse topics: %w", err)
		}
	} else if err := json.Unmarshal(data, &wrapped); err != nil {
		return nil, fmt.Errorf("parse topics: %w", err)
	}
	ts, err := NewTopicSet(wrapped.Topics)
	if err != nil {
		return nil, fmt.Errorf("parse topics: %w", err)
	}
	return ts, nil
}

// DefaultTopics is the airline and general customer-service topic set used
// when Options.Topics is nil.
func DefaultTopics() (*TopicSet, error) {
	return ParseTopics(defaultTopicsJSON)
}

// Names lists the topics in their mask order.
func (ts *TopicSet) Names() []string {
	names := make([]string, len(ts.topics))
	for i, t := range ts.topics {
		names[i] = t.Name
	}
	return names
}

// compile adds the topics' keywords to a vocabulary.
func (ts *TopicSet) compile(v *vocabulary) {
	for i, t := range ts.topics {
		bit := uint64(1) << i
		for _, k := range t.Keywords {
			hashes := wordHashes(k)
			if len(hashes) == 1 {
				v.word1(hashes[0], func(w *wordInfo) { w.topics |= bit })
				continue
			}
			v.phrase(hashes, func(p *phraseInfo) { p.topics |= bit })
		}
	}
}
