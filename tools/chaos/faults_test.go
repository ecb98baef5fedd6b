package chaos

import (
	"maps"
	"slices"
	"testing"

	"github.com/firebreak/firebreak/services/platform/bus"
)

// TestOneMentionStreamIsTargetedAsBefore pins the unpartitioned layout:
// the faults aim at FIREBREAK_MENTIONS under the names they always had.
func TestOneMentionStreamIsTargetedAsBefore(t *testing.T) {
	for _, names := range []bus.Names{{Prefix: "firebreak"}, {Prefix: "firebreak", Partitions: 1}} {
		if got, want := fullStreams(names), []string{"FIREBREAK_MENTIONS", "FIREBREAK_CASES"}; !slices.Equal(got, want) {
			t.Errorf("Partitions %d: streams full %v, want %v", names.Partitions, got, want)
		}
		targets := [][2]string{}
		for i := range 4 {
			what, stream := leaderTarget(names, i, 0)
			targets = append(targets, [2]string{what, stream})
		}
		want := [][2]string{{"meta", ""}, {"mentions stream", "FIREBREAK_MENTIONS"}, {"meta", ""}, {"cases stream", "FIREBREAK_CASES"}}
		if !slices.Equal(targets, want) {
			t.Errorf("Partitions %d: leader targets %v, want %v", names.Partitions, targets, want)
		}
		for i := range 10 {
			if got := poisonSubject(names, i); got != "firebreak.mentions.ingested.x" {
				t.Fatalf("Partitions %d: poison message %d on %s, want firebreak.mentions.ingested.x", names.Partitions, i, got)
			}
		}
		if got := slices.Sorted(maps.Keys(consumersByStream(names))); !slices.Equal(got, []string{"FIREBREAK_CASES", "FIREBREAK_MENTIONS"}) {
			t.Errorf("Partitions %d: consumers waited on in %v, want the mentions and cases streams", names.Partitions, got)
		}
	}
}

// TestEveryMentionPartitionIsTargeted: with partitions, every fault that
// aims at the mentions stream reaches each partition's stream.
func TestEveryMentionPartitionIsTargeted(t *testing.T) {
	names := bus.Names{Prefix: "firebreak", Partitions: 3}
	mentions := []string{"FIREBREAK_MENTIONS", "FIREBREAK_MENTIONS_P1", "FIREBREAK_MENTIONS_P2"}

	if got, want := fullStreams(names), append(slices.Clone(mentions), "FIREBREAK_CASES"); !slices.Equal(got, want) {
		t.Errorf("streams full %v, want %v", got, want)
	}
	if got := streamsOf(names, bus.NounMentions); !slices.Equal(got, mentions) {
		t.Errorf("mentions re-sent from %v, want %v", got, mentions)
	}

	for p, stream := range mentions {
		what, got := leaderTarget(names, 1, p)
		if got != stream || what != "mentions stream "+stream {
			t.Errorf("mentions turn, partition %d: killed the leader of %q (%q), want %s", p, got, what, stream)
		}
	}
	if what, got := leaderTarget(names, 3, 2); got != "FIREBREAK_CASES" || what != "cases stream" {
		t.Errorf("cases turn: killed the leader of %q (%q), want FIREBREAK_CASES", got, what)
	}

	// Each poison message is on a subject its partition's stream takes,
	// and every partition gets some.
	hit := map[int]int{}
	for i := range 10 {
		subject := poisonSubject(names, i)
		p := names.PartitionOf(subject)
		if want := names.InPartition(names.Ingested("x"), p); subject != want {
			t.Fatalf("poison message %d on %s, not an ingested subject of partition %d (%s)", i, subject, p, want)
		}
		hit[p]++
	}
	if len(hit) != 3 {
		t.Errorf("poison messages per partition %v, want some in each of 3", hit)
	}

	byStream := consumersByStream(names)
	for _, stream := range mentions {
		if got := byStream[stream]; !slices.Equal(got, []string{"scorer-mentions", "reach-mentions", "escalation-join"}) {
			t.Errorf("consumers waited on in %s: %v, want scorer's, reach's and escalation's", stream, got)
		}
	}
	if len(byStream) != 4 {
		t.Errorf("consumers waited on in %d streams, want the 3 mention partitions and cases", len(byStream))
	}
}

// TestPoisonKeyTellsPartitionsApart: the same sequence in two partitions'
// streams is two poison messages.
func TestPoisonKeyTellsPartitionsApart(t *testing.T) {
	if poisonKey("FIREBREAK_MENTIONS", "7") == poisonKey("FIREBREAK_MENTIONS_P1", "7") {
		t.Fatal("poison messages at sequence 7 of two partitions share a key")
	}
}
