package lifecycle

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/firebreak/firebreak/services/platform/config"
	"github.com/firebreak/firebreak/services/platform/deps"
	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// Config is a service's configuration struct.
type Config interface {
	Register(fs *flag.FlagSet)
	Validate() error
	Shared() *config.Common
}

// Server is a service with addresses to report.
type Server interface {
	Service
	HTTPAddr() string
	GRPCAddr() string
}

// Main is every service's main: read and validate the configuration, open
// the dependencies, build the service (under the signal context, so a
// signal during start-up I/O ends it), run it until SIGTERM or SIGINT or
// until it fails, and drain. It returns the exit code.
func Main(name string, cfg Config, build func(context.Context, *deps.Deps) (Server, error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg.Register(fs)
	if err := config.Parse(fs, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, config.ErrVersion) || errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return Fail(name, err)
	}
	if err := cfg.Validate(); err != nil {
		return Fail(name, err)
	}
	common := cfg.Shared()
	tel, err := telemetry.Setup(ctx, name, telemetry.Options{Level: common.LogLevel, Version: config.Version})
	if err != nil {
		return Fail(name, err)
	}
	d, err := deps.Open(ctx, *common, tel)
	if err != nil {
		return Fail(name, err)
	}
	svc, err := build(ctx, d)
	if err != nil {
		_ = d.Close(context.Background())
		return Fail(name, err)
	}
	tel.Logger.Info("starting", "version", config.Version, "http", svc.HTTPAddr(), "grpc", svc.GRPCAddr(),
		"nats", config.Redacted(common.NATSURL), "redis", config.Redacted(common.RedisURL), "subject_prefix", common.SubjectPrefix)
	return Run(ctx, tel.Logger, svc, d.Close, common.ShutdownTimeout)
}
