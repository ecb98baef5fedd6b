package score

import (
	"fmt"
	"slices"
	"strings"
)

// cueKind is what a phrase in a reply says about the reply.
type cueKind uint8

const (
	cueHostile        cueKind = iota // tells the customer off, blames, insults, threatens
	cueDismissive                    // minimises, brushes off, condescends
	cueSympathy                      // apologises or regrets
	cueConcern                       // acknowledges a problem lightly ("not ideal", "we hear you")
	cuePositive                      // thanks or shares joy: a reply to praise, not to a complaint
	cueDeadEnd                       // says nothing can be done
	cueStep                          // a way forward: an action, offer, instruction or follow-up
	cueMovesPrivate                  // moves the conversation to private messages
	cuePrivateRef                    // repeats what was said in private
	cuePrivateChannel                // "in your DM", "over email": a private channel
	cueReported                      // said, mentioned, discussed: reports what someone said
	cuePerfect                       // we have, has been: an action done, if a verb follows
	cueNotAction                     // had, been, delayed: a state, not an action, after cuePerfect
	cueModal                         // will, can: an offer or promise when a verb follows
	cueNotStep                       // see, apologise: after an offer word, a report or a wish
	cueWish                          // hope, wish: a modal after it is a wish
	cueBy                            // by, before: a time after it is a commitment
	cueStreet                        // street, road: ends a street address
	cueNegator                       // negates the step phrase right after it
	cueSoftener                      // greeting or softener that leaves a clause open ("Hi,", "please")
	cueFirstPerson                   // we, I: the brand as subject
	cueSecondPerson                  // you: the customer as subject
	cueContact                       // "us", "our": a number or address nearby is the brand's own
	cueOwner                         // "your": a number or address nearby is the customer's
	cueRefWord                       // booking, order, account: a code nearby is a reference
	cueBirth                         // birth, born: a date nearby is a date of birth
	cueContrast                      // but, however: what follows a dead end may be a way round it
	cueParticiple                    // sent, given: an irregular past participle, an action after "we've"
	cueHealth                        // a medical condition: the customer's, in public, is personal data
	cueCredential                    // pin, password: a code shortly after it is a secret
	numCueKinds
)

// cueDef is one line of the cue lexicon: a kind, the reason shown to the
// agent (for findings), and phrases. A phrase is words separated by spaces;
// "a|b" is a choice at one position, a trailing "|" makes it optional, and a
// leading "^" anchors it to the start of a clause, which is how an order
// given to the customer ("Calm down") is told from a report ("we calmed
// the queue down").
type cueDef struct {
	kind    cueKind
	reason  string
	phrases []string
}

// cue is one compiled phrase.
type cue struct {
	kind   cueKind
	anchor bool
	reason string
	words  int // phrase length, for the finding's span
}

// matcher finds cue phrases in a tokenized reply: a trie over word ids,
// walked from each token for at most maxPhrase words, so matching is linear
// in the reply's length.
type matcher struct {
	vocab     map[string]int32
	ids       wordTable         // the vocabulary by cueHash, for tokenize
	starts    []bool            // by word id: some phrase starts with the word
	edges     map[uint64]int32  // (node, word id) -> node, while building
	children  [][]edge          // by node: its few children, searched in order
	rootChild []int32           // by word id: the root's child, or -1
	terminal  map[int32][]int32 // node -> cues ending there, while building
	ends      [][]int32         // by node: cues ending there
	cues      []cue
	single    [][]int32 // by word id: one-word cues, without a trie walk
	softeners []bool    // by word id
	maxPhrase int
}

func newMatcher(defs []cueDef) (*matcher, error) {
	m := &matcher{vocab: map[string]int32{}, edges: map[uint64]int32{}, terminal: map[int32][]int32{}}
	nodes := int32(1) // node 0 is the root
	var softeners []int32
	for _, d := range defs {
		for _, p := range d.phrases {
			anchor := strings.HasPrefix(p, "^")
			pos, err := positions(strings.TrimPrefix(p, "^"))
			if err != nil {
				return nil, err
			}
			for _, words := range expand(pos) {
				if len(words) == 0 {
					return nil, fmt.Errorf("cue phrase %q expands to nothing", p)
				}
				ci := int32(len(m.cues))
				m.cues = append(m.cues, cue{kind: d.kind, anchor: anchor, reason: d.reason, words: len(words)})
				m.maxPhrase = max(m.maxPhrase, len(words))
				node := int32(0)
				for _, w := range words {
					id := m.word(w)
					key := uint64(node)<<32 | uint64(uint32(id))
					next, ok := m.edges[key]
					if !ok {
						next = nodes
						nodes++
						m.edges[key] = next
					}
					node = next
				}
				first := m.vocab[words[0]]
				if len(words) == 1 {
					m.growSingle(first)
					m.single[first] = append(m.single[first], ci)
				} else {
					m.growStarts(first)
					m.starts[first] = true
				}
				m.terminal[node] = append(m.terminal[node], ci)
				if d.kind == cueSoftener && len(words) == 1 {
					softeners = append(softeners, first)
				}
			}
		}
	}
	m.growSingle(int32(len(m.vocab) - 1))
	m.growStarts(int32(len(m.vocab) - 1))
	m.softeners = make([]bool, len(m.vocab))
	for _, id := range softeners {
		m.softeners[id] = true
	}
	m.ids = newWordTable(len(m.vocab))
	for w, id := range m.vocab {
		if !m.ids.put(cueHash([]byte(w)), id) {
			return nil, fmt.Errorf("cue word %q shares a hash with another", w)
		}
	}
	m.rootChild = make([]int32, len(m.vocab))
	for i := range m.rootChild {
		m.rootChild[i] = -1
	}
	m.ends = make([][]int32, nodes)
	for node, cues := range m.terminal {
		m.ends[node] = cues
	}
	m.children = make([][]edge, nodes)
	for key, to := range m.edges {
		from, word := int32(key>>32), int32(uint32(key))
		if from == 0 {
			m.rootChild[word] = to
		} else {
			m.children[from] = append(m.children[from], edge{word: word, to: to})
		}
	}
	for _, c := range m.children {
		slices.SortFunc(c, func(a, b edge) int { return int(a.word - b.word) })
	}
	return m, nil
}

func (m *matcher) word(w string) int32 {
	if id, ok := m.vocab[w]; ok {
		return id
	}
	id := int32(len(m.vocab))
	m.vocab[w] = id
	return id
}

func (m *matcher) growSingle(id int32) {
	for int32(len(m.single)) <= id {
		m.single = append(m.single, nil)
	}
}

func (m *matcher) growStarts(id int32) {
	for int32(len(m.starts)) <= id {
		m.starts = append(m.starts, false)
	}
}

// positions splits a phrase into its positions, each a list of choices of
// one or more words: "a|b (c d|e|)" is [[a] [b]] then [[c d] [e] []].
func positions(phrase string) ([][][]string, error) {
	var out [][][]string
	for rest := strings.TrimSpace(phrase); rest != ""; rest = strings.TrimSpace(rest) {
		var group string
		if rest[0] == '(' {
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return nil, fmt.Errorf("cue phrase %q: unclosed (", phrase)
			}
			group, rest = rest[1:end], rest[end+1:]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			group, rest = rest[:end], rest[end:]
		}
		var choices [][]string
		for _, alt := range strings.Split(group, "|") {
			choices = append(choices, strings.Fields(alt))
		}
		out = append(out, choices)
	}
	return out, nil
}

// expand lists every word sequence a phrase's positions allow.
func expand(pos [][][]string) [][]string {
	out := [][]string{nil}
	for _, choices := range pos {
		var next [][]string
		for _, prefix := range out {
			for _, words := range choices {
				next = append(next, append(append([]string(nil), prefix...), words...))
			}
		}
		out = next
	}
	return out
}

// edge is one step in the trie.
type edge struct{ word, to int32 }

// child is the node after node on word, or -1.
func (m *matcher) child(node, word int32) int32 {
	if node == 0 {
		return m.rootChild[word]
	}
	c := m.children[node]
	if len(c) > 8 {
		// Some nodes have dozens of children ("you should have" + a verb).
		if i, ok := slices.BinarySearchFunc(c, word, func(e edge, w int32) int { return int(e.word - w) }); ok {
			return c[i].to
		}
		return -1
	}
	for _, e := range c {
		if e.word == word {
			return e.to
		}
	}
	return -1
}

// wordTable maps word hashes to ids with open addressing: the lookup made
// for every word of every brand reply, so it is kept cheaper than a map.
type wordTable struct {
	keys []uint64
	ids  []int32
	mask uint64
}

func newWordTable(n int) wordTable {
	size := 1
	for size < 4*n {
		size <<= 1
	}
	return wordTable{keys: make([]uint64, size), ids: make([]int32, size), mask: uint64(size - 1)}
}

// put adds h; false if h is already there or is 0, the empty slot.
func (t *wordTable) put(h uint64, id int32) bool {
	if h == 0 {
		return false
	}
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case 0:
			t.keys[i], t.ids[i] = h, id
			return true
		case h:
			return false
		}
	}
}

func (t *wordTable) get(h uint64) (int32, bool) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case h:
			return t.ids[i], true
		case 0:
			return 0, false
		}
	}
}

// cueMatch is one cue found at tokens [first, last].
type cueMatch struct {
	cue         int32
	first, last int32
}

// match calls fn for every cue in the tokens, in token order. A phrase never
// crosses a sentence end.
func (m *matcher) match(toks []replyToken, fn func(cueMatch)) {
	for i := range toks {
		id := toks[i].id
		if id == noWord {
			continue
		}
		for _, ci := range m.single[id] {
			if !m.cues[ci].anchor || toks[i].flags&tfClauseStart != 0 {
				fn(cueMatch{cue: ci, first: int32(i), last: int32(i)})
			}
		}
		if !m.starts[id] {
			continue
		}
		node := int32(0)
		for j := i; j < len(toks) && j-i < m.maxPhrase; j++ {
			if toks[j].id == noWord || toks[j].sentence != toks[i].sentence {
				break
			}
			next := m.child(node, toks[j].id)
			if next < 0 {
				break
			}
			node = next
			if j == i {
				continue // one-word cues were reported above
			}
			for _, ci := range m.ends[node] {
				if !m.cues[ci].anchor || toks[i].flags&tfClauseStart != 0 {
					fn(cueMatch{cue: ci, first: int32(i), last: int32(j)})
				}
			}
		}
	}
}
