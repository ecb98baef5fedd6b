// Package rpc builds Firebreak's gRPC servers and clients: health and
// reflection on every server, tracing and metrics through OpenTelemetry, and
// one log line per failed call.
package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// Server is a listening gRPC server with its health service.
type Server struct {
	*grpc.Server
	health *health.Server
	lis    net.Listener
	log    *slog.Logger
}

// MaxMessageBytes bounds one gRPC message either way, so a single request
// cannot make a server allocate without bound.
const MaxMessageBytes = 4 << 20

// maxStreams bounds concurrent calls on one client connection.
const maxStreams = 256

// Listen binds addr and builds a server whose every method but health
// authenticates its caller with authn and checks the role auth.Methods
// names; register services, then Serve.
func Listen(addr string, tel *telemetry.Telemetry, authn *auth.Authenticator) (*Server, error) {
	return ListenTLS(addr, tel, authn, nil)
}

// ListenTLS is Listen serving TLS with tlsConfig (TLSFiles.ServerConfig);
// nil serves plain text.
func ListenTLS(addr string, tel *telemetry.Telemetry, authn *auth.Authenticator, tlsConfig *tls.Config) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for gRPC on %s: %w", addr, err)
	}
	log := tel.Logger.With("component", "grpc")
	opts := []grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(tel.Tracer),
			otelgrpc.WithMeterProvider(tel.Meter),
			otelgrpc.WithPropagators(tel.Propagator))),
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.MaxConcurrentStreams(maxStreams),
		// Logging first, so refused calls are logged too.
		grpc.ChainUnaryInterceptor(logUnary(log), authn.UnaryInterceptor(auth.Methods)),
		grpc.ChainStreamInterceptor(logStream(log), authn.StreamInterceptor(auth.Methods)),
	}
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{Server: srv, health: hs, lis: lis, log: log}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Stop, then returns nil; any other return is the
// server failing, with the error that ended it.
func (s *Server) Serve() error {
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if err := s.Server.Serve(s.lis); err != nil {
		return fmt.Errorf("gRPC server on %s stopped serving: %w", s.Addr(), err)
	}
	return nil
}

// NotServing marks the server NOT_SERVING, the first step of a drain, so
// load balancers stop sending new calls.
func (s *Server) NotServing() { s.health.Shutdown() }

// Stop lets calls in progress finish until ctx ends, then cuts them off.
func (s *Server) Stop(ctx context.Context) {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.Server.Stop()
	}
}

// Dial connects to a Firebreak gRPC server without TLS, presenting token
// on every call ("" for none: health checks need none). DialTLS with
// ClientTLS.Config is the same over TLS or mutual TLS.
func Dial(target string, token string) (*grpc.ClientConn, error) {
	return DialTLS(target, token, nil)
}

// DialTLS is Dial over TLS with tlsConfig; nil dials without TLS.
func DialTLS(target string, token string, tlsConfig *tls.Config) (*grpc.ClientConn, error) {
	transport := insecure.NewCredentials()
	if tlsConfig != nil {
		transport = credentials.NewTLS(tlsConfig)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(transport),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(auth.Token(token)))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial gRPC %s: %w", target, err)
	}
	return conn, nil
}

func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

// logCall logs failed calls; client errors at info, server errors at error.
func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	if err == nil {
		return
	}
	code := status.Code(err)
	level := slog.LevelInfo
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelError
	}
	log.Log(ctx, level, "gRPC call failed", "method", method, "code", code.String(), "err", err, "duration", time.Since(start))
}
