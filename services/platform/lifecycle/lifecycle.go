// Package lifecycle starts a service's parts and stops them in the one
// written drain order, within a bound, so no message or call in progress is
// lost on SIGTERM.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/firebreak/firebreak/services/platform/admin"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/rpc"
)

// Part is anything that runs in the background: a consumer, a timer loop,
// a platform stream.
type Part interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Unit is one service's servers and workers.
type Unit struct {
	HTTP    *admin.Server
	GRPC    *rpc.Server
	Workers []Part
}

// Listen binds a service's HTTP and gRPC addresses; /readyz checks the
// service's dependencies, and gRPC callers are authenticated with d.Auth.
// Register gRPC services on u.GRPC and add workers before Start.
func Listen(httpAddr, grpcAddr string, d *deps.Deps) (*Unit, error) {
	httpSrv, err := admin.Listen(httpAddr, d.Tel, d.Ready)
	if err != nil {
		return nil, err
	}
	grpcSrv, err := rpc.Listen(grpcAddr, d.Tel, d.Auth)
	if err != nil {
		_ = httpSrv.Stop(context.Background())
		return nil, err
	}
	return &Unit{HTTP: httpSrv, GRPC: grpcSrv}, nil
}

// HTTPAddr is where health, metrics and any HTTP API are served.
func (u *Unit) HTTPAddr() string { return u.HTTP.Addr() }

// GRPCAddr is where the gRPC API listens.
func (u *Unit) GRPCAddr() string { return u.GRPC.Addr() }

// Close releases the ports of a unit that was never started.
func (u *Unit) Close() {
	_ = u.HTTP.Stop(context.Background())
	u.GRPC.Stop(context.Background())
}

// Start serves HTTP and gRPC and starts the workers.
func (u *Unit) Start(ctx context.Context) error {
	go u.HTTP.Serve()
	go u.GRPC.Serve()
	for i, w := range u.Workers {
		if err := w.Start(ctx); err != nil {
			for _, started := range u.Workers[:i] {
				_ = started.Stop(ctx)
			}
			return err
		}
	}
	return nil
}

// Stop drains in this order: report not ready and NOT_SERVING; stop pulling
// and let in-flight messages finish and ack (their publishes are awaited
// inside the handlers); stop gRPC gracefully; stop HTTP. NATS, Redis and
// telemetry are closed after, by deps.Close.
func (u *Unit) Stop(ctx context.Context) error {
	u.HTTP.Draining()
	u.GRPC.NotServing()
	var errs []error
	// Workers stop in reverse start order: a producer started last stops
	// first, before the consumers it feeds.
	for i := len(u.Workers) - 1; i >= 0; i-- {
		errs = append(errs, u.Workers[i].Stop(ctx))
	}
	u.GRPC.Stop(ctx)
	errs = append(errs, u.HTTP.Stop(ctx))
	return errors.Join(errs...)
}

// Service is what Run drives.
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Run starts svc, waits for ctx to end (a signal), then stops svc and calls
// closeDeps within timeout. It returns the process exit code.
func Run(ctx context.Context, log *slog.Logger, svc Service, closeDeps func(context.Context) error, timeout time.Duration) int {
	if err := svc.Start(ctx); err != nil {
		log.Error("start failed", "err", err)
		_ = closeDeps(context.Background())
		return 1
	}
	<-ctx.Done()
	log.Info("draining", "bound", timeout.String())
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := errors.Join(svc.Stop(stopCtx), closeDeps(stopCtx))
	if err != nil {
		log.Error("drain incomplete", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

// Fail prints a start-up error the way every main does and returns exit code 2.
func Fail(service string, err error) int {
	fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
	return 2
}
