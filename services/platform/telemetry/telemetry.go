// Package telemetry sets up a service's structured logs, traces and metrics:
// slog JSON logs that carry the trace id, OpenTelemetry traces (exported over
// OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set) and OpenTelemetry metrics
// served in the Prometheus format.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is one service's logger, tracer and meter. Nothing is global, so
// several services can run in one process (make run, end-to-end tests).
type Telemetry struct {
	Service    string
	Logger     *slog.Logger
	Tracer     trace.TracerProvider
	Meter      metric.MeterProvider
	Propagator propagation.TextMapPropagator
	registry   *prometheus.Registry
	shutdown   []func(context.Context) error
}

// Options tune Setup; the zero value logs info and above to stderr.
type Options struct {
	Level   string
	Version string
	Output  io.Writer
	// Spans, when set, is given every finished span as it ends; tests pass
	// an in-memory exporter to see whole traces.
	Spans sdktrace.SpanExporter
}

// Setup builds the telemetry of one service.
func Setup(ctx context.Context, service string, opts Options) (*Telemetry, error) {
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(orDefault(opts.Level, "info"))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", opts.Level)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "firebreak-"+service),
		attribute.String("service.version", opts.Version),
	)
	tel := &Telemetry{
		Service:    service,
		Logger:     slog.New(traceHandler{slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level})}).With("service", service),
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		registry:   prometheus.NewRegistry(),
	}
	tel.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(otelprom.WithRegisterer(tel.registry), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("create prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter), sdkmetric.WithResource(res))
	tel.Meter = mp
	tel.shutdown = append(tel.shutdown, mp.Shutdown)

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	exporting := opts.Spans != nil
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create OTLP trace exporter (check OTEL_EXPORTER_OTLP_ENDPOINT): %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		exporting = true
	}
	if opts.Spans != nil {
		tpOpts = append(tpOpts, sdktrace.WithSyncer(opts.Spans))
	}
	if !exporting {
		// Without a collector, spans are still created so that logs and
		// bus headers carry trace ids, but no span would go anywhere:
		// they are not recorded, which spares the hot paths recording
		// every span's attributes (a few percent of the CPU at 1,000
		// mentions/s). A sampled parent from a caller is still honoured.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	tel.Tracer = tp
	tel.shutdown = append(tel.shutdown, tp.Shutdown)
	return tel, nil
}

// MetricsHandler serves the service's metrics in the Prometheus format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry})
}

// Shutdown flushes spans and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// traceHandler adds the trace and span ids of the record's context.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
