package ledger

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	fbv1 "github.com/firebreak/firebreak/proto/firebreak/v1"
)

// reachOf reads the same reach as decoding the whole ReachedMention: with
// the mention before or after it, none, or the reach split in two.
func TestReachOfReadsWhatUnmarshalReads(t *testing.T) {
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Text: "late again", Author: &fbv1.Author{Id: "a1", Followers: 120}}
	enc := func(msg proto.Message) []byte {
		b, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	whole := enc(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Followers: 120, Tier: fbv1.Tier_TIER_HIGH}})
	reachFirst := append(enc(&fbv1.ReachedMention{Reach: &fbv1.Reach{Followers: 5}}), enc(&fbv1.ReachedMention{Mention: m})...)
	split := append(enc(&fbv1.ReachedMention{Reach: &fbv1.Reach{Followers: 5}}), enc(&fbv1.ReachedMention{Mention: m, Reach: &fbv1.Reach{Tier: fbv1.Tier_TIER_RIVAL}})...)
	for name, b := range map[string][]byte{"whole": whole, "reach first": reachFirst, "split": split, "no reach": enc(&fbv1.ReachedMention{Mention: m}), "empty": nil} {
		var want fbv1.ReachedMention
		if err := proto.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, err := reachOf(b)
		if err != nil || !proto.Equal(got, want.Reach) || (got == nil) != (want.Reach == nil) {
			t.Errorf("%s: reachOf = %v, %v; Unmarshal reads %v", name, got, err, want.Reach)
		}
	}
	if _, err := reachOf(whole[:len(whole)-1]); err == nil {
		t.Error("a truncated reach decoded without error")
	}
}

// A ready join takes the score it sent from the message decoded already,
// and decodes a stored score of other bytes.
func TestReadyJoinTakesTheScoreItSent(t *testing.T) {
	m := &fbv1.Mention{Id: "x:1", Brand: "acme", Author: &fbv1.Author{Id: "a1"}}
	sent := &fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 0.9}}
	data, err := proto.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	other, err := proto.Marshal(&fbv1.ScoredMention{Mention: m, Score: &fbv1.Score{Complaint: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	ready := func(score []byte) []string { return []string{"ready", string(score), "", "0:0:0:0:0", "0", "0", ""} }
	j, err := parseReady(ready(data), time.Hour, sent, data)
	if err != nil || j.Score != sent.Score || j.Mention != sent.Mention {
		t.Errorf("the join sent the score: got %v, %v (%v), want the sent messages", j.Score, j.Mention, err)
	}
	j, err = parseReady(ready(other), time.Hour, sent, data)
	if err != nil || j.Score == sent.Score || j.Score.GetComplaint() != 0.2 {
		t.Errorf("a stored score of other bytes: got %v (%v), want it decoded", j.Score, err)
	}
}
