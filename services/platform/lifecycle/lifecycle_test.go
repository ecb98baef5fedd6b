package lifecycle_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/bus"
	"github.com/firebreak/firebreak/services/platform/deps/depstest"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// probe is a worker that, when stopped, looks at what load balancers see.
type probe struct {
	t            *testing.T
	httpAddr     string
	grpc         healthpb.HealthClient
	readyStatus  int
	grpcServing  healthpb.HealthCheckResponse_ServingStatus
	stoppedOrder *[]string
	name         string
}

func (p *probe) Start(context.Context) error { return nil }

func (p *probe) Stop(ctx context.Context) error {
	*p.stoppedOrder = append(*p.stoppedOrder, p.name)
	resp, err := http.Get("http://" + p.httpAddr + "/readyz")
	if err != nil {
		p.t.Errorf("HTTP stopped before the workers: %v", err)
		return nil
	}
	resp.Body.Close()
	p.readyStatus = resp.StatusCode
	h, err := p.grpc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		p.t.Errorf("gRPC stopped before the workers: %v", err)
		return nil
	}
	p.grpcServing = h.Status
	return nil
}

func TestStopReportsNotReadyBeforeStoppingWorkersInReverse(t *testing.T) {
	u := newUnit(t)
	httpSrv, grpcSrv := u.HTTP, u.GRPC
	conn, err := rpc.Dial(grpcSrv.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var order []string
	first := &probe{t: t, httpAddr: httpSrv.Addr(), grpc: healthpb.NewHealthClient(conn), stoppedOrder: &order, name: "consumer"}
	second := &probe{t: t, httpAddr: httpSrv.Addr(), grpc: healthpb.NewHealthClient(conn), stoppedOrder: &order, name: "producer"}
	u.Workers = []lifecycle.Part{first, second}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + httpSrv.Addr() + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("not ready after start: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := u.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "producer" || order[1] != "consumer" {
		t.Fatalf("workers stopped in order %v, want the last started first", order)
	}
	if first.readyStatus != http.StatusServiceUnavailable || first.grpcServing != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("while workers drained: /readyz %d, gRPC %v; want 503 and NOT_SERVING", first.readyStatus, first.grpcServing)
	}
	if _, err := http.Get("http://" + httpSrv.Addr() + "/healthz"); err == nil {
		t.Fatal("HTTP still serving after Stop")
	}
}

// stoppedGRPC is a unit whose gRPC server was stopped before it could serve.
func stoppedGRPC(t *testing.T) *lifecycle.Unit {
	t.Helper()
	u := newUnit(t)
	u.GRPC.Server.Stop()
	return u
}

func newUnit(t *testing.T) *lifecycle.Unit {
	t.Helper()
	tel := telemetrytest.New(t, "test")
	httpSrv, err := admin.Listen("127.0.0.1:0", tel)
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	grpcSrv, err := rpc.Listen("127.0.0.1:0", tel, nobody)
	if err != nil {
		t.Fatal(err)
	}
	return &lifecycle.Unit{HTTP: httpSrv, GRPC: grpcSrv}
}

func TestServerThatStopsServingIsReportedOnFailed(t *testing.T) {
	u := stoppedGRPC(t)
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer u.Stop(context.Background())
	select {
	case err := <-u.Failed():
		if !strings.Contains(err.Error(), "gRPC server on "+u.GRPCAddr()+" stopped serving") {
			t.Fatalf("failure %q does not say which server stopped serving", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a gRPC server that cannot serve was not reported")
	}
}

func TestRunEndsTheProcessWhenAServerStopsServing(t *testing.T) {
	u := stoppedGRPC(t)
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	closed := false
	code := lifecycle.Run(context.Background(), log, u, func(context.Context) error { closed = true; return nil }, 5*time.Second)
	if code != 1 {
		t.Fatalf("exit code %d, want 1 for a service that lost its API", code)
	}
	if !closed {
		t.Fatal("dependencies were not closed")
	}
	if !strings.Contains(logs.String(), "stopped serving") {
		t.Fatalf("the log does not say why the process ended:\n%s", logs.String())
	}
	if _, err := http.Get("http://" + u.HTTPAddr() + "/healthz"); err == nil {
		t.Fatal("HTTP still serving after Run returned")
	}
}

func TestStopAfterACleanRunReportsNoFailure(t *testing.T) {
	u := newUnit(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the signal came
	if code := lifecycle.Run(ctx, slog.New(slog.DiscardHandler), u, func(context.Context) error { return nil }, 5*time.Second); code != 0 {
		t.Fatalf("exit code %d after a signal and a clean drain, want 0", code)
	}
	select {
	case err := <-u.Failed():
		t.Fatalf("stopping the servers was reported as a failure: %v", err)
	default:
	}
}

// TestReadyzFailsWhileAConsumerCannotBeRecreated deletes the stream under a
// running service's consumer: its iterator closes, it cannot be re-created
// while the stream is gone, and /readyz says not ready until the stream is
// back and the consumer pulls again.
func TestReadyzFailsWhileAConsumerCannotBeRecreated(t *testing.T) {
	env := depstest.New(t)
	d := env.Deps(t, "probe")
	u, err := lifecycle.Listen("127.0.0.1:0", "127.0.0.1:0", d)
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int32
	consumer, err := bus.NewConsumer(context.Background(), d.JS, d.Publisher, d.Tel, bus.ConsumerConfig{
		Service: "probe", Purpose: "mentions", Stream: d.Names.Stream(bus.NounMentions), Subjects: []string{d.Names.Scored()},
		MaxInFlight: 1, RetryBase: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, DeadLetter: d.Names.DeadLetter("probe"),
		Handler: func(context.Context, jetstream.Msg) error { handled.Add(1); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	u.Workers = append(u.Workers, consumer)
	u.HTTP.AddCheck(consumer.Ready)
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.Stop(context.Background()) })
	readyz := func() int {
		resp, err := http.Get("http://" + u.HTTPAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz %d with the consumer pulling", code)
	}
	publish := func(id string) {
		t.Helper()
		_, err := d.Publisher.Publish(context.Background(), bus.Event{Subject: d.Names.Scored(), MsgID: id, Message: wrapperspb.String(id)})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A handled message shows the pull requests are out, so the server
	// tells the iterator of the deletion at once.
	publish("before")
	testkit.Eventually(t, "the first message handled", func() bool { return handled.Load() == 1 })

	ctx := context.Background()
	if err := d.JS.DeleteStream(ctx, d.Names.Stream(bus.NounMentions)); err != nil {
		t.Fatal(err)
	}
	// The server usually tells the pulling iterator of the deletion at
	// once; on a loaded machine the pull may be between requests, and the
	// iterator learns it from two missed heartbeats (15s each by default).
	testkit.EventuallyWithin(t, time.Minute, "/readyz to fail while the consumer cannot pull", func() bool { return readyz() == http.StatusServiceUnavailable })
	if err := consumer.Ready(ctx); err == nil || !strings.Contains(err.Error(), "not pulling") {
		t.Fatalf("consumer.Ready while its stream is gone: %v", err)
	}

	if err := bus.EnsureStreams(ctx, d.JS, d.Names, bus.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "/readyz to pass once the consumer is re-created", func() bool { return readyz() == http.StatusOK })
	publish("after")
	testkit.Eventually(t, "a message published after the re-creation handled", func() bool { return handled.Load() == 2 })
}
