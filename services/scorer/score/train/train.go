// Package train fits the scorer's linear model to labelled texts and
// measures classifiers by cross-validation. It does no I/O: callers read the
// data and write the model, so training is reproducible from the same rows.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/firebreak/firebreak/services/scorer/score"
)

// Example is one labelled text.
type Example struct {
	Text   string
	Label  score.Label
	Weight float64 // how much the example counts; 0 means 1
}

// Config controls training. DefaultConfig is what the checked-in model uses.
type Config struct {
	Version      string      // reported by the model in every score
	Blend        score.Blend // how much the model defers to the lexicon
	HashBits     int         // log2 rows of the hashed weight table
	KnownBits    int         // log2 64-bit words of the known-word set; 0: none
	Epochs       int         // passes over the data
	LearningRate float64     // AdaGrad base rate
	L2           float64     // weight decay per update
	Seed         uint64      // shuffle order; fixed so training is reproducible
}

// DefaultConfig is the configuration of the checked-in default model,
// trained on the commercially usable sets (see package corpus).
func DefaultConfig() Config {
	return Config{
		Version: "general-2026.11.1",
		// Chosen on leave-one-domain-out runs over the commercial sets.
		Blend:        score.Blend{Label: 0.5, Compound: 0.75},
		HashBits:     18,
		KnownBits:    14,
		Epochs:       6,
		LearningRate: 0.05,
		L2:           0,
		Seed:         20261130,
	}
}

// AirlineConfig is the configuration of the checked-in airline model.
func AirlineConfig() Config {
	return Config{
		Version:      "hybrid-2026.11.2",
		HashBits:     18,
		Epochs:       12,
		LearningRate: 0.05,
		L2:           0,
		Seed:         20261123,
	}
}

// CustomConfig is the starting configuration for a team training on its
// own labelled mentions (`firebreak train --in`).
func CustomConfig() Config {
	c := DefaultConfig()
	c.Version = "custom-1"
	c.Epochs = 12
	return c
}

// ModelOnlyConfig is for a team with thousands of its own labels: the model
// alone, not blended with the lexicon, as the airline model is trained.
func ModelOnlyConfig() Config {
	c := AirlineConfig()
	c.Version = "custom-1"
	return c
}

// Preset returns a named configuration: default, airline, custom or
// model-only.
func Preset(name string) (Config, error) {
	switch name {
	case "model-only":
		return ModelOnlyConfig(), nil
	case "default":
		return DefaultConfig(), nil
	case "airline":
		return AirlineConfig(), nil
	case "custom":
		return CustomConfig(), nil
	}
	return Config{}, fmt.Errorf("unknown preset %q (want default, airline, custom or model-only)", name)
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.Version == "":
		return errors.New("config: version is empty")
	case c.HashBits < 10 || c.HashBits > 22:
		return fmt.Errorf("config: hash bits %d outside [10, 22]", c.HashBits)
	case c.KnownBits < 0 || c.KnownBits > 20:
		return fmt.Errorf("config: known bits %d outside [0, 20]", c.KnownBits)
	case c.Epochs < 1:
		return fmt.Errorf("config: epochs %d, want at least 1", c.Epochs)
	case c.LearningRate <= 0 || c.L2 < 0:
		return fmt.Errorf("config: learning rate %g must be positive and L2 %g not negative", c.LearningRate, c.L2)
	}
	return nil
}

// Train fits a model to the examples.
func Train(examples []Example, cfg Config) (*score.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(examples) == 0 {
		return nil, errors.New("train: no examples")
	}
	featurizer, err := score.New(score.Options{})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	vectors := make([]score.Vector, len(examples))
	for i, ex := range examples {
		featurizer.Vectorize(ex.Text, &vectors[i])
	}
	known := knownWords(vectors, cfg.KnownBits)
	l := newLearner(cfg)
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			w := examples[i].Weight
			if w == 0 {
				w = 1
			}
			l.step(&vectors[i], examples[i].Label, w)
		}
	}
	return l.model(cfg, known)
}

// minKnownCount is how many training texts must hold a word before the
// model counts it as known: a word seen once taught it little.
const minKnownCount = 2

// knownWords is the bitset of word unigram features in at least
// minKnownCount texts, or nil for bits 0.
func knownWords(vectors []score.Vector, bits int) []uint64 {
	if bits == 0 {
		return nil
	}
	set := make([]uint64, 1<<bits)
	mask := uint32(len(set)*64 - 1)
	seen := make(map[uint32]int)
	for i := range vectors {
		for _, f := range dedupe(vectors[i].Unigrams) {
			seen[f]++
			if seen[f] == minKnownCount {
				k := f & mask
				set[k>>6] |= 1 << (k & 63)
			}
		}
	}
	return set
}

// dedupe sorts and removes repeats in place.
func dedupe(fs []uint32) []uint32 {
	slices.Sort(fs)
	return slices.Compact(fs)
}

// learner is multinomial logistic regression trained by AdaGrad. Every
// float operation is written out in a fixed order (and rounded explicitly
// where a fused multiply-add could change the result), so the same data and
// config give the same bits on every platform.
type learner struct {
	mask  uint32
	rate  float64
	l2    float64
	bias  [score.NumClasses]param
	dense [score.NumDense][score.NumClasses]param
	rows  [][score.NumClasses]param
}

// param is one weight and its AdaGrad accumulator.
type param struct {
	w, g2 float64
}

func (p *param) update(grad, rate, l2 float64) {
	grad = float64(grad + float64(l2*p.w))
	p.g2 = float64(p.g2 + float64(grad*grad))
	p.w = float64(p.w - float64(rate*grad)/math.Sqrt(p.g2+1e-8))
}

func newLearner(cfg Config) *learner {
	return &learner{
		mask: uint32(1)<<cfg.HashBits - 1,
		rate: cfg.LearningRate,
		l2:   cfg.L2,
		rows: make([][score.NumClasses]param, 1<<cfg.HashBits),
	}
}

// step takes one gradient step on one example.
func (l *learner) step(v *score.Vector, label score.Label, weight float64) {
	wordScale, charScale := groupScale(len(v.Words)), groupScale(len(v.Chars))
	var z [score.NumClasses]float64
	for c := range z {
		s := l.bias[c].w
		for i, x := range v.Dense {
			s = float64(s + float64(float64(x)*l.dense[i][c].w))
		}
		s = float64(s + float64(wordScale*l.sum(v.Words, c)))
		s = float64(s + float64(charScale*l.sum(v.Chars, c)))
		z[c] = s
	}
	p := score.Softmax(z)
	for c := range p {
		g := p[c]
		if score.Label(c) == label {
			g--
		}
		g = float64(g * weight)
		l.bias[c].update(g, l.rate, 0)
		for i, x := range v.Dense {
			if x != 0 {
				l.dense[i][c].update(float64(g*float64(x)), l.rate, l.l2)
			}
		}
		for _, h := range v.Words {
			l.rows[h&l.mask][c].update(float64(g*wordScale), l.rate, l.l2)
		}
		for _, h := range v.Chars {
			l.rows[h&l.mask][c].update(float64(g*charScale), l.rate, l.l2)
		}
	}
}

func (l *learner) sum(hashes []uint32, c int) float64 {
	s := 0.0
	for _, h := range hashes {
		s += l.rows[h&l.mask][c].w
	}
	return s
}

// groupScale matches the scorer's normalisation: a group's features share a
// unit of weight, so long texts do not get extreme logits.
func groupScale(n int) float64 {
	if n == 0 {
		return 0
	}
	return 1 / math.Sqrt(float64(n))
}

func (l *learner) model(cfg Config, known []uint64) (*score.Model, error) {
	spec := score.ModelSpec{
		Version:  cfg.Version,
		Blend:    cfg.Blend,
		Known:    known,
		HashBits: cfg.HashBits,
		Hashed:   make([][score.NumClasses]float32, len(l.rows)),
	}
	for c := 0; c < score.NumClasses; c++ {
		spec.Bias[c] = float32(l.bias[c].w)
		for i := range spec.Dense {
			spec.Dense[i][c] = float32(l.dense[i][c].w)
		}
		for i := range l.rows {
			spec.Hashed[i][c] = float32(l.rows[i][c].w)
		}
	}
	m, err := score.NewModel(spec)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return m, nil
}
