package broker_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/firebreak/firebreak/services/platform/broker"
)

func TestStartedServerStoresStreamsInItsDirectoryWithSyncAlways(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: dir, SyncAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	cfg := srv.JetStreamConfig()
	if cfg == nil {
		t.Fatal("JetStream is not enabled on the embedded server")
	}
	if !cfg.SyncAlways {
		t.Fatal("SyncAlways was asked for but the server acknowledges writes before fsync")
	}
	if !strings.HasPrefix(cfg.StoreDir, dir) {
		t.Fatalf("JetStream stores in %s, want under %s", cfg.StoreDir, dir)
	}
	if !strings.HasPrefix(srv.ClientURL(), "nats://127.0.0.1:") {
		t.Fatalf("client URL %s: an empty Host must listen on loopback only", srv.ClientURL())
	}

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatalf("create a file stream: %v", err)
	}
	ack, err := js.Publish(ctx, "s.one", []byte("kept"))
	if err != nil || ack.Sequence != 1 {
		t.Fatalf("publish: ack %v, err %v", ack, err)
	}
	msg, err := stream.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "kept" {
		t.Fatalf("stored message: %v %v", msg, err)
	}
}

func TestStartWithoutSyncAlwaysLeavesTheServerDefault(t *testing.T) {
	t.Parallel()
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	if srv.JetStreamConfig().SyncAlways {
		t.Fatal("SyncAlways is on though it was not asked for")
	}
}

func TestStartOnATakenPortSaysSo(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	srv, err := broker.Start(broker.Options{Port: port, StoreDir: t.TempDir()})
	if err == nil {
		srv.Shutdown()
		t.Fatalf("a server started on port %d, which another listener holds", port)
	}
	for _, want := range []string{strconv.Itoa(port), "address already in use", "stop what holds the port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
