package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/firebreak/firebreak/services/platform/auth"
	"github.com/firebreak/firebreak/services/platform/rpc"
	"github.com/firebreak/firebreak/services/platform/rpc/rpctest"
	"github.com/firebreak/firebreak/services/platform/telemetry/telemetrytest"
)

// The CLI's TLS flags and variables reach a server that requires mutual
// TLS; without a client certificate the handshake is refused.
func TestTLSFlagsReachAMutualTLSServer(t *testing.T) {
	ca := rpctest.NewAuthority(t)
	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	certPEM, keyPEM := ca.Issue(t, 10)
	now := time.Now()
	rpctest.WriteFile(t, caFile, ca.PEM, now)
	rpctest.WriteFile(t, certFile, certPEM, now)
	rpctest.WriteFile(t, keyFile, keyPEM, now)
	cfg, err := rpc.TLSFiles{Cert: certFile, Key: keyFile, ClientCA: caFile}.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := auth.New(auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rpc.ListenTLS("127.0.0.1:0", telemetrytest.New(t, "test"), nobody, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Stop(context.Background())

	t.Setenv("FIREBREAK_TOKEN", "fbk_test")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want codes.Code
	}{
		{"flags", []string{"--tls-ca", caFile, "--tls-cert", certFile, "--tls-key", keyFile}, nil, codes.OK},
		{"the older --tls-ca-file", []string{"--tls-ca-file", caFile, "--tls-cert", certFile, "--tls-key", keyFile}, nil, codes.OK},
		{"environment", nil, map[string]string{"FIREBREAK_TLS_CA": caFile, "FIREBREAK_TLS_CERT": certFile, "FIREBREAK_TLS_KEY": keyFile}, codes.OK},
		{"no client certificate", []string{"--tls-ca", caFile}, nil, codes.Unavailable},
		{"plain text", nil, nil, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"FIREBREAK_TLS", "FIREBREAK_TLS_CA", "FIREBREAK_TLS_CA_FILE", "FIREBREAK_TLS_CERT", "FIREBREAK_TLS_KEY", "FIREBREAK_TLS_SERVER_NAME"} {
				t.Setenv(name, tc.env[name])
			}
			var f escalationFlags
			fs := newFlagSet("cases list", io.Discard)
			f.register(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			conn, err := f.conn.dial(srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if status.Code(err) != tc.want {
				t.Fatalf("health check: %v, want %v", err, tc.want)
			}
		})
	}
}
