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
)

// The checked-in model, trained by `firebreak train` on the Twitter US
// Airline Sentiment data (CC BY-NC-SA 4.0, see model/README.md).
//
//go:embed model/sentiment.fbm.gz
var defaultModel []byte

// NumClasses is the number of sentiment classes, in Label order.
const NumClasses = 3

// modelMagic starts every model file; the byte after it is the format.
const (
	modelMagic  = "FBSM"
	modelFormat = 1
	maxHashBits = 24
)

// Model is a trained linear model over hashed and dense features. It is
// immutable once built and may be shared by any number of Scorers.
type Model struct {
	version string
	bits    int
	mask    uint32
	bias    [NumClasses]float32
	dense   [NumDense][NumClasses]float32
	rows    [][NumClasses]float32
}

// ModelSpec is the content of a Model, as training produces it.
type ModelSpec struct {
	Version  string
	HashBits int // the hashed table has 1<<HashBits rows
	Bias     [NumClasses]float32
	Dense    [NumDense][NumClasses]float32
	Hashed   [][NumClasses]float32
}

// NewModel checks a spec and builds a Model from it.
func NewModel(spec ModelSpec) (*Model, error) {
	if spec.Version == "" {
		return nil, errors.New("model has no version")
	}
	if len(spec.Version) > 255 {
		return nil, fmt.Errorf("model version %.20q... is longer than 255 bytes", spec.Version)
	}
	if spec.HashBits < 1 || spec.HashBits > maxHashBits {
		return nil, fmt.Errorf("model hash bits %d outside [1, %d]", spec.HashBits, maxHashBits)
	}
	if len(spec.Hashed) != 1<<spec.HashBits {
		return nil, fmt.Errorf("model has %d hashed rows, want %d for %d bits", len(spec.Hashed), 1<<spec.HashBits, spec.HashBits)
	}
	return &Model{
		version: spec.Version,
		bits:    spec.HashBits,
		mask:    uint32(1)<<spec.HashBits - 1,
		bias:    spec.Bias,
		dense:   spec.Dense,
		rows:    spec.Hashed,
	}, nil
}

// Version names the model; it is reported in every Result.
func (m *Model) Version() string { return m.version }

// HashBits is the log2 size of the hashed weight table.
func (m *Model) HashBits() int { return m.bits }

// DefaultModel loads the embedded, checked-in model.
func DefaultModel() (*Model, error) {
	m, err := LoadModel(bytes.NewReader(defaultModel))
	if err != nil {
		return nil, fmt.Errorf("load embedded model: %w", err)
	}
	return m, nil
}

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
	if string(head[:len(modelMagic)]) != modelMagic || head[4] != modelFormat {
		return nil, fmt.Errorf("read model: not a firebreak model of format %d", modelFormat)
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
	bw.Write([]byte{modelFormat, byte(m.bits), NumDense, byte(len(m.version))})
	bw.WriteString(m.version)
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
