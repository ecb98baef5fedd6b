package score

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The checked-in models (see model/*/README.md). The default one is trained
// only on data whose licences allow commercial use; the airline one on the
// Twitter US Airline Sentiment data, CC BY-NC-SA 4.0: non-commercial only.
var (
	//go:embed model/default/sentiment.fbm.gz
	defaultModel []byte
	//go:embed model/airline/sentiment.fbm.gz
	airlineModel []byte
)

// Names of the built-in models.
const (
	ModelDefault = "default"
	ModelAirline = "airline"
)

// BuiltinModels names the models compiled into every binary.
func BuiltinModels() []string { return []string{ModelDefault, ModelAirline} }

// NumClasses is the number of sentiment classes, in Label order.
const NumClasses = 3

// modelMagic starts every model file; the byte after it is the format.
const (
	modelMagic = "FBSM"
	// Format 1 is a pure model; format 2 adds the Blend with the lexicon.
	modelFormat      = 1
	modelFormatBlend = 2
	maxHashBits      = 24
	// maxKnownBits bounds the known-word set: 2^maxKnownBits 64-bit words.
	maxKnownBits = 20
)

// Model is a trained linear model over hashed and dense features. It is
// immutable once built and may be shared by any number of Scorers.
type Model struct {
	version string
	blend   Blend
	known   []uint64 // bitset of the word unigrams seen in training; nil: no gate
	kmask   uint32
	bits    int
	mask    uint32
	bias    [NumClasses]float32
	dense   [NumDense][NumClasses]float32
	rows    [][NumClasses]float32
}

// ModelSpec is the content of a Model, as training produces it.
type ModelSpec struct {
	Version string
	Blend   Blend
	// Known is a bitset (len a power of two, in 64-bit words) of the word
	// unigram features seen in training; with a Blend, the share of a
	// text's words found in it sets how far the model is trusted. Empty:
	// every text counts as fully known.
	Known    []uint64
	HashBits int // the hashed table has 1<<HashBits rows
	Bias     [NumClasses]float32
	Dense    [NumDense][NumClasses]float32
	Hashed   [][NumClasses]float32
}

// Blend says how much a model defers to the lexicon. A model trained on one
// domain reads text from another poorly; the lexicon's rules hold
// everywhere, so a general model mixes its view with the lexicon's.
// The zero Blend is the model alone.
type Blend struct {
	// Label is the weight of the lexicon's class in the class
	// probabilities, in [0, 1). With a non-zero Label the complaint
	// likelihood is also the larger of the model's and the lexicon's,
	// and a likely complaint is labelled negative.
	Label float32
	// Compound is the weight of the lexicon's compound in the reported
	// compound, in [0, 1]: the lexicon's graded intensity tracks human
	// ratings better than a difference of class probabilities.
	Compound float32
}

func (b Blend) validate() error {
	if !(b.Label >= 0 && b.Label < 1) || !(b.Compound >= 0 && b.Compound <= 1) {
		return fmt.Errorf("model blend label %g, compound %g: want label in [0, 1) and compound in [0, 1]", b.Label, b.Compound)
	}
	return nil
}

// NewModel checks a spec and builds a Model from it.
func NewModel(spec ModelSpec) (*Model, error) {
	if spec.Version == "" {
		return nil, errors.New("model has no version")
	}
	if len(spec.Version) > 255 {
		return nil, fmt.Errorf("model version %.20q... is longer than 255 bytes", spec.Version)
	}
	if err := spec.Blend.validate(); err != nil {
		return nil, err
	}
	if spec.HashBits < 1 || spec.HashBits > maxHashBits {
		return nil, fmt.Errorf("model hash bits %d outside [1, %d]", spec.HashBits, maxHashBits)
	}
	if len(spec.Hashed) != 1<<spec.HashBits {
		return nil, fmt.Errorf("model has %d hashed rows, want %d for %d bits", len(spec.Hashed), 1<<spec.HashBits, spec.HashBits)
	}
	if n := len(spec.Known); n != 0 && (n&(n-1) != 0 || n > 1<<maxKnownBits) {
		return nil, fmt.Errorf("model known-word set of %d words: want a power of two up to %d", n, 1<<maxKnownBits)
	}
	var kmask uint32
	if len(spec.Known) > 0 {
		kmask = uint32(len(spec.Known)*64 - 1)
	}
	return &Model{
		version: spec.Version,
		blend:   spec.Blend,
		known:   spec.Known,
		kmask:   kmask,
		bits:    spec.HashBits,
		mask:    uint32(1)<<spec.HashBits - 1,
		bias:    spec.Bias,
		dense:   spec.Dense,
		rows:    spec.Hashed,
	}, nil
}

// Version names the model; it is reported in every Result.
func (m *Model) Version() string { return m.version }

// Blend is how much the model defers to the lexicon.
func (m *Model) Blend() Blend { return m.blend }

// knows reports whether a word unigram feature was seen in training.
func (m *Model) knows(h uint32) bool {
	h &= m.kmask
	return m.known[h>>6]&(1<<(h&63)) != 0
}

// HashBits is the log2 size of the hashed weight table.
func (m *Model) HashBits() int { return m.bits }

// DefaultModel loads the embedded default model, which a company may ship.
func DefaultModel() (*Model, error) { return BuiltinModel(ModelDefault) }

// BuiltinModel loads an embedded model by name.
func BuiltinModel(name string) (*Model, error) {
	var data []byte
	switch name {
	case ModelDefault:
		data = defaultModel
	case ModelAirline:
		data = airlineModel
	default:
		return nil, fmt.Errorf("no built-in model %q (built in: %s, %s)", name, ModelDefault, ModelAirline)
	}
	m, err := LoadModel(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load built-in model %s: %w", name, err)
	}
	return m, nil
}

// OpenModel loads a built-in model by name ("default", "airline") or else
// a model file written by WriteTo, such as one `firebreak train` made from a
// team's own labelled mentions.
func OpenModel(nameOrPath string) (*Model, error) {
	for _, n := range BuiltinModels() {
		if nameOrPath == n {
			return BuiltinModel(n)
		}
	}
	f, err := os.Open(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("model %q is neither a built-in model (%s, %s) nor a readable file: %w", nameOrPath, ModelDefault, ModelAirline, err)
	}
	defer f.Close()
	m, err := LoadModel(io.LimitReader(f, maxModelFile))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", nameOrPath, err)
	}
	return m, nil
}

// maxModelFile bounds what OpenModel reads: the largest model (24 hash bits)
// compresses to far less.
const maxModelFile = 256 << 20

// LoadModel reads a model written by WriteTo.
func LoadModel(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	br := bufio.NewReader(zr)
	head := make([]byte, len(modelMagic)+3)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("read model header: %w", err)
	}
	if string(head[:len(modelMagic)]) != modelMagic || (head[4] != modelFormat && head[4] != modelFormatBlend) {
		return nil, fmt.Errorf("read model: not a firebreak model of format %d or %d", modelFormat, modelFormatBlend)
	}
	spec := ModelSpec{HashBits: int(head[5])}
	if int(head[6]) != NumDense {
		return nil, fmt.Errorf("read model: %d dense features, this scorer computes %d", head[6], NumDense)
	}
	if spec.HashBits < 1 || spec.HashBits > maxHashBits {
		return nil, fmt.Errorf("read model: hash bits %d outside [1, %d]", spec.HashBits, maxHashBits)
	}
	n, err := br.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("read model version: %w", err)
	}
	version := make([]byte, n)
	if _, err := io.ReadFull(br, version); err != nil {
		return nil, fmt.Errorf("read model version: %w", err)
	}
	spec.Version = string(version)
	if head[4] == modelFormatBlend {
		var b [2]float32
		if err := readFloats(br, b[:]); err != nil {
			return nil, fmt.Errorf("read model %s blend: %w", spec.Version, err)
		}
		spec.Blend = Blend{Label: b[0], Compound: b[1]}
		bits, err := br.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("read model %s known words: %w", spec.Version, err)
		}
		if bits > maxKnownBits {
			return nil, fmt.Errorf("read model %s: known-word set of 2^%d words, at most 2^%d", spec.Version, bits, maxKnownBits)
		}
		if bits > 0 {
			buf := make([]byte, 8<<bits)
			if _, err := io.ReadFull(br, buf); err != nil {
				return nil, fmt.Errorf("read model %s known words: %w", spec.Version, err)
			}
			spec.Known = make([]uint64, 1<<bits)
			for i := range spec.Known {
				spec.Known[i] = binary.LittleEndian.Uint64(buf[8*i:])
			}
		}
	}
	spec.Hashed = make([][NumClasses]float32, 1<<spec.HashBits)
	flat := make([]float32, NumClasses*(1+NumDense+len(spec.Hashed)))
	if err := readFloats(br, flat); err != nil {
		return nil, fmt.Errorf("read model %s weights: %w", spec.Version, err)
	}
	copy(spec.Bias[:], flat)
	flat = flat[NumClasses:]
	for i := range spec.Dense {
		copy(spec.Dense[i][:], flat[NumClasses*i:])
	}
	flat = flat[NumClasses*NumDense:]
	for i := range spec.Hashed {
		copy(spec.Hashed[i][:], flat[NumClasses*i:])
	}
	return NewModel(spec)
}

// WriteTo writes the model as a gzip stream. The output depends only on the
// weights, so retraining on the same data reproduces the file byte for byte.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return cw.n, fmt.Errorf("write model: %w", err)
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(modelMagic)
	// A pure model keeps format 1, so older files reproduce byte for byte.
	format := byte(modelFormat)
	if m.blend != (Blend{}) {
		format = modelFormatBlend
	}
	bw.Write([]byte{format, byte(m.bits), NumDense, byte(len(m.version))})
	bw.WriteString(m.version)
	if format == modelFormatBlend {
		writeFloats(bw, []float32{m.blend.Label, m.blend.Compound})
		bits := 0
		for 1<<bits < len(m.known) {
			bits++
		}
		if len(m.known) == 0 {
			bits = 0
		}
		bw.WriteByte(byte(bits))
		buf := make([]byte, 8*len(m.known))
		for i, w := range m.known {
			binary.LittleEndian.PutUint64(buf[8*i:], w)
		}
		bw.Write(buf)
	}
	dense := m.dense
	for _, src := range [][]float32{m.bias[:], flatten(dense[:]), flatten(m.rows)} {
		writeFloats(bw, src)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return cw.n, fmt.Errorf("write model: %w", err)
	}
	return cw.n, nil
}

func flatten[T ~[NumClasses]float32](rows []T) []float32 {
	out := make([]float32, 0, len(rows)*NumClasses)
	for _, r := range rows {
		out = append(out, r[:]...)
	}
	return out
}

func readFloats(r io.Reader, dst []float32) error {
	buf := make([]byte, 4*len(dst))
	if _, err := io.ReadFull(r, buf); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return nil
}

func writeFloats(w io.Writer, src []float32) {
	buf := make([]byte, 4*len(src))
	for i, f := range src {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(f))
	}
	w.Write(buf) // errors surface at Flush
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
