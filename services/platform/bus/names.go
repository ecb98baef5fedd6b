// Package bus is Firebreak's use of NATS JetStream: the names of subjects,
// streams and headers, the streams themselves, publishing with dedup ids and
// awaited acks, and the one consumer loop every service runs.
package bus

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// Header names. NATS headers are case-sensitive, so these are exact.
const (
	HeaderEvent       = "Firebreak-Event"
	HeaderMentionID   = "Firebreak-Mention-Id"
	HeaderCaseID      = "Firebreak-Case-Id"
	HeaderDeadReason  = "Firebreak-Dead-Reason"
	HeaderDeadSubject = "Firebreak-Dead-Subject"
	HeaderDeadCount   = "Firebreak-Dead-Deliveries"
	HeaderDeadStream  = "Firebreak-Dead-Stream"
	HeaderDeadSeq     = "Firebreak-Dead-Sequence"
	// HeaderDeadAt is when a dead letter moved from the shared stream
	// (MoveSharedDeadLetters) was first stored; its stream's time is
	// when it moved.
	HeaderDeadAt = "Firebreak-Dead-At"
)

// Event types, the value of the Firebreak-Event header.
const (
	TypeMentionIngested = "mention.ingested"
	TypeMentionScored   = "mention.scored"
	TypeMentionReached  = "mention.reached"
	TypeCaseCommand     = "case.command"
)

// CaseEventType is the event type of a case event ("case.opened").
func CaseEventType(event string) string { return "case." + event }

// NotificationType is the event type of a delivery outcome
// ("notification.delivered").
func NotificationType(outcome string) string { return "notification." + outcome }

// Mention events: the event part of a mention's dedup id, MsgID(id, event).
const (
	EventIngested = "ingested"
	EventScored   = "scored"
	EventReached  = "reached"
)

// Stream nouns; a stream's name is PREFIX_NOUN in upper snake case.
const (
	NounMentions      = "mentions"
	NounCases         = "cases"
	NounNotifications = "notifications"
	NounDeadLetter    = "deadletter"
	NounCommands      = "commands"
)

// Nouns are every stream's noun. Each noun has one stream, but for dead
// letters: each service that consumes has a dead-letter stream of its own
// (DeadLetterStream), and the noun's limits and budget apply to each.
var Nouns = []string{NounMentions, NounCases, NounNotifications, NounDeadLetter, NounCommands}

// Names derives every subject and stream name from one prefix, so two
// installations can share a NATS account.
type Names struct {
	Prefix string
	// Partitions is how many streams the mentions are split over by
	// author, so that their fsyncs run side by side (sync_interval:
	// always serialises each stream's writes). 0 and 1 are one stream,
	// PREFIX_MENTIONS, with the subjects below as they are; with more,
	// each mention subject carries a partition token (InPartition).
	Partitions int
}

// Stream is the stream holding a noun's subjects, e.g. FIREBREAK_MENTIONS.
func (n Names) Stream(noun string) string {
	return strings.ToUpper(strings.ReplaceAll(n.Prefix+"_"+noun, "-", "_"))
}

// All is the wildcard subject of a noun's stream.
func (n Names) All(noun string) string { return n.Prefix + "." + noun + ".>" }

// Ingested is the subject of a new mention from platform ("x", "mastodon").
func (n Names) Ingested(platform string) string {
	return n.Prefix + ".mentions.ingested." + platform
}

// IngestedAll matches every ingested mention.
func (n Names) IngestedAll() string { return n.Prefix + ".mentions.ingested.>" }

// Updated is the subject of a post's engagement update from platform:
// the same post seen again with more reposts, likes, replies or quotes.
func (n Names) Updated(platform string) string { return n.Prefix + ".mentions.updated." + platform }

// UpdatedAll matches every platform's engagement updates.
func (n Names) UpdatedAll() string { return n.Prefix + ".mentions.updated.>" }

// Spread is the subject of a post's reach measured again after an
// engagement update, for escalation to decide the post again.
func (n Names) Spread() string { return n.Prefix + ".mentions.spread" }

// Scored is the subject of scored mentions.
func (n Names) Scored() string { return n.Prefix + ".mentions.scored" }

// Reached is the subject of mentions with their author's reach.
func (n Names) Reached() string { return n.Prefix + ".mentions.reached" }

// Case is the subject of a case event ("opened", "escalated").
func (n Names) Case(event string) string { return n.Prefix + ".cases." + event }

// Notification is the subject of a delivery outcome ("delivered", "failed").
func (n Names) Notification(outcome string) string {
	return n.Prefix + ".notifications." + outcome
}

// CaseCommands is the subject of acknowledgements and resolutions that
// arrive through receivers.
func (n Names) CaseCommands() string { return n.Prefix + ".commands.cases" }

// DeadLetter is the subject of messages a service gave up on.
func (n Names) DeadLetter(service string) string { return n.Prefix + ".deadletter." + service }

// DeadLetterStream is the stream of one service's dead letters,
// FIREBREAK_DEADLETTER_SCORER. Each service has its own because NATS
// cannot restrict a read from a stream by subject: only a stream per
// service lets the permissions give a service its own dead letters (which
// hold customers' texts) and nobody else's, and gives each service its
// own budget, so one service's flood of dead letters never refuses
// another's.
func (n Names) DeadLetterStream(service string) string {
	return n.Stream(NounDeadLetter + "_" + service)
}

// SharedDeadLetterStream is the one dead-letter stream of releases before
// DeadLetterStream, FIREBREAK_DEADLETTER. The stream owner moves its dead
// letters into their services' streams (MoveSharedDeadLetters).
func (n Names) SharedDeadLetterStream() string { return n.Stream(NounDeadLetter) }

// sharedDeadLetterSubjects are the subjects the shared dead-letter stream
// is given once it is moved aside, so the services' streams can take
// DeadLetter's subjects (two streams may not share a subject).
func (n Names) sharedDeadLetterSubjects() string { return n.Prefix + ".deadletter-shared.>" }

// Durable is a consumer's durable name: <service>-<purpose>.
func Durable(service, purpose string) string { return service + "-" + purpose }

// MsgID is the deterministic JetStream dedup id of an event about id.
func MsgID(id, event string) string { return id + ":" + event }

// MentionPartitions is how many streams hold the mentions: 1 (today's
// layout, one PREFIX_MENTIONS stream) unless Names.Partitions says more.
func (n Names) MentionPartitions() int { return max(n.Partitions, 1) }

// partitioned reports whether the mentions are split over several streams.
func (n Names) partitioned() bool { return n.Partitions > 1 }

// MentionStreams are the streams holding the mentions, one per partition
// (MentionStream).
func (n Names) MentionStreams() []string {
	out := make([]string, n.MentionPartitions())
	for p := range out {
		out[p] = n.MentionStream(p)
	}
	return out
}

// MentionStream is the stream of mention partition p: PREFIX_MENTIONS for
// partition 0 (the one stream of the unpartitioned layout), then
// PREFIX_MENTIONS_P1 to _P<N-1>. Partition 0 keeps the name so that every
// service, whatever its count, may look it up and read the count the
// streams were made with (CheckPartitions).
func (n Names) MentionStream(p int) string {
	if p == 0 {
		return n.Stream(NounMentions)
	}
	return n.Stream(NounMentions) + "_P" + strconv.Itoa(p)
}

// MentionPartition is the partition of a mention by its author key (brand,
// platform and author; for a brand reply the author it answers), so that
// an author's mentions, and every hop of each, stay in one stream in
// order. FNV-1a keeps it stable across processes and releases.
func (n Names) MentionPartition(authorKey string) int {
	if !n.partitioned() {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(authorKey))
	return int(h.Sum32() % uint32(n.Partitions))
}

// InPartition is a mention subject in partition p: with one partition the
// subject itself (firebreak.mentions.scored), with more the partition token
// appended (firebreak.mentions.scored.p2). A trailing ">" (IngestedAll)
// stands for the one platform token, so it becomes "*" before the token.
func (n Names) InPartition(subject string, p int) string {
	if !n.partitioned() {
		return subject
	}
	if s, ok := strings.CutSuffix(subject, ".>"); ok {
		subject = s + ".*"
	}
	return subject + ".p" + strconv.Itoa(p)
}

// PartitionOf is the partition a mention subject is in (0 with one
// partition, or when the subject carries no partition token), so a
// service publishes a mention's next hop to the partition it came from.
func (n Names) PartitionOf(subject string) int {
	if !n.partitioned() {
		return 0
	}
	i := strings.LastIndexByte(subject, '.')
	tok, ok := strings.CutPrefix(subject[i+1:], "p")
	if !ok {
		return 0
	}
	p, err := strconv.Atoi(tok)
	if err != nil || p < 0 || p >= n.Partitions {
		return 0
	}
	return p
}

// Unpartitioned is a mention subject without its partition token, the
// subject of its family (firebreak.mentions.scored), for a service that
// tells events apart by subject.
func (n Names) Unpartitioned(subject string) string {
	if !n.partitioned() {
		return subject
	}
	i := strings.LastIndexByte(subject, '.')
	if tok, ok := strings.CutPrefix(subject[i+1:], "p"); ok && tok != "" {
		if _, err := strconv.Atoi(tok); err == nil {
			return subject[:i]
		}
	}
	return subject
}

// InPartitionOf is a mention subject in the partition of another mention
// subject: a hop's output goes where its input came from, so a mention's
// score and reach meet in one partition.
func (n Names) InPartitionOf(subject, from string) string {
	return n.InPartition(subject, n.PartitionOf(from))
}

// SubjectMatches reports whether NATS subject filter (with * and >) takes
// subject.
func SubjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}
