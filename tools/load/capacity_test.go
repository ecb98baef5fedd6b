package load

import (
	"math"
	"strings"
	"testing"
)

// The model divides each cost by the mentions decided and sizes every
// part at 60%: a hand-worked example, with the partition rate taken from
// the sync-always run (the chart's) and costs from the default-sync one.
func TestCapacityModelSizesEachPartFromItsMeasuredCost(t *testing.T) {
	fast := Phase{Name: "fast", Decided: 1000, Throughput: 850,
		CPU:   CPU{Redis: 0.2, RedisCommands: 3000, StoredBytes: 1e6},
		Usage: Usage{CPUByService: map[string]float64{"escalation": 1.0, "scorer": 0.5, "other": 0.3, Harness: 0.2}}}
	always := Run{SyncAlways: true, CeilingSingle: &CeilingResult{PerSecond: 800}, Phases: []Phase{{Name: "fast", Decided: 10, Usage: Usage{CPUByService: map[string]float64{"scorer": 9}}}}}
	def := Run{CeilingSingle: &CeilingResult{PerSecond: 5000}, Phases: []Phase{fast}}
	c, ok := Model([]Run{always, def}, 2)
	if !ok {
		t.Fatal("a run with a fast phase must give a model")
	}
	if c.CPUms["escalation"] != 1 || c.RedisOpsPerMention != 3 || c.StoredBytes != 1000 || c.PartitionRate != 800 || c.PartitionSync != "always" {
		t.Fatalf("costs per mention: %+v", c)
	}
	if want := 2 * 1000 / 2.2; math.Abs(c.Predicted-want) > 0.01 || c.Measured != 850 {
		t.Fatalf("check against this machine: predicted %v want %v, measured %v", c.Predicted, want, c.Measured)
	}
	p := c.Plans[1]
	if p.Rate != 10_000 || p.Pods["escalation"] != 17 || p.Pods["scorer"] != 9 || p.Partitions != 21 || p.RedisShards != 4 || p.BrokerMBps != 30 {
		t.Fatalf("plan for 10,000/s: %+v", p)
	}
	for _, label := range []string{"other", Harness} {
		if _, ok := p.Pods[label]; ok {
			t.Fatalf("%s (the broker, the load generator) is not a service to deploy: %v", label, p.Pods)
		}
	}
	if small := c.Plans[0]; small.Pods["scorer"] != minPods || small.RedisShards != 1 {
		t.Fatalf("a small rate still runs two of everything and one Redis: %+v", small)
	}
	if _, ok := Model([]Run{{Phases: []Phase{{Name: "rate", Rate: 1000, Decided: 5}}}}, 2); ok {
		t.Fatal("a run without a fast phase has no costs to model")
	}
}

// A run that measured no ceiling does not size the partitions: the model
// says so rather than printing one partition of 0/s.
func TestCapacityModelWithoutACeilingLeavesPartitionsUnsized(t *testing.T) {
	fast := Phase{Name: "fast", Decided: 100, Throughput: 90,
		CPU: CPU{Redis: 0.02}, Usage: Usage{CPUByService: map[string]float64{"escalation": 0.1}}}
	c, ok := Model([]Run{{Phases: []Phase{fast}}}, 2)
	if !ok {
		t.Fatal("a run with a fast phase must give a model")
	}
	for _, p := range c.Plans {
		if p.Partitions != 0 {
			t.Fatalf("plan for %.0f/s sized %d partitions from no ceiling", p.Rate, p.Partitions)
		}
	}
	var out strings.Builder
	c.WriteText(&out)
	if !strings.Contains(out.String(), "partitions not sized") || strings.Contains(out.String(), "0/s each") {
		t.Fatalf("the model must say the partitions were not sized:\n%s", out.String())
	}
}
