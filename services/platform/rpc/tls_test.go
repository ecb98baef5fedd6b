package rpc_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
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

// tlsServer serves health over TLS from files in a fresh directory.
type tlsServer struct {
	addr              string
	certPath, keyPath string
	caPath            string
}

func startTLSServer(t *testing.T, ca *rpctest.Authority, mutual bool) *tlsServer {
	t.Helper()
	dir := t.TempDir()
	s := &tlsServer{certPath: filepath.Join(dir, "tls.crt"), keyPath: filepath.Join(dir, "tls.key"), caPath: filepath.Join(dir, "ca.crt")}
	certPEM, keyPEM := ca.Issue(t, 100)
	now := time.Now()
	rpctest.WriteFile(t, s.certPath, certPEM, now)
	rpctest.WriteFile(t, s.keyPath, keyPEM, now)
	rpctest.WriteFile(t, s.caPath, ca.PEM, now)
	files := rpc.TLSFiles{Cert: s.certPath, Key: s.keyPath}
	if mutual {
		files.ClientCA = s.caPath
	}
	cfg, err := files.ServerConfig()
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
	t.Cleanup(func() { srv.Stop(context.Background()) })
	s.addr = srv.Addr()
	return s
}

// checkHealth calls the health service over a connection made with client.
func checkHealth(t *testing.T, addr string, client rpc.ClientTLS) error {
	t.Helper()
	cfg, err := client.Config()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rpc.DialTLS(addr, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestMutualTLSRefusesAClientWithoutACertificate(t *testing.T) {
	ca := rpctest.NewAuthority(t)
	srv := startTLSServer(t, ca, true)

	err := checkHealth(t, srv.addr, rpc.ClientTLS{CA: srv.caPath})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("a client without a certificate got %v, want Unavailable: the handshake must fail", err)
	}

	stranger := rpctest.NewAuthority(t)
	certPEM, keyPEM := stranger.Issue(t, 7)
	dir := t.TempDir()
	rpctest.WriteFile(t, filepath.Join(dir, "c.crt"), certPEM, time.Now())
	rpctest.WriteFile(t, filepath.Join(dir, "c.key"), keyPEM, time.Now())
	err = checkHealth(t, srv.addr, rpc.ClientTLS{CA: srv.caPath, Cert: filepath.Join(dir, "c.crt"), Key: filepath.Join(dir, "c.key")})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("a client whose certificate another CA signed got %v, want Unavailable", err)
	}

	// The server's own certificate is a client certificate as well.
	if err := checkHealth(t, srv.addr, rpc.ClientTLS{CA: srv.caPath, Cert: srv.certPath, Key: srv.keyPath}); err != nil {
		t.Fatalf("a client with a certificate from the client CA was refused: %v", err)
	}
}

func TestPlainTextClientIsRefusedByATLSServer(t *testing.T) {
	srv := startTLSServer(t, rpctest.NewAuthority(t), false)
	conn, err := rpc.Dial(srv.addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("a plain-text call to a TLS server got %v, want Unavailable", err)
	}
	if err := checkHealth(t, srv.addr, rpc.ClientTLS{CA: srv.caPath}); err != nil {
		t.Fatalf("a TLS client that trusts the CA was refused: %v", err)
	}
}

// servedSerial handshakes with the server and returns its leaf's serial.
func servedSerial(t *testing.T, srv *tlsServer, ca *rpctest.Authority) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	conn, err := tls.Dial("tcp", srv.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestRenewedServerCertificateIsServedWithoutARestart(t *testing.T) {
	ca := rpctest.NewAuthority(t)
	srv := startTLSServer(t, ca, false)
	if got := servedSerial(t, srv, ca); got != 100 {
		t.Fatalf("served serial %d, want the first certificate's 100", got)
	}

	// cert-manager renews: both files rewritten. A later mtime marks the
	// change even on file systems with coarse timestamps.
	certPEM, keyPEM := ca.Issue(t, 200)
	renewed := time.Now().Add(time.Hour)
	rpctest.WriteFile(t, srv.certPath, certPEM, renewed)
	rpctest.WriteFile(t, srv.keyPath, keyPEM, renewed)

	if got := servedSerial(t, srv, ca); got != 200 {
		t.Fatalf("served serial %d after renewal, want the renewed certificate's 200", got)
	}
	if err := checkHealth(t, srv.addr, rpc.ClientTLS{CA: srv.caPath}); err != nil {
		t.Fatalf("a call over the renewed certificate failed: %v", err)
	}

	// A half-written renewal (a key that does not match) keeps the last
	// good pair in service rather than failing handshakes.
	_, strayKey := ca.Issue(t, 300)
	rpctest.WriteFile(t, srv.keyPath, strayKey, renewed.Add(time.Hour))
	if got := servedSerial(t, srv, ca); got != 200 {
		t.Fatalf("served serial %d with a mismatched key on disk, want the last good 200", got)
	}
}

func TestTLSErrorsNameFilesNotTheirContents(t *testing.T) {
	dir := t.TempDir()
	secret := "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END EC PRIVATE KEY-----\n"
	rpctest.WriteFile(t, filepath.Join(dir, "tls.crt"), []byte(secret), time.Now())
	rpctest.WriteFile(t, filepath.Join(dir, "tls.key"), []byte(secret), time.Now())
	_, err := rpc.TLSFiles{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}.ServerConfig()
	if err == nil {
		t.Fatal("a key given as the certificate was accepted")
	}
	if strings.Contains(err.Error(), "c2VjcmV0") || !strings.Contains(err.Error(), "tls.crt") {
		t.Fatalf("error %q should name the file and never quote it", err)
	}
	_, err = rpc.ClientTLS{CA: filepath.Join(dir, "tls.key")}.Config()
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("a CA bundle holding a key: error %v, want a refusal that does not quote it", err)
	}
}
