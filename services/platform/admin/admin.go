// Package admin serves a service's HTTP endpoints: liveness (/healthz),
// readiness (/readyz), Prometheus metrics (/metrics), and whatever the
// service mounts beside them (ingest's API).
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/firebreak/firebreak/services/platform/telemetry"
)

// Check reports whether a dependency is usable; nil means ready. An error
// that is a *Down names the dependency for /readyz.
type Check func(ctx context.Context) error

// Down says which dependency is not usable and why. /readyz shows only the
// name: the reason (an address, a server's message) is logged, since
// anyone who can reach the port can read /readyz.
type Down struct {
	Dependency string
	Err        error
}

func (d *Down) Error() string { return d.Dependency + ": " + d.Err.Error() }

func (d *Down) Unwrap() error { return d.Err }

// Server is a listening HTTP server.
type Server struct {
	mux      *http.ServeMux
	srv      *http.Server
	lis      net.Listener
	log      *slog.Logger
	checks   []Check
	draining atomic.Bool
}

// Listen binds addr and mounts the health and metrics endpoints.
func Listen(addr string, tel *telemetry.Telemetry, checks ...Check) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for HTTP on %s: %w", addr, err)
	}
	s := &Server{mux: http.NewServeMux(), lis: lis, log: tel.Logger.With("component", "http"), checks: checks}
	s.srv = &http.Server{
		Handler:           traced(s.mux, tel),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", tel.MetricsHandler())
	return s, nil
}

// traced gives each API request a server span. Callers are untrusted, so
// a trace they send is linked, not continued; health and metrics, polled
// every few seconds, get none.
func traced(h http.Handler, tel *telemetry.Telemetry) http.Handler {
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(tel.Tracer), otelhttp.WithPropagators(tel.Propagator),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}))
}

// AddCheck adds a readiness check, such as a consumer's Ready; call it
// before Serve.
func (s *Server) AddCheck(c Check) { s.checks = append(s.checks, c) }

// Handle mounts a handler beside the built-in endpoints.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Stop, then returns nil; any other return is the
// server failing, with the error that ended it.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server on %s stopped serving: %w", s.Addr(), err)
	}
	return nil
}

// Draining makes /readyz fail, so no new traffic is routed here.
func (s *Server) Draining() { s.draining.Store(true) }

// Stop waits for requests in progress until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	s.draining.Store(true)
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("stop HTTP server: %w", err)
	}
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, check := range s.checks {
		if err := check(ctx); err != nil {
			what := "a dependency"
			var down *Down
			if errors.As(err, &down) {
				what = down.Dependency
			}
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			http.Error(w, "not ready: "+what+" is unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}
