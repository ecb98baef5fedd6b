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
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

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

	// serving owns the two serve goroutines; Stop waits for them.
	serving  errgroup.Group
	stopping atomic.Bool
	failed   chan error
}

// Listen binds a service's HTTP and gRPC addresses; /readyz checks the
// service's dependencies, gRPC is served over d.ServerTLS when set, and gRPC
// callers are authenticated with d.Auth.
// Register gRPC services on u.GRPC and add workers before Start.
func Listen(httpAddr, grpcAddr string, d *deps.Deps) (*Unit, error) {
	httpSrv, err := admin.Listen(httpAddr, d.Tel, d.Ready)
	if err != nil {
		return nil, err
	}
	grpcSrv, err := rpc.ListenTLS(grpcAddr, d.Tel, d.Auth, d.ServerTLS)
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

// Start serves HTTP and gRPC and starts the workers. A server that stops
// serving before Stop is reported on Failed.
func (u *Unit) Start(ctx context.Context) error {
	u.failed = make(chan error, 2)
	u.serving.Go(func() error { return u.fail(u.HTTP.Serve()) })
	u.serving.Go(func() error { return u.fail(u.GRPC.Serve()) })
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

// fail reports err, a server that stopped serving, unless Stop stopped it.
func (u *Unit) fail(err error) error {
	if err == nil || u.stopping.Load() {
		return nil
	}
	u.failed <- err // buffered for both servers
	return err
}

// Failed delivers the error of a server that stopped serving on its own:
// the process has lost its API and should end, not linger half alive.
func (u *Unit) Failed() <-chan error { return u.failed }

// Stop drains in this order: report not ready and NOT_SERVING; stop pulling
// and let in-flight messages finish and ack (their publishes are awaited
// inside the handlers); stop gRPC gracefully; stop HTTP. NATS, Redis and
// telemetry are closed after, by deps.Close.
func (u *Unit) Stop(ctx context.Context) error {
	u.stopping.Store(true)
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
	// Both servers have returned (or were cut off) by now; a serve error
	// here was already reported on Failed.
	_ = u.serving.Wait()
	return errors.Join(errs...)
}

// Service is what Run drives. Failed delivers an error when a part of the
// service stops working on its own (a server that stops serving).
type Service interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Failed() <-chan error
}

// Run starts svc and waits for ctx to end (a signal) or svc to fail, then
// stops svc and calls closeDeps within timeout. It returns the process exit
// code: 0 after a clean drain on a signal, 1 when svc failed or the drain
// was incomplete.
func Run(ctx context.Context, log *slog.Logger, svc Service, closeDeps func(context.Context) error, timeout time.Duration) int {
	if err := svc.Start(ctx); err != nil {
		log.Error("start failed", "err", err)
		_ = closeDeps(context.Background())
		return 1
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("draining", "bound", timeout.String())
	case err := <-svc.Failed():
		log.Error("stopping: the service can no longer serve; restart it", "err", err, "bound", timeout.String())
		code = 1
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := errors.Join(svc.Stop(stopCtx), closeDeps(stopCtx)); err != nil {
		log.Error("drain incomplete", "err", err)
		return 1
	}
	if code == 0 {
		log.Info("stopped cleanly")
	}
	return code
}

// Fail prints a start-up error the way every main does and returns exit code 2.
func Fail(service string, err error) int {
	fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
	return 2
}
