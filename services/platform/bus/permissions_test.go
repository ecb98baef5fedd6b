package bus_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/bus/bustest"
)

var names = bus.Names{Prefix: bustest.Prefix}

// refused asserts that the server refused what the connection just did
// on subject: NATS answers a permissions violation with an error, which
// the client has read by the time a flush returns.
func refused(t *testing.T, nc *nats.Conn, what, subject string) {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	err := nc.LastError()
	if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), `"`+subject+`"`) {
		t.Fatalf("%s on %s: last error %v, want a permissions violation", what, subject, err)
	}
}

// allowed asserts that nothing was refused.
func allowed(t *testing.T, nc *nats.Conn, what string) {
	t.Helper()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.LastError(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// messages is how many messages the stream of noun holds; a consuming
// service's name stands for its dead-letter stream.
func messages(t *testing.T, srv *server.Server, noun string) uint64 {
	t.Helper()
	js, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	name := names.Stream(noun)
	if slices.Contains(bus.DeadLetterers(), noun) {
		name = names.DeadLetterStream(noun)
	}
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

func TestScorerCannotPublishACaseCommand(t *testing.T) {
	srv := bustest.Server(t)
	scorer := bustest.ConnAs(t, srv, "scorer")
	if err := scorer.Publish(names.CaseCommands(), []byte("ack case-1 as mallory")); err != nil {
		t.Fatal(err)
	}
	refused(t, scorer, "the scorer's case command", names.CaseCommands())
	// Nor through JetStream, nor as a case event, nor as an engagement update.
	scorer = bustest.ConnAs(t, srv, "scorer")
	_ = scorer.PublishRequest(names.Case("resolved"), scorer.NewInbox(), []byte("x"))
	refused(t, scorer, "the scorer's case event", names.Case("resolved"))
	scorer = bustest.ConnAs(t, srv, "scorer")
	_ = scorer.Publish(names.Updated("x"), []byte("x"))
	refused(t, scorer, "the scorer's engagement update", names.Updated("x"))
	if n := messages(t, srv, bus.NounCommands); n != 0 {
		t.Fatalf("%d case commands stored, want none", n)
	}

	// The notifier, whose receivers' callbacks carry acks, may.
	notifier := bustest.ConnAs(t, srv, "notifier")
	js, err := jetstream.New(notifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(context.Background(), names.CaseCommands(), []byte("ack")); err != nil {
		t.Fatalf("the notifier's case command: %v", err)
	}
	if n := messages(t, srv, bus.NounCommands); n != 1 {
		t.Fatalf("%d case commands stored, want the notifier's one", n)
	}
}

func TestIngestPublishesOnlyMentionsAndCannotReadCases(t *testing.T) {
	srv := bustest.Server(t)
	ingest := bustest.ConnAs(t, srv, "ingest")
	js, err := jetstream.New(ingest)
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{names.Ingested("x"), names.Updated("mastodon")} {
		if _, err := js.Publish(context.Background(), subject, []byte("m")); err != nil {
			t.Fatalf("ingest publishing %s: %v", subject, err)
		}
	}
	for _, subject := range []string{names.Scored(), names.Reached(), names.CaseCommands(), names.Notification("delivered"), names.DeadLetter("scorer")} {
		ingest := bustest.ConnAs(t, srv, "ingest")
		_ = ingest.Publish(subject, []byte("forged"))
		refused(t, ingest, "ingest publishing", subject)
	}
	// Reading cases: a plain subscription, a consumer on the cases stream,
	// or the replies (pulled messages) meant for the notifier.
	for _, subject := range []string{names.All(bus.NounCases), "_INBOX.>", names.Inbox("notifier") + ".>", ">"} {
		ingest := bustest.ConnAs(t, srv, "ingest")
		if _, err := ingest.SubscribeSync(subject); err != nil {
			t.Fatal(err)
		}
		refused(t, ingest, "ingest subscribing", subject)
	}
	create := "$JS.API.CONSUMER.CREATE." + names.Stream(bus.NounCases) + ".ingest-peek"
	ingest = bustest.ConnAs(t, srv, "ingest")
	_ = ingest.PublishRequest(create, ingest.NewInbox(), []byte(`{}`))
	refused(t, ingest, "ingest creating a consumer on the cases", create)
	next := "$JS.API.CONSUMER.MSG.NEXT." + names.Stream(bus.NounCases) + ".notifier-cases"
	ingest = bustest.ConnAs(t, srv, "ingest")
	_ = ingest.PublishRequest(next, ingest.NewInbox(), []byte(`{"batch":1}`))
	refused(t, ingest, "ingest pulling the notifier's cases", next)
	if n := messages(t, srv, bus.NounMentions); n != 2 {
		t.Fatalf("%d mentions stored, want ingest's 2", n)
	}
}

func TestOnlyTheStreamOwnerChangesAStream(t *testing.T) {
	srv := bustest.Server(t)
	for _, service := range bus.Services {
		if service == bus.StreamOwner {
			continue
		}
		for _, api := range []string{"STREAM.CREATE", "STREAM.UPDATE", "STREAM.DELETE", "STREAM.PURGE"} {
			subject := "$JS.API." + api + "." + names.Stream(bus.NounCases)
			nc := bustest.ConnAs(t, srv, service)
			_ = nc.PublishRequest(subject, nc.NewInbox(), []byte(`{}`))
			refused(t, nc, service, subject)
		}
		// What every service may do: look the streams up (its metrics).
		nc := bustest.ConnAs(t, srv, service)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Stream(context.Background(), names.Stream(bus.NounCases)); err != nil {
			t.Fatalf("%s looking up a stream: %v", service, err)
		}
		if _, err := js.AccountInfo(context.Background()); err != nil {
			t.Fatalf("%s reading the JetStream account: %v", service, err)
		}
		allowed(t, nc, service)
	}
	owner := bustest.ConnAs(t, srv, bus.StreamOwner)
	js, err := jetstream.New(owner)
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{MaxAge: 48 * time.Hour}); err != nil {
		t.Fatalf("the stream owner updating the streams: %v", err)
	}
	s, err := js.Stream(context.Background(), names.Stream(bus.NounMentions))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 48*time.Hour {
		t.Fatalf("mentions stream max age %v after the owner's update, want 48h", got)
	}
	// Even the owner does not delete or purge a stream.
	for _, api := range []string{"STREAM.DELETE", "STREAM.PURGE"} {
		subject := "$JS.API." + api + "." + names.Stream(bus.NounCases)
		owner := bustest.ConnAs(t, srv, bus.StreamOwner)
		_ = owner.PublishRequest(subject, owner.NewInbox(), []byte(`{}`))
		refused(t, owner, "the stream owner", subject)
	}
}

func TestEveryServiceHasPermissionsAndNoneElseDoes(t *testing.T) {
	table := names.PermissionTable()
	for _, s := range bus.Services {
		p := table[s]
		if len(p.Publish) == 0 || len(p.Subscribe) == 0 {
			t.Errorf("%s: %+v, want publish and subscribe allow lists", s, p)
		}
		for _, subject := range append(append([]string{}, p.Publish...), p.Subscribe...) {
			if subject == ">" || subject == "$JS.API.>" || subject == "_INBOX.>" {
				t.Errorf("%s may use %q: every service's permissions name its own subjects", s, subject)
			}
		}
	}
	if _, err := names.Permissions("mallory"); err == nil {
		t.Fatal("permissions for a service that does not exist")
	}
}

// TestAServiceCannotReadAnothersDeadLetters: dead letters hold customers'
// texts. Each service reads and deletes its own, in its own stream, and
// neither another's nor the shared stream of earlier releases: NATS
// cannot limit a read from a stream by subject, so a stream per service is
// what the permissions can enforce.
func TestAServiceCannotReadAnothersDeadLetters(t *testing.T) {
	srv := bustest.Server(t)
	ctx := context.Background()
	harness, err := jetstream.New(bustest.Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range bus.DeadLetterers() {
		if _, err := harness.Publish(ctx, names.DeadLetter(service), []byte(service+"'s customer text")); err != nil {
			t.Fatalf("%s's dead letter: %v", service, err)
		}
	}
	for _, service := range bus.Services {
		for _, owner := range bus.DeadLetterers() {
			get := "$JS.API.STREAM.MSG.GET." + names.DeadLetterStream(owner)
			nc := bustest.ConnAs(t, srv, service)
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if service == owner {
				st, err := js.Stream(ctx, names.DeadLetterStream(owner))
				if err != nil {
					t.Fatal(err)
				}
				raw, err := st.GetMsg(ctx, 1)
				if err != nil || string(raw.Data) != owner+"'s customer text" {
					t.Fatalf("%s reading its own dead letter: %v, %v", service, raw, err)
				}
				allowed(t, nc, service+" reading its own dead letters")
				continue
			}
			_ = nc.PublishRequest(get, nc.NewInbox(), []byte(`{"seq":1}`))
			refused(t, nc, service+" reading "+owner+"'s dead letters", get)
			for _, api := range []string{"STREAM.MSG.DELETE", "CONSUMER.CREATE"} {
				subject := "$JS.API." + api + "." + names.DeadLetterStream(owner)
				if api == "CONSUMER.CREATE" {
					subject += ".peek"
				}
				nc := bustest.ConnAs(t, srv, service)
				_ = nc.PublishRequest(subject, nc.NewInbox(), []byte(`{"seq":1}`))
				refused(t, nc, service+" on "+owner+"'s dead letters", subject)
			}
		}
		if service == bus.StreamOwner {
			continue // it moves the shared stream's dead letters at upgrade
		}
		shared := "$JS.API.STREAM.MSG.GET." + names.SharedDeadLetterStream()
		nc := bustest.ConnAs(t, srv, service)
		_ = nc.PublishRequest(shared, nc.NewInbox(), []byte(`{"seq":1}`))
		refused(t, nc, service+" reading the shared dead-letter stream", shared)
	}
	for _, owner := range bus.DeadLetterers() {
		if n := messages(t, srv, owner); n != 1 {
			t.Errorf("%s's dead-letter stream holds %d, want its one dead letter, not deleted by another", owner, n)
		}
	}
}
