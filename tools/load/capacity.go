package load

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// The capacity model's assumptions: what a pod may use, how hard a core,
// a Redis shard or a stream partition is driven before adding another,
// and the replication that survives a node's loss.
const (
	podCores        = 1.0 // each pod requests one core
	headroom        = 0.6 // run cores, Redis shards and partitions at 60%
	minPods         = 2   // two of everything, to survive a node
	streamReplicas  = 3   // JetStream R3
	redisCoresShard = 1.0 // Redis runs commands on one core
)

// PlanRates are the rates the model sizes a deployment for: an ordinary
// brand, a large one, and a large one's viral day.
var PlanRates = []float64{1_000, 10_000, 100_000}

// Capacity is the capacity model: what one mention costs, measured in a
// fast phase, and what that makes a deployment for each of PlanRates.
type Capacity struct {
	Basis string `json:"basis"`
	// Decided is how many mentions the costs are averaged over.
	Decided int `json:"decided"`
	// CPUms is CPU milliseconds per mention by service; "other" is the
	// broker and the runtime in process, Harness the load generator and
	// the sink. Neither is a service to deploy; both share the cores of
	// the check.
	CPUms              map[string]float64 `json:"cpu_ms_per_mention"`
	RedisCPUms         float64            `json:"redis_cpu_ms_per_mention"`
	RedisOpsPerMention float64            `json:"redis_commands_per_mention"`
	StoredBytes        float64            `json:"stored_bytes_per_mention"`
	// PartitionRate is what one stream carries through the four hops at
	// the run's sync (the single-stream ceiling).
	PartitionRate float64 `json:"partition_per_s"`
	PartitionSync string  `json:"partition_sync"`
	// Predicted is what the model says this machine's cores sustain;
	// Measured is what the phase achieved: the check of the model.
	Predicted float64 `json:"predicted_per_s_here"`
	Measured  float64 `json:"measured_per_s_here"`
	Plans     []Plan  `json:"plans"`
}

// Plan sizes a deployment for one rate.
type Plan struct {
	Rate        float64        `json:"mentions_per_s"`
	Pods        map[string]int `json:"pods"`
	Partitions  int            `json:"stream_partitions"`
	RedisShards int            `json:"redis_primaries"`
	// BrokerMBps is what the brokers write, replicas included.
	BrokerMBps float64 `json:"broker_write_mb_per_s"`
}

// Model builds the capacity model from the runs: costs from the fast phase
// of the run with the default sync (CPU-bound, so the check against this
// machine's cores is fair), partitions from the single-stream ceiling with
// sync always (the chart's setting) when a run measured it. ok is false
// when no run has a fast phase that decided anything.
func Model(runs []Run, cpus int) (Capacity, bool) {
	var r Run
	for _, run := range runs {
		if !run.SyncAlways || r.Phases == nil {
			r = run
		}
	}
	ceiling, ceilingAlways := r.CeilingSingle, r.SyncAlways
	for _, run := range runs {
		if run.SyncAlways && run.CeilingSingle != nil {
			ceiling, ceilingAlways = run.CeilingSingle, true
		}
	}
	p, found := fastest(r)
	if !found || p.Decided == 0 || len(p.Usage.CPUByService) == 0 {
		return Capacity{}, false
	}
	n := float64(p.Decided)
	c := Capacity{
		Basis: fmt.Sprintf("fast phase, sync %s", syncName(r.SyncAlways)), Decided: p.Decided, CPUms: map[string]float64{},
		RedisCPUms: 1000 * p.CPU.Redis / n, RedisOpsPerMention: p.CPU.RedisCommands / n, StoredBytes: p.CPU.StoredBytes / n,
		Measured: p.Throughput,
	}
	total := c.RedisCPUms
	for svc, s := range p.Usage.CPUByService {
		c.CPUms[svc] = 1000 * s / n
		total += c.CPUms[svc]
	}
	if total > 0 {
		c.Predicted = float64(cpus) * 1000 / total
	}
	if ceiling != nil {
		c.PartitionRate = ceiling.PerSecond
		c.PartitionSync = syncName(ceilingAlways)
	}
	for _, rate := range PlanRates {
		c.Plans = append(c.Plans, c.plan(rate))
	}
	return c, true
}

// plan sizes each service by its CPU per mention, the streams by what one
// partition carries, and Redis by its CPU per mention, each at headroom.
func (c Capacity) plan(rate float64) Plan {
	p := Plan{Rate: rate, Pods: map[string]int{}}
	for svc, ms := range c.CPUms {
		if !deployed(svc) {
			continue
		}
		p.Pods[svc] = max(minPods, int(math.Ceil(rate*ms/1000/(podCores*headroom))))
	}
	// Without a measured ceiling the partitions are not sized (0), not
	// guessed.
	if c.PartitionRate > 0 {
		p.Partitions = max(1, int(math.Ceil(rate/(c.PartitionRate*headroom))))
	}
	p.RedisShards = max(1, int(math.Ceil(rate*c.RedisCPUms/1000/(redisCoresShard*headroom))))
	p.BrokerMBps = rate * c.StoredBytes * streamReplicas / 1e6
	return p
}

// WriteText prints the per-mention costs, the check against this machine
// and a deployment per rate.
func (c Capacity) WriteText(w io.Writer) {
	fmt.Fprintf(w, "\nCAPACITY MODEL (from the %s: %d mentions)\n", c.Basis, c.Decided)
	fmt.Fprintf(w, "  per mention: %s, redis %.3f ms CPU and %.1f commands, %.0f bytes stored (before replication)\n",
		byCost(c.CPUms), c.RedisCPUms, c.RedisOpsPerMention, c.StoredBytes)
	fmt.Fprintf(w, "  check: these costs predict %.0f mentions/s on this machine's cores; the phase achieved %.0f/s\n", c.Predicted, c.Measured)
	services := c.services()
	fmt.Fprintf(w, "  %-12s", "mentions/s")
	for _, svc := range services {
		fmt.Fprintf(w, " %10s", svc)
	}
	fmt.Fprintf(w, " %10s %8s %10s\n", "partitions", "redis", "broker MB/s")
	for _, p := range c.Plans {
		fmt.Fprintf(w, "  %-12.0f", p.Rate)
		for _, svc := range services {
			fmt.Fprintf(w, " %10d", p.Pods[svc])
		}
		parts := "-"
		if p.Partitions > 0 {
			parts = fmt.Sprint(p.Partitions)
		}
		fmt.Fprintf(w, " %10s %8d %10.1f\n", parts, p.RedisShards, p.BrokerMBps)
	}
	partitions := "partitions not sized: no single-stream ceiling was measured (--ceiling-duration 0)"
	if c.PartitionRate > 0 {
		partitions = fmt.Sprintf("partitions of %.0f/s each (sync %s) at %.0f%%", c.PartitionRate, c.PartitionSync, 100*headroom)
	}
	fmt.Fprintf(w, "  (pods of one core at %.0f%%, at least %d each; %s; Redis primaries at %.0f%% of a core; broker writes x%d for R%d)\n",
		100*headroom, minPods, partitions, 100*headroom, streamReplicas, streamReplicas)
}

// deployed says whether a CPU label is a service the model sizes pods for:
// not the broker ("other") nor the harness.
func deployed(label string) bool { return label != "other" && label != Harness }

func (c Capacity) services() []string {
	var out []string
	for svc := range c.CPUms {
		if deployed(svc) {
			out = append(out, svc)
		}
	}
	slices.Sort(out)
	return out
}

func byCost(ms map[string]float64) string {
	keys := make([]string, 0, len(ms))
	for k := range ms {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(ms[b], ms[a]) }) // costliest first
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.3f ms", k, ms[k])
	}
	return strings.Join(parts, ", ")
}
