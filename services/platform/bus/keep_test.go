package bus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// A single test server cannot hold an R3 stream; the decision EnsureStreams
// applies to one is keepLarger's.
func TestADefaultOfOneReplicaKeepsAnR3StreamAtR3(t *testing.T) {
	var log bytes.Buffer
	existing := jetstream.StreamConfig{Name: "FIREBREAK_MENTIONS", Replicas: 3, MaxBytes: -1}
	wanted := jetstream.StreamConfig{Name: "FIREBREAK_MENTIONS", Replicas: 1, MaxBytes: 4 << 30}
	got := keepLarger(existing, wanted, slog.New(slog.NewTextHandler(&log, nil)))
	if got.Replicas != 3 {
		t.Fatalf("--stream-replicas 1 would scale an R3 stream to R%d", got.Replicas)
	}
	if got.MaxBytes != 4<<30 {
		t.Errorf("a stream with no budget kept none (%d), want the configured one", got.MaxBytes)
	}
	if !strings.Contains(log.String(), "replicas=3 configured=1") || !strings.Contains(log.String(), "--stream-scale-down") {
		t.Errorf("keeping R3 was not logged with what to do: %q", log.String())
	}
	if up := keepLarger(jetstream.StreamConfig{Replicas: 1}, jetstream.StreamConfig{Replicas: 3}, nil); up.Replicas != 3 {
		t.Errorf("--stream-replicas 3 on an R1 stream gives R%d, want R3", up.Replicas)
	}
}
