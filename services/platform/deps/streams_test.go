package deps_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/store/storetest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

// TestServicesWaitForTheStreamOwner: on a NATS server with the services'
// users and no streams yet, a service other than escalation may not create
// them and waits; once escalation has started and made them, it goes on.
func TestServicesWaitForTheStreamOwner(t *testing.T) {
	dir := t.TempDir()
	users, err := broker.ServiceUsers(dir, bus.Names{Prefix: "firebreak"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.Start(broker.Options{Port: -1, StoreDir: t.TempDir(), Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	_, keys := storetest.New(t)
	common := func(service string) config.Common {
		return config.Common{Service: service, NATSURL: srv.ClientURL(), NATSUser: service, NATSPassFile: filepath.Join(dir, service),
			RedisURL: storetest.URL(), RedisPrefix: keys.Prefix, SubjectPrefix: "firebreak", StreamReplicas: 1}
	}
	open := func(ctx context.Context, service string) (*deps.Deps, error) {
		d, err := deps.Open(ctx, common(service), telemetrytest.New(t, service))
		if err == nil {
			t.Cleanup(func() { _ = d.Close(context.Background()) })
		}
		return d, err
	}

	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := open(short, "scorer"); err == nil || !strings.Contains(err.Error(), "the escalation service, which creates the streams") {
		t.Fatalf("the scorer without streams: err = %v, want it to wait for escalation", err)
	}

	scorer := make(chan error, 1)
	go func() {
		_, err := open(context.Background(), "scorer")
		scorer <- err
	}()
	if _, err := open(context.Background(), bus.StreamOwner); err != nil {
		t.Fatalf("escalation creating the streams: %v", err)
	}
	if err := <-scorer; err != nil {
		t.Fatalf("the scorer once the streams exist: %v", err)
	}
}

func TestAWrongNATSPasswordSaysWhichSettingsAndHidesIt(t *testing.T) {
	env := depstest.New(t)
	c := env.Config(t, "scorer")
	c.NATSPassFile = filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(c.NATSPassFile, []byte("wrong-horse-battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := deps.Open(context.Background(), c, telemetrytest.New(t, "scorer"))
	if err == nil || !strings.Contains(err.Error(), "--nats-password-file") || !strings.Contains(err.Error(), `"scorer"`) || strings.Contains(err.Error(), "wrong-horse") {
		t.Fatalf("err = %v, want it to name the user and the settings, not the password", err)
	}
}

// TestAServiceWithAnotherPartitionCountRefusesToStart: on mention streams
// made for four partitions, a service (under its own NATS user, made for
// four) configured for another count stops at start-up and says which
// count the streams have, whether it waits for the streams or owns them.
func TestAServiceWithAnotherPartitionCountRefusesToStart(t *testing.T) {
	env := depstest.NewPartitioned(t, 4)
	for service, partitions := range map[string]int{"scorer": 1, "ingest": 8, bus.StreamOwner: 2} {
		c := env.Config(t, service)
		c.MentionPartitions = partitions
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		d, err := deps.Open(ctx, c, telemetrytest.New(t, service))
		cancel()
		if err == nil {
			_ = d.Close(context.Background())
		}
		want := fmt.Sprintf("the mentions are in 4 partition(s) (stream FIREBREAK_MENTIONS) and this service has --mention-partitions=%d", partitions)
		if !errors.Is(err, bus.ErrPartitionMismatch) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with %d partitions: %v, want it refused saying %q", service, partitions, err, want)
		}
	}
	c := env.Config(t, "scorer")
	d, err := deps.Open(context.Background(), c, telemetrytest.New(t, "scorer"))
	if err != nil {
		t.Fatalf("the scorer with the streams' count: %v", err)
	}
	_ = d.Close(context.Background())
}
