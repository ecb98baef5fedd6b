// Package bustest runs an embedded NATS server with JetStream per test, so
// tests never share streams with each other or with the machine's NATS.
//
// The server has the users production has: one per service, with the
// permissions of bus.Names.Permissions for the subject prefix "firebreak",
// and one more, Harness, for the test itself, which may do anything.
package bustest

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// Harness is the user of the test's own connections (Conn): it publishes
// and reads whatever the test needs, as the services around the one under
// test would.
const Harness = "harness"

// Prefix is the subject prefix the services' permissions are made for.
const Prefix = "firebreak"

// passwordDirs maps a server to the directory of its users' password files.
var passwordDirs sync.Map

// Server starts a NATS server on a free loopback port, stopped at cleanup,
// with the streams created.
func Server(t testing.TB) *server.Server {
	t.Helper()
	return start(t, false, bus.Names{Prefix: Prefix})
}

// ServerPartitioned is Server with the mentions split over partitions
// streams (bus.Names.Partitions), and the users' permissions made for
// that layout; the services under test need --mention-partitions to match.
func ServerPartitioned(t testing.TB, partitions int) *server.Server {
	t.Helper()
	return start(t, false, bus.Names{Prefix: Prefix, Partitions: partitions})
}

// ServerSyncAlways is Server fsyncing every write before acknowledging it
// (sync_interval: always), as the chart runs JetStream: for benchmarks of
// what production pays.
func ServerSyncAlways(t testing.TB) *server.Server {
	t.Helper()
	return start(t, true, bus.Names{Prefix: Prefix})
}

func start(t testing.TB, syncAlways bool, names bus.Names) *server.Server {
	t.Helper()
	dir := t.TempDir()
	users, err := broker.ServiceUsers(dir, names)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := broker.Password(filepath.Join(dir, Harness))
	if err != nil {
		t.Fatal(err)
	}
	users = append(users, broker.User{Name: Harness, Password: pass})
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: t.TempDir(), Users: users, SyncAlways: syncAlways})
	if err != nil {
		t.Fatalf("embedded NATS: %v", err)
	}
	passwordDirs.Store(srv, dir)
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		passwordDirs.Delete(srv)
	})
	js, err := jetstream.New(Conn(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	// The stream owner's job, done here so a test may start any service
	// alone.
	if err := bus.EnsureStreams(context.Background(), js, names, bus.StreamOptions{}); err != nil {
		t.Fatalf("streams on embedded NATS: %v", err)
	}
	return srv
}

// PasswordFile is the password file of a user of srv: a service or
// Harness. A service's --nats-password-file.
func PasswordFile(t testing.TB, srv *server.Server, user string) string {
	t.Helper()
	dir, ok := passwordDirs.Load(srv)
	if !ok {
		t.Fatal("bustest.PasswordFile: the server was not started by bustest.Server")
	}
	return filepath.Join(dir.(string), user)
}

// PasswordDir is the directory holding each user's password file, named
// as the user (stack.Options.NATSPasswordDir).
func PasswordDir(t testing.TB, srv *server.Server) string {
	t.Helper()
	return filepath.Dir(PasswordFile(t, srv, Harness))
}

// Conn connects to srv as Harness, closed at cleanup.
func Conn(t testing.TB, srv *server.Server) *nats.Conn {
	t.Helper()
	return ConnAs(t, srv, Harness)
}

// ConnAs connects to srv as user (a service or Harness), with the
// service's own inbox, closed at cleanup.
func ConnAs(t testing.TB, srv *server.Server, user string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	pass, err := broker.Password(PasswordFile(t, srv, user))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]nats.Option{nats.UserInfo(user, pass), nats.CustomInboxPrefix(bus.Names{Prefix: Prefix}.Inbox(user))}, opts...)
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	if err != nil {
		t.Fatalf("connect to embedded NATS %s as %s: %v", srv.ClientURL(), user, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// CaughtUp reports whether consumer durable on stream has acknowledged
// every message its filter matches. Nothing pending is not enough: the
// server tells a consumer of a stored message on a goroutine of its own,
// so for a moment after a publish's ack the consumer shows nothing pending
// and nothing delivered. Its ack floor must also have reached the last
// message it matches.
func CaughtUp(ctx context.Context, js jetstream.JetStream, stream, durable string) (bool, error) {
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return false, err
	}
	info, err := c.Info(ctx)
	if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
		return false, err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false, err
	}
	filters := info.Config.FilterSubjects
	if info.Config.FilterSubject != "" {
		filters = append(filters, info.Config.FilterSubject)
	}
	if len(filters) == 0 {
		filters = []string{">"}
	}
	for _, filter := range filters {
		last, err := s.GetLastMsgForSubject(ctx, filter)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if last.Sequence > info.AckFloor.Stream {
			return false, nil
		}
	}
	return true, nil
}
