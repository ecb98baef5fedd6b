package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys of a mention partition's stream: how many partitions the
// mentions are split into, and which one the stream holds. The stream
// owner writes them; every service checks them at start-up
// (CheckPartitions), so services that disagree about the layout refuse to
// start rather than publish a mention where its join never comes.
const (
	MetaPartitions = "firebreak_mention_partitions"
	MetaPartition  = "firebreak_mention_partition"
)

// ErrPartitionMismatch is a service configured with a partition count other
// than the one the mention streams were made with.
var ErrPartitionMismatch = errors.New("mention partitions differ from the streams'")

// mentionPartitionSpecs are the streams of the mention partitions. Each
// takes the mention subjects ending in its partition token, with one token
// between (scored, reached, spread) or two (ingested.<platform>,
// updated.<platform>), and records the layout in its metadata.
func (n Names) mentionPartitionSpecs() []StreamSpec {
	out := make([]StreamSpec, n.Partitions)
	base := n.Prefix + "." + NounMentions
	for p := range out {
		tok := ".p" + strconv.Itoa(p)
		out[p] = StreamSpec{
			Name: n.MentionStream(p), Subjects: []string{base + ".*" + tok, base + ".*.*" + tok},
			Noun: NounMentions, Shares: n.Partitions,
			Metadata: map[string]string{MetaPartitions: strconv.Itoa(n.Partitions), MetaPartition: strconv.Itoa(p)},
		}
	}
	return out
}

// CheckPartitions returns ErrPartitionMismatch, with what to do, when the
// mention streams exist with another partition count than names'. The
// first mention stream, PREFIX_MENTIONS in every layout, holds the count
// in its metadata (none: one partition, a stream older than partitions);
// its not existing is no mismatch: the stream owner is about to create it.
func CheckPartitions(ctx context.Context, js jetstream.JetStream, names Names) error {
	name := names.MentionStream(0)
	st, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up stream %s for its mention partitions: %w", name, err)
	}
	have := 1
	if v, ok := st.CachedInfo().Config.Metadata[MetaPartitions]; ok {
		if have, err = strconv.Atoi(v); err != nil || have < 1 {
			return fmt.Errorf("stream %s has %s metadata %q, not a count; it was changed by hand: set it to the number of mention streams", name, MetaPartitions, v)
		}
	}
	if have != names.MentionPartitions() {
		return fmt.Errorf("%w: the mentions are in %d partition(s) (stream %s) and this service has --mention-partitions=%d; "+
			"run every service with --mention-partitions=%d, or change the count: stop ingest, wait until the consumers of the mention streams have nothing pending, stop every service, delete the mention streams, then start every service with the new count",
			ErrPartitionMismatch, have, name, names.MentionPartitions(), have)
	}
	return nil
}
