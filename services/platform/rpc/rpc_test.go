package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/auth/authtest"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/telemetry"
	"github.com/firebreak/firebreak/services/platform/testkit"
)

// serve runs a plain-text server that accepts the caller's key, and
// returns its address, its logs and the key.
func serve(t *testing.T) (*rpc.Server, *testkit.Buffer, string) {
	t.Helper()
	logs := &testkit.Buffer{}
	tel, err := telemetry.Setup(context.Background(), "test", telemetry.Options{Output: logs, Level: "info"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	caller := authtest.Everyone()
	authn, err := auth.New(auth.Options{KeysFile: authtest.KeysFile(t, caller)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rpc.Listen("127.0.0.1:0", tel, authn)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		srv.Stop(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve after Stop: %v", err)
		}
	})
	// Serving once a health check answers (a Stop before Serve would be
	// reported as a failure to serve).
	health := healthpb.NewHealthClient(dial(t, srv.Addr(), ""))
	testkit.Eventually(t, "the server to serve", func() bool {
		_, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil
	})
	return srv, logs, caller.Key
}

func dial(t *testing.T, addr, token string) *grpc.ClientConn {
	t.Helper()
	conn, err := rpc.Dial(addr, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// listServices asks the reflection service, which needs an authenticated
// caller, what the server serves.
func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	// A stream the server has already refused answers Send with io.EOF;
	// its status comes with Recv (grpc.ClientStream.SendMsg).
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	return names, stream.CloseSend()
}

func TestHealthIsOpenAndEverythingElseNeedsACaller(t *testing.T) {
	t.Parallel()
	srv, logs, key := serve(t)
	ctx := context.Background()
	anonymous := dial(t, srv.Addr(), "")
	h, err := healthpb.NewHealthClient(anonymous).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health without a token: %v %v, want SERVING", h, err)
	}
	if _, err := listServices(ctx, anonymous); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("reflection without a token: %v, want Unauthenticated", err)
	}
	names, err := listServices(ctx, dial(t, srv.Addr(), key))
	if err != nil {
		t.Fatalf("reflection with a known key: %v", err)
	}
	if !strings.Contains(strings.Join(names, " "), "grpc.health.v1.Health") {
		t.Fatalf("reflection lists %v, want the health service among them", names)
	}
	// A refused call is logged once, with its method and code, at info:
	// a caller's mistake is not the server's error.
	log := logs.String()
	if !strings.Contains(log, `"msg":"gRPC call failed"`) || !strings.Contains(log, `"code":"Unauthenticated"`) ||
		!strings.Contains(log, "ServerReflectionInfo") || !strings.Contains(log, `"level":"INFO"`) {
		t.Fatalf("the refused call is not logged with its method and code at info:\n%s", log)
	}
}

func TestNotServingIsWhatHealthChecksSeeFirst(t *testing.T) {
	t.Parallel()
	srv, _, _ := serve(t)
	health := healthpb.NewHealthClient(dial(t, srv.Addr(), ""))
	srv.NotServing()
	h, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after NotServing: %v %v, want NOT_SERVING while calls still succeed", h, err)
	}
}

func TestMessageOverTheLimitIsRefused(t *testing.T) {
	t.Parallel()
	srv, _, _ := serve(t)
	// A client without Dial's own limit, so the server's is what refuses.
	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	huge := &healthpb.HealthCheckRequest{Service: strings.Repeat("x", rpc.MaxMessageBytes+1)}
	_, err = healthpb.NewHealthClient(conn).Check(context.Background(), huge)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a request over %d bytes: %v, want ResourceExhausted", rpc.MaxMessageBytes, err)
	}
	// The server goes on serving calls of a sane size.
	h, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health after the refused call: %v %v", h, err)
	}
}

func TestListenOnATakenAddressSaysWhichAddress(t *testing.T) {
	t.Parallel()
	srv, _, _ := serve(t)
	tel, err := telemetry.Setup(context.Background(), "test", telemetry.Options{Output: &bytes.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rpc.Listen(srv.Addr(), tel, nobody)
	if err == nil || !strings.Contains(err.Error(), "listen for gRPC on "+srv.Addr()) {
		t.Fatalf("second listener on %s: %v, want an error naming the address", srv.Addr(), err)
	}
}
