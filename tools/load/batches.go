package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsClient reads the services' /metrics: a service that hangs fails
// the phase rather than holding it forever.
var metricsClient = &http.Client{Timeout: 10 * time.Second}

// batchMetric is the histogram of messages per batch every batch consumer
// records (bus.Consumer).
const batchMetric = "firebreak_message_batch_size"

// Batches are the messages the batch consumers handled and the batches
// they came in, by consumer: how much of a batch's shared cost (a Redis
// round trip, a handling) each message paid.
type Batches map[string]BatchCount

// BatchCount is one consumer's messages and batches.
type BatchCount struct {
	Messages float64 `json:"messages"`
	Batches  float64 `json:"batches"`
}

// PerBatch is the mean batch size (0 without batches).
func (b BatchCount) PerBatch() float64 {
	if b.Batches == 0 {
		return 0
	}
	return b.Messages / b.Batches
}

// All adds up every consumer's.
func (b Batches) All() BatchCount {
	var all BatchCount
	for _, c := range b {
		all.Messages += c.Messages
		all.Batches += c.Batches
	}
	return all
}

// Since is b less an earlier reading.
func (b Batches) Since(before Batches) Batches {
	out := make(Batches, len(b))
	for name, c := range b {
		c.Messages -= before[name].Messages
		c.Batches -= before[name].Batches
		out[name] = c
	}
	return out
}

// String lists each consumer's mean batch size.
func (b Batches) String() string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.1f", n, b[n].PerBatch())
	}
	return strings.Join(parts, ", ")
}

// ReadBatches reads the batch sizes from each service's /metrics and adds
// them up by consumer: replicas of a service share their consumers.
func ReadBatches(ctx context.Context, urls []string) (Batches, error) {
	out := Batches{}
	for _, url := range urls {
		if err := readBatches(ctx, url, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readBatches(ctx context.Context, url string, into Batches) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := metricsClient.Do(req)
	if err != nil {
		return fmt.Errorf("read the batch sizes from %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("read the batch sizes from %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return fmt.Errorf("parse the metrics of %s: %w", url, err)
	}
	family, ok := families[batchMetric]
	if !ok {
		return nil // a service without batch consumers
	}
	for _, m := range family.GetMetric() {
		h := m.GetHistogram()
		for _, l := range m.GetLabel() {
			if l.GetName() == "consumer" {
				c := into[l.GetValue()]
				c.Messages += h.GetSampleSum()
				c.Batches += float64(h.GetSampleCount())
				into[l.GetValue()] = c
			}
		}
	}
	return nil
}
