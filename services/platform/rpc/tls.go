package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM files of a gRPC server's TLS: its certificate and
// key and, for mutual TLS, the CA bundle that client certificates must chain
// to. Every file is re-read when its modification time or size changes, so
// a certificate renewed in place (cert-manager rewriting a mounted Secret)
// is served on the next handshake without a restart.
type TLSFiles struct {
	Cert, Key string
	// ClientCA, when set, makes the server require a client certificate
	// that chains to it.
	ClientCA string
}

// Enabled says whether the files ask for TLS at all.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" }

// ServerConfig is the server's TLS configuration, or nil without a
// certificate. The files are read now, so a wrong path fails at start-up
// rather than at the first handshake.
func (f TLSFiles) ServerConfig() (*tls.Config, error) {
	if !f.Enabled() {
		if f.ClientCA != "" {
			return nil, errors.New("a client CA for mutual TLS needs the server's own certificate and key as well")
		}
		return nil, nil
	}
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("TLS needs both a certificate and its key")
	}
	pair := &keyPairFile{cert: f.Cert, key: f.Key}
	if _, err := pair.get(); err != nil {
		return nil, err
	}
	getCertificate := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return pair.get() }
	if f.ClientCA == "" {
		return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCertificate}, nil
	}
	clientCA := &caFile{path: f.ClientCA}
	if _, err := clientCA.get(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: getCertificate,
		// A config per handshake, so a renewed client CA bundle is used too.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			pool, err := clientCA.get()
			if err != nil {
				return nil, err
			}
			return &tls.Config{
				MinVersion:     tls.VersionTLS12,
				GetCertificate: getCertificate,
				ClientAuth:     tls.RequireAndVerifyClientCert,
				ClientCAs:      pool,
				// The config returned here replaces the one gRPC set up,
				// ALPN included; gRPC clients refuse a server without h2.
				NextProtos: []string{"h2"},
			}, nil
		},
	}, nil
}

// ClientTLS names the files a gRPC client uses for TLS: the CA bundle that
// verifies the server (empty: the system's roots), a client certificate and
// key for mutual TLS (re-read when they change, like TLSFiles), and the name
// to verify in the server's certificate when it is not the dialled host.
type ClientTLS struct {
	CA, Cert, Key string
	ServerName    string
	// Always asks for TLS with the system's roots when no file is named.
	Always bool
}

// Config is the client's TLS configuration, or nil for a plain-text
// connection when nothing asks for TLS.
func (c ClientTLS) Config() (*tls.Config, error) {
	if !c.Always && c.CA == "" && c.Cert == "" && c.Key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CA != "" {
		pool, err := readCAPool(c.CA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("a client certificate needs its key and a key its certificate; set both or neither")
	}
	if c.Cert != "" {
		pair := &keyPairFile{cert: c.Cert, key: c.Key}
		if _, err := pair.get(); err != nil {
			return nil, err
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair.get() }
	}
	return cfg, nil
}

// stamp identifies one version of a file without reading it.
type stamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	return stamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// keyPairFile is a certificate and key on disk, parsed again when either
// file changes. A pair that fails to parse (cert-manager writes the two
// files one after the other) leaves the last good pair in use, and is tried
// again on the next handshake.
type keyPairFile struct {
	cert, key string

	mu        sync.Mutex
	certStamp stamp
	keyStamp  stamp
	loaded    *tls.Certificate
}

func (k *keyPairFile) get() (*tls.Certificate, error) {
	certStamp, errCert := stampOf(k.cert)
	keyStamp, errKey := stampOf(k.key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := errors.Join(errCert, errKey); err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		// Only the paths: os errors name the path and the reason.
		return nil, fmt.Errorf("read TLS certificate and key: %w", err)
	}
	if k.loaded != nil && certStamp == k.certStamp && keyStamp == k.keyStamp {
		return k.loaded, nil
	}
	pair, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		// crypto/tls's errors describe the PEM blocks, never their bytes.
		err = fmt.Errorf("load TLS certificate %s with key %s: %w; check that both are PEM and belong together", k.cert, k.key, err)
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, err
	}
	k.loaded, k.certStamp, k.keyStamp = &pair, certStamp, keyStamp
	return k.loaded, nil
}

// caFile is a CA bundle on disk, parsed again when it changes.
type caFile struct {
	path string

	mu     sync.Mutex
	stamp  stamp
	loaded *x509.CertPool
}

func (c *caFile) get() (*x509.CertPool, error) {
	st, err := stampOf(c.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil
		}
		return nil, fmt.Errorf("read TLS CA bundle: %w", err)
	}
	if c.loaded != nil && st == c.stamp {
		return c.loaded, nil
	}
	pool, err := readCAPool(c.path)
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil
		}
		return nil, err
	}
	c.loaded, c.stamp = pool, st
	return pool, nil
}

func readCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS CA bundle %s holds no PEM certificate; give the CA's certificate (ca.crt), not a key", path)
	}
	return pool, nil
}
