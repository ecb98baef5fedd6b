package lifecycle_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/lifecycle"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
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
