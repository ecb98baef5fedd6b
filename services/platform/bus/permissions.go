package bus

import (
	"fmt"
	"slices"
)

// Services are the programs with a NATS user of their own, named as their
// user. The firebreak CLI does not use the bus and has none.
var Services = []string{"ingest", "scorer", "reach", "escalation", "notifier", "console"}

// StreamOwner is the one service that creates and updates the streams
// (EnsureStreams). Escalation is internal-only and owns the cases; the
// others wait at start-up until the streams exist.
const StreamOwner = "escalation"

// Permission is what one NATS user may publish and subscribe to: allow
// lists, everything else is denied.
type Permission struct {
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
}

// consumerUse is a durable consumer a service pulls from.
type consumerUse struct{ service, purpose, noun string }

// consumers are every durable consumer, as the services create them.
var consumers = []consumerUse{
	{"scorer", "mentions", NounMentions},
	{"reach", "mentions", NounMentions},
	{"escalation", "join", NounMentions},
	{"escalation", "commands", NounCommands},
	{"notifier", "cases", NounCases},
}

// DeadLetterers are the services that consume, and so dead-letter, in
// the order of their consumers: each has a dead-letter stream of its own
// (DeadLetterStream).
func DeadLetterers() []string {
	var out []string
	for _, c := range consumers {
		if !slices.Contains(out, c.service) {
			out = append(out, c.service)
		}
	}
	return out
}

// publishes are the event subjects each service publishes, besides its
// dead letters.
func (n Names) publishes(service string) []string {
	switch service {
	case "ingest":
		return []string{n.IngestedAll(), n.UpdatedAll()}
	case "scorer":
		return []string{n.anyPartition(n.Scored())}
	case "reach":
		return []string{n.anyPartition(n.Reached()), n.anyPartition(n.Spread())}
	case "escalation":
		return []string{n.All(NounCases)}
	case "notifier":
		// Delivery outcomes, the one case event the notifier raises, and
		// the acks and resolutions its receivers' callbacks carry.
		return []string{n.All(NounNotifications), n.Case("delivery_failed"), n.CaseCommands()}
	}
	return nil
}

// redrives are the streams each service reads by sequence for
// RedriveService: what its consumers take, for escalation the case
// events it made (people's acknowledgements and resolutions), and for the
// notifier the record of its deliveries. None of them holds anything the service does
// not already receive or make.
func (n Names) redrives(service string) []string {
	switch service {
	case "escalation":
		return append(n.MentionStreams(), n.Stream(NounCommands), n.Stream(NounCases))
	case "notifier":
		return []string{n.Stream(NounNotifications), n.Stream(NounCases)}
	}
	return nil
}

// subscribes are the core (non-JetStream) subscriptions of each service.
func (n Names) subscribes(service string) []string {
	if service == "escalation" {
		return []string{n.All(NounCases)} // WatchCases
	}
	return nil
}

// Inbox is the prefix of a service's reply subjects. Each service has its
// own, so no service can subscribe to the replies (and pulled messages)
// meant for another.
func (n Names) Inbox(service string) string { return "_INBOX." + n.Prefix + "." + service }

// Permissions is the table of what each service's NATS user may do, derived
// from the subjects, consumers and JetStream calls the service makes:
//   - every service: JetStream account info and stream info (the stream
//     metrics), and replies on its own inbox;
//   - a consumer's service: create, look up and pull its own durable on its
//     own stream, ack its messages, and publish, read and delete its dead
//     letters, in its own dead-letter stream;
//   - escalation and the notifier: read their streams by sequence, for
//     RedriveService;
//   - the stream owner alone: create and update the streams, and move the
//     dead letters of the shared stream of earlier releases into their
//     services' streams.
//
// The chart's NATS authorization config is rendered from it
// (tools/cmd/natsperms) and a test keeps the two equal.
func (n Names) Permissions(service string) (Permission, error) {
	if !slices.Contains(Services, service) {
		return Permission{}, fmt.Errorf("no NATS permissions for %q; services are %v", service, Services)
	}
	var p Permission
	p.Publish = append(p.Publish, n.publishes(service)...)
	p.Publish = append(p.Publish, "$JS.API.INFO")
	for _, st := range n.Streams() {
		p.Publish = append(p.Publish, "$JS.API.STREAM.INFO."+st.Name)
	}
	if service == StreamOwner {
		for _, st := range n.Streams() {
			switch {
			case st.Noun != NounMentions:
				p.Publish = append(p.Publish, "$JS.API.STREAM.CREATE."+st.Name, "$JS.API.STREAM.UPDATE."+st.Name)
			case st.Name == n.MentionStream(0):
				// Every partition's create, then every partition's update.
				p.Publish = append(p.Publish, n.onStreams(NounMentions, "$JS.API.STREAM.CREATE.", "")...)
				p.Publish = append(p.Publish, n.onStreams(NounMentions, "$JS.API.STREAM.UPDATE.", "")...)
			}
		}
		// Moving the shared dead-letter stream of earlier releases aside
		// and its dead letters into their services' streams.
		shared := n.SharedDeadLetterStream()
		p.Publish = append(p.Publish, "$JS.API.STREAM.INFO."+shared, "$JS.API.STREAM.UPDATE."+shared,
			"$JS.API.STREAM.MSG.GET."+shared, "$JS.API.STREAM.MSG.DELETE."+shared)
		for _, s := range DeadLetterers() {
			if s != service {
				p.Publish = append(p.Publish, n.DeadLetter(s))
			}
		}
	}
	deadLetters := false
	for _, c := range consumers {
		if c.service != service {
			continue
		}
		deadLetters = true
		// On each partition's stream for a mention consumer.
		durable := "." + Durable(c.service, c.purpose)
		for _, api := range []struct{ before, after string }{
			{"$JS.API.CONSUMER.CREATE.", durable},
			{"$JS.API.CONSUMER.CREATE.", durable + ".>"},
			{"$JS.API.CONSUMER.INFO.", durable},
			{"$JS.API.CONSUMER.MSG.NEXT.", durable},
			{"$JS.ACK.", durable + ".>"},
		} {
			p.Publish = append(p.Publish, n.onStreams(c.noun, api.before, api.after)...)
		}
	}
	if deadLetters {
		// Its dead letters, and reading and deleting them for
		// DeadLetterService (list, show, replay): in a stream of its own,
		// since NATS cannot limit a read from a stream to a subject.
		dl := n.DeadLetterStream(service)
		p.Publish = append(p.Publish, n.DeadLetter(service), "$JS.API.STREAM.MSG.GET."+dl, "$JS.API.STREAM.MSG.DELETE."+dl)
	}
	for _, stream := range n.redrives(service) {
		p.Publish = append(p.Publish, "$JS.API.STREAM.MSG.GET."+stream)
	}
	p.Subscribe = append(p.Subscribe, n.subscribes(service)...)
	p.Subscribe = append(p.Subscribe, n.Inbox(service)+".>")
	return p, nil
}

// onStreams is a permission on each stream of a consumed noun, in
// partition order: before + stream + after. The chart repeats each such
// permission of its one-partition table for every partition the same way.
func (n Names) onStreams(noun, before, after string) []string {
	streams := []string{n.Stream(noun)}
	if noun == NounMentions {
		streams = n.MentionStreams()
	}
	out := make([]string, len(streams))
	for i, s := range streams {
		out[i] = before + s + after
	}
	return out
}

// anyPartition is a mention subject in every partition: the subject
// itself with one, subject.* with more.
func (n Names) anyPartition(subject string) string {
	if !n.partitioned() {
		return subject
	}
	return subject + ".*"
}

// PermissionTable is every service's permissions, by service.
func (n Names) PermissionTable() map[string]Permission {
	out := make(map[string]Permission, len(Services))
	for _, s := range Services {
		out[s], _ = n.Permissions(s)
	}
	return out
}
