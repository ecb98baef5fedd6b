// Package bus is Firebreak's use of NATS JetStream: the names of subjects,
// streams and headers, the streams themselves, publishing with dedup ids and
// awaited acks, and the one consumer loop every service runs.
package bus

import "strings"

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
type Names struct{ Prefix string }

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
